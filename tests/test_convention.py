"""The keypoint convention map: known offsets in, the same offsets out of the fit; apply/invert
round trips; left hands mirrored; a moved sample's 2D keypoints stay its 3D joints' projections."""

from __future__ import annotations

import numpy as np
import pytest

from handpose import skeleton
from handpose.data.convention import (
    DEFAULT_OFFSETS_FILE, KeypointOffsets, MediaPipePoints, fit_offsets, hand_frame, to_mediapipe_points,
)
from handpose.data.sample import HandSample
from handpose.data.synth.scene import hand_joints, project, random_hand_spec
from handpose.geometry.crop import crop_from_keypoints
from handpose.errors import InputError

K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])


def _sample(seed: int) -> HandSample:
    rng = np.random.default_rng(seed)
    spec = random_hand_spec(rng)
    joints = hand_joints(spec)
    joints = joints - joints[9] + np.array([rng.uniform(-80, 80), rng.uniform(-60, 60), rng.uniform(350, 700)])
    kp = project(joints, K)
    crop = crop_from_keypoints(kp, 128, mirrored=spec.side == "left")
    return HandSample(joints_cam_mm=joints.astype(np.float32), is_left=spec.side == "left", crop_rgb=np.zeros(
        (128, 128, 3), np.uint8), keypoints_crop_px=crop.to_crop(kp).astype(np.float32),
        keypoints_px=kp.astype(np.float32), intrinsics=K, crop=crop)


def test_hand_frame_is_a_rotation_tied_to_the_hand():
    joints = skeleton.mirror(_sample(1).joints_cam_mm) if _sample(1).is_left else _sample(1).joints_cam_mm
    r = hand_frame(joints)
    np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-9)
    assert np.linalg.det(r) == pytest.approx(1.0)
    y = joints[9] - joints[0]
    np.testing.assert_allclose(r[:, 1], y / np.linalg.norm(y), atol=1e-9)
    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # the frame turns with the hand
    np.testing.assert_allclose(hand_frame(joints @ turn.T), turn @ r, atol=1e-9)


def test_known_offsets_are_recovered_by_the_fit():
    rng = np.random.default_rng(0)
    truth = KeypointOffsets(rng.uniform(-0.15, 0.15, (21, 3)))
    samples = [_sample(s) for s in range(60)]
    answers = [to_mediapipe_points(s, truth).keypoints_crop_px for s in samples]
    fitted, residual = fit_offsets(samples, answers)
    np.testing.assert_allclose(fitted.offsets, truth.offsets, atol=5e-3)
    assert np.median(residual) < 0.05  # px: the linearisation is all that is left
    zero, before = fit_offsets(samples, [s.keypoints_crop_px for s in samples])
    np.testing.assert_allclose(zero.offsets, 0.0, atol=1e-9)


def test_apply_invert_round_trip_and_mirroring():
    offsets = KeypointOffsets(np.random.default_rng(1).uniform(-0.2, 0.2, (21, 3)))
    s = _sample(3)
    s = HandSample(joints_cam_mm=s.joints_cam_mm.astype(np.float64), is_left=s.is_left)
    moved = offsets.apply(s.joints_cam_mm, s.is_left)
    assert np.abs(moved - s.joints_cam_mm).max() > 1.0  # mm: it does move them
    np.testing.assert_allclose(offsets.invert(moved, s.is_left), s.joints_cam_mm, atol=1e-3)
    # a left hand is moved as its mirror image, a right hand, is moved and mirrored back
    np.testing.assert_allclose(offsets.apply(skeleton.mirror(s.joints_cam_mm), not s.is_left),
                               skeleton.mirror(moved), atol=1e-3)
    # the offsets are in bone units: a hand twice the size moves twice as far
    np.testing.assert_allclose(offsets.apply(2 * s.joints_cam_mm, s.is_left) - 2 * s.joints_cam_mm,
                               2 * (moved - s.joints_cam_mm), atol=1e-6)


def test_moved_sample_stays_consistent_and_others_pass_through(tmp_path):
    offsets = KeypointOffsets(np.full((21, 3), 0.1))
    s = _sample(4)
    m = to_mediapipe_points(s, offsets)
    np.testing.assert_allclose(m.keypoints_px, project(m.joints_cam_mm.astype(np.float64), K), atol=1e-3)
    np.testing.assert_allclose(m.keypoints_crop_px, s.crop.to_crop(m.keypoints_px), atol=1e-3)
    real = HandSample(joints_cam_mm=np.full((21, 3), np.nan, np.float32), exact_3d=False, crop_rgb=s.crop_rgb,
                      keypoints_crop_px=s.keypoints_crop_px)
    assert to_mediapipe_points(real, offsets) is real  # a teacher label already marks MediaPipe's points
    assert MediaPipePoints([s, real], offsets)[1] is real
    offsets.save(tmp_path / "o.json")
    np.testing.assert_allclose(KeypointOffsets.load(tmp_path / "o.json").offsets, offsets.offsets)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match="handpose-keypoint-offsets"):
        KeypointOffsets.load(tmp_path / "bad.json")


def test_shipped_offsets_are_small():
    """The measured offsets (scripts/measure_convention.py) move no joint by more than a third of the
    middle MCP->PIP bone: a few millimetres, as the gap between a joint centre and the skin is."""
    offsets = KeypointOffsets.load(DEFAULT_OFFSETS_FILE)
    assert 0.01 < np.abs(offsets.offsets).max() < 0.33


def test_measuring_script_on_renders(tmp_path):
    """MediaPipe on a few renders: the maintainer script writes offsets that load, and a report with
    the residual by joint, view and pose."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "scripts/measure_convention.py", "--data", "synthetic:11:40", "--count", "40",
                           "--out", str(tmp_path / "o.json"), "--report", str(tmp_path / "r.json")],
                          cwd=repo, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert 10 <= report["found_by_mediapipe"] <= 40
    assert 0 < report["median_2d_px_before"] < 20 and abs(report["median_2d_px_after"] - report["median_2d_px_before"]) < 3
    assert set(report["per_joint"]) == set(skeleton.JOINT_NAMES)
    assert {"palm", "back", "side"} & set(report["by_view_and_pose"])
    assert KeypointOffsets.load(tmp_path / "o.json").offsets.shape == (21, 3)
    assert "renders found by MediaPipe" in done.stdout
