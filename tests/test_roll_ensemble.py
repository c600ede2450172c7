"""Test-time roll ensemble: turned answers come back to the unturned view, in the pipeline too."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from handpose.calibration import CameraIntrinsics
from handpose.data.rig import axis_angle_matrices
from handpose.detect.crop import crop_from_keypoints, similarity_about_centre
from handpose.detect.detector import HandDetector
from handpose.errors import InputError
from handpose.infer.backend import ModelOutputs, create_backend
from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
from handpose.infer.roll_ensemble import RollEnsemble, model_frame_ray
from handpose.model.checkpoint import load_default_model
from handpose.types import Frame
from tests.real_photos import ONE_HAND_PHOTOS, load_rgb

SIZE = 128
ANGLES = (0.0, -20.0, 35.0)


def _turned_outputs(pose: np.ndarray, keypoints: np.ndarray, rays: np.ndarray, ensemble: RollEnsemble) -> ModelOutputs:
    """What a perfectly roll-equivariant model would answer for each turned crop."""
    poses, kps = [], []
    for n in range(len(pose)):
        for a in ensemble.angles_deg:
            turn = axis_angle_matrices(rays[n] * np.deg2rad(a))
            poses.append(pose[n] @ turn.T)
            warp = similarity_about_centre(SIZE, np.deg2rad(a))
            kps.append(keypoints[n] @ warp[:, :2].T + warp[:, 2])
    presence = np.repeat(np.array([0.9, 0.2]), ensemble.count)
    return ModelOutputs(np.stack(poses).astype(np.float32), np.stack(kps).astype(np.float32), presence)


def test_combine_undoes_the_turns():
    rng = np.random.default_rng(0)
    ensemble = RollEnsemble(ANGLES)
    pose = rng.normal(size=(2, 21, 3))
    keypoints = rng.uniform(10, 118, size=(2, 21, 2))
    rays = np.array([[0.5, -0.4, 1.0], [-0.3, 0.5, 1.0]])
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    out = ensemble.combine(_turned_outputs(pose, keypoints, rays, ensemble), rays, SIZE)
    np.testing.assert_allclose(out.pose_norm, pose, atol=1e-5)
    np.testing.assert_allclose(out.keypoints_crop_px, keypoints, atol=1e-3)
    np.testing.assert_allclose(out.presence, [0.9, 0.2], atol=1e-6)
    # the ray matters: a turned answer read with the optical axis as the ray does not come back
    single = RollEnsemble((35.0,))
    wrong = single.combine(_turned_outputs(pose, keypoints, rays, single), np.tile([0.0, 0.0, 1.0], (2, 1)), SIZE)
    assert np.abs(wrong.pose_norm - pose).mean() > 0.1


def test_turn_crops_and_rays():
    ensemble = RollEnsemble((0.0, 90.0))
    crops = np.zeros((1, SIZE, SIZE, 3), np.uint8)
    crops[0, 10, 100] = 255  # x=100, y=10: a quarter turn clockwise takes it to x=117, y=100
    turned = ensemble.turn_crops(crops)
    assert turned.shape == (2, SIZE, SIZE, 3)
    np.testing.assert_array_equal(turned[0], crops[0])
    assert turned[1, 100, 117, 0] == 255
    camera = CameraIntrinsics.default_for(640, 480)
    left = crop_from_keypoints(np.array([[500.0, 100.0], [560.0, 170.0]]), SIZE, mirrored=True)
    right = crop_from_keypoints(np.array([[500.0, 100.0], [560.0, 170.0]]), SIZE, mirrored=False)
    ray_left, ray_right = model_frame_ray(left, camera.K), model_frame_ray(right, camera.K)
    assert ray_right[0] > 0 and ray_right[1] < 0  # the box is right of and above the centre
    np.testing.assert_allclose(ray_left, ray_right * [-1, 1, 1])
    np.testing.assert_allclose(model_frame_ray(None, camera.K), [0.0, 0.0, 1.0])
    with pytest.raises(InputError, match="roll angles"):
        RollEnsemble(())
    with pytest.raises(InputError, match="roll angles"):
        RollEnsemble((0.0, 120.0))
    with pytest.raises(InputError, match="outputs expected"):
        ensemble.combine(ModelOutputs(np.zeros((3, 21, 3)), np.zeros((3, 21, 2)), np.zeros(3)), np.ones((2, 3)), SIZE)


def _photo_crop(path):
    """A real photo, the plain crop transform of its first hand and the default camera."""
    photo = load_rgb(path)
    with HandDetector(mode="image") as detector:
        hand = detector.detect(photo)[0]
    camera = CameraIntrinsics.default_for(photo.shape[1], photo.shape[0])
    return photo, crop_from_keypoints(hand.keypoints_px, SIZE, mirrored=hand.handedness == "left"), camera


def _run(backend, crops):
    return backend.run(np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2), np.float32) / np.float32(255))


def test_the_trained_model_turned_back_agrees_with_its_plain_answer():
    """On real photos (left and right hands), the default model's answers (3D and 2D) for crops
    turned by +-30 degrees, turned back, are nearer its answers for the plain crops than the turned
    answers themselves, and much nearer than if turned back the wrong way. (Not much nearer: on
    real photos the model's answer moves with the turn by about 10 px and 0.9 bone lengths.)"""
    backend = create_backend("torch", load_default_model(), max_batch=2)
    back, raw, wrong, kp_back, kp_raw, kp_wrong = [], [], [], [], [], []
    for path in ONE_HAND_PHOTOS:
        photo, base, camera = _photo_crop(path)
        ray = model_frame_ray(base, camera.K)[None]
        for angle in (30.0, -30.0):
            turned = RollEnsemble((angle,))
            out = _run(backend, [base.warp(photo), turned.transforms(base)[0].warp(photo)])
            gap = lambda pose: np.linalg.norm(pose - out.pose_norm[0], axis=1).mean()  # noqa: E731
            back.append(gap(turned.unturn_poses(out.pose_norm[1:], ray)[0]))
            wrong.append(gap(RollEnsemble((-angle,)).unturn_poses(out.pose_norm[1:], ray)[0]))
            raw.append(gap(out.pose_norm[1]))
            kp_gap = lambda kp: np.linalg.norm(kp - out.keypoints_crop_px[0], axis=1).mean()  # noqa: E731
            kp_back.append(kp_gap(turned.unturn_keypoints(out.keypoints_crop_px[1:], SIZE)[0]))
            kp_raw.append(kp_gap(out.keypoints_crop_px[1]))
            kp_wrong.append(kp_gap(RollEnsemble((-angle,)).unturn_keypoints(out.keypoints_crop_px[1:], SIZE)[0]))
    assert np.mean(back) < np.mean(raw) and np.mean(back) < 0.75 * np.mean(wrong), (back, raw, wrong)
    assert np.mean(kp_back) < np.mean(kp_raw) and np.mean(kp_back) < 0.75 * np.mean(kp_wrong), (kp_back, kp_wrong)


def test_pipeline_with_an_ensemble():
    photo, base, camera = _photo_crop(ONE_HAND_PHOTOS[2])
    plain_cfg = PipelineConfig(num_hands=1, smoothing=False, presence_threshold=0.0, detector_mode="image",
                               roll_angles_deg=(0.0,), backend="torch")
    with HandPosePipeline(plain_cfg) as pipeline:
        (plain,) = pipeline(Frame(photo))
    # three unturned copies average to the plain answer: the slots and the averaging line up
    with HandPosePipeline(replace(plain_cfg, roll_angles_deg=(0.0, 0.0, 0.0))) as pipeline:
        (same,) = pipeline(Frame(photo))
        assert pipeline.backend.max_batch == 3
    np.testing.assert_allclose(same.joints_norm, plain.joints_norm, atol=1e-4)
    np.testing.assert_allclose(same.keypoints_px, plain.keypoints_px, atol=1e-2)
    # turned crops: the pipeline gives what the ensemble makes of the backend's answers
    ensemble = RollEnsemble((0.0, -20.0, 20.0))
    with HandPosePipeline(replace(plain_cfg, roll_angles_deg=ensemble.angles_deg)) as pipeline:
        (ens,) = pipeline(Frame(photo))
        out = _run(pipeline.backend, [t.warp(photo) for t in ensemble.transforms(base)])
    expected = ensemble.combine(out, model_frame_ray(base, camera.K)[None], SIZE)
    assert ens.handedness == plain.handedness
    np.testing.assert_allclose(ens.joints_norm, expected.pose_norm[0], atol=1e-4)
    np.testing.assert_allclose(ens.keypoints_px, base.to_frame(expected.keypoints_crop_px[0]), atol=1e-2)
    assert np.abs(ens.joints_norm - plain.joints_norm).max() > 1e-3  # the turned crops did count
    with pytest.raises(InputError, match="roll angles"):
        PipelineConfig(roll_angles_deg=(100.0,))
