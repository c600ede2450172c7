"""Evaluation: known answers through the whole report, the roll ensemble, and the app's files."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from apps import evaluate as evaluate_app
from handpose import skeleton
from handpose.data.batch import images_to_tensor
from handpose.data.shards import write_shard
from handpose.geometry.crop import crop_from_keypoints
from handpose.infer.roll_ensemble import RollEnsemble
from handpose.model.checkpoint import DEFAULT_CHECKPOINT, load_default_model
from handpose.eval.evaluate import evaluate
from handpose.geometry.view_frame import from_view, view_rotation
from tests.hand_fixtures import TOY_INTRINSICS, toy_samples


@pytest.fixture(scope="module")
def model():
    return load_default_model()


@pytest.fixture(scope="module")
def answered(model):
    """Crops cut 1-33 degrees off the optical axis of a 640x480 frame, labelled with the model's own
    aligned-path answer taken from each crop's view frame to the camera frame (left and right hands,
    38-46 mm bones, 0.4-0.6 m away), and one negative crop."""
    samples = toy_samples(12, seed=3)
    with torch.no_grad():
        pose = model.infer(images_to_tensor(np.stack([s.crop_rgb for s in samples]))).joints_view_norm.numpy()
    labelled = []
    for i, s in enumerate(samples):
        corner = np.array([20.0 + 45.0 * i, 400.0 - 30.0 * i])
        crop = crop_from_keypoints(np.stack([corner, corner + 60.0]), 128, mirrored=s.is_left)
        camera_frame = from_view(pose[i], view_rotation(crop, TOY_INTRINSICS))
        joints = skeleton.denormalize(camera_frame, 38.0 + 0.7 * i, np.array([10.0 * i, -5.0, 400.0 + 20 * i]),
                                      s.is_left)
        labelled.append(replace(s, joints_cam_mm=joints.astype(np.float32), crop=crop,
                                   intrinsics=TOY_INTRINSICS))
    labelled.append(replace(samples[0], present=False, keypoints_crop_px=None))
    return labelled


def test_the_models_own_answers_score_perfectly(model, answered):
    report = evaluate(model, answered, "own answers", batch_size=5, ensemble=RollEnsemble((0.0,)))
    assert report.count == 12 and report.negatives == 1
    assert report.aligned.epe_mean_mm < 1e-3 and report.aligned.pa_mpjpe_mm < 1e-3
    assert report.aligned.auc_20_50_published == pytest.approx(1.0) and report.aligned.pck[1] == pytest.approx(1.0)
    assert report.image_vae.epe_mean_mm > 0.5  # the baseline decoder answers differently
    # mirrored labels (a left hand read as a right one) are not the model's answer
    flipped = [replace(s, is_left=not s.is_left) for s in answered[:4]]
    assert evaluate(model, flipped, "flipped", ensemble=RollEnsemble((0.0,))).aligned.epe_mean_mm > 5.0
    # the answers are in the crops' view frames: read as camera-frame poses they are off
    unplaced = [replace(s, intrinsics=None) for s in answered]
    assert evaluate(model, unplaced, "camera frame", ensemble=RollEnsemble((0.0,))).aligned.epe_mean_mm > 3.0


def test_roll_ensemble_in_evaluation(model, answered):
    plain = evaluate(model, answered, "plain", ensemble=RollEnsemble((0.0,)))
    same = evaluate(model, answered, "twice", ensemble=RollEnsemble((0.0, 0.0)))
    assert same.aligned.epe_mean_mm == pytest.approx(plain.aligned.epe_mean_mm, abs=1e-3)
    assert same.keypoints_2d_px == pytest.approx(plain.keypoints_2d_px, abs=1e-3)
    turned = evaluate(model, answered, "turned", ensemble=RollEnsemble((0.0, -20.0, 20.0)))
    assert turned.roll_angles_deg == (0.0, -20.0, 20.0) and "[0.0, -20.0, 20.0]" in turned.summary()
    assert turned.aligned.epe_mean_mm > 1e-3  # no longer exactly the plain answer


def test_app_writes_report_and_curve(answered, tmp_path, capsys):
    write_shard(tmp_path / "data" / "shard_00000.npz", answered)
    out = tmp_path / "report"
    evaluate_app.main(["--checkpoint", str(DEFAULT_CHECKPOINT), "--data", f"shards:{tmp_path / 'data'}",
                       "--out", str(out), "--rolls", "0"])
    doc = json.loads((out / "report.json").read_text())
    assert doc["count"] == 12 and doc["aligned"]["epe_mean_mm"] < 1e-3 and doc["roll_angles_deg"] == [0.0]
    assert len(doc["aligned"]["pck"]) == 20 and "image_vae" in doc
    assert (out / "pck.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "aligned" in capsys.readouterr().out
