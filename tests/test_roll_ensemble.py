"""Test-time roll ensemble: turned answers come back to the camera frame through their crops' view
frames, in the pipeline too."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from handpose.geometry.camera import CameraIntrinsics
from handpose.geometry.crop import crop_from_keypoints, similarity_about_centre
from handpose.detect.detector import HandDetector
from handpose.errors import InputError
from handpose.infer.backends.base import BackendOutputs
from handpose.infer.backends.factory import create_backend
from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
from handpose.infer.roll_ensemble import RollEnsemble
from handpose.model.checkpoint import load_default_model
from handpose.types import Frame
from handpose.geometry.view_frame import from_view, to_view, view_rotation
from tests.real_photos import ONE_HAND_PHOTOS, load_rgb

SIZE = 128
ANGLES = (0.0, -20.0, 35.0)
CAMERA = CameraIntrinsics.default_for(640, 480)
#: boxes right of and above the frame's centre, and left of and below it
BOXES = (np.array([[500.0, 60.0], [600.0, 170.0]]), np.array([[40.0, 330.0], [150.0, 460.0]]))
#: two hands' per-joint visibility, distinct for every joint (a turn keeps the joint order)
VISIBILITY = np.stack([np.linspace(0.0, 1.0, 21), np.linspace(0.9, 0.1, 21)]).astype(np.float32)


def _z_turn(deg: float) -> np.ndarray:
    c, s = np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _turned_outputs(pose: np.ndarray, keypoints: np.ndarray, rotations: np.ndarray,
                    ensemble: RollEnsemble) -> BackendOutputs:
    """What a model that sees each turned crop perfectly would answer: the pose in that crop's
    view frame, the 2D joints turned with the crop."""
    poses = to_view(np.repeat(pose, ensemble.count, axis=0), rotations)
    kps = []
    for n in range(len(pose)):
        for a in ensemble.angles_deg:
            warp = similarity_about_centre(SIZE, np.deg2rad(a))
            kps.append(keypoints[n] @ warp[:, :2].T + warp[:, 2])
    presence = np.repeat(np.array([0.9, 0.2]), ensemble.count)
    visibility = np.repeat(VISIBILITY, ensemble.count, axis=0)
    return BackendOutputs(poses.astype(np.float32), np.stack(kps).astype(np.float32), presence, visibility)


def test_combine_brings_the_turned_answers_back():
    rng = np.random.default_rng(0)
    ensemble = RollEnsemble(ANGLES)
    pose = rng.normal(size=(2, 21, 3))
    keypoints = rng.uniform(10, 118, size=(2, 21, 2))
    bases = [crop_from_keypoints(BOXES[0], SIZE, mirrored=False), crop_from_keypoints(BOXES[1], SIZE, mirrored=True)]
    rotations = np.concatenate([ensemble.view_rotations(b, CAMERA.K, SIZE) for b in bases])
    out = ensemble.combine(_turned_outputs(pose, keypoints, rotations, ensemble), rotations, SIZE)
    np.testing.assert_allclose(out.joints_norm, pose, atol=1e-5)
    np.testing.assert_allclose(out.keypoints_crop_px, keypoints, atol=1e-3)
    np.testing.assert_allclose(out.presence, [0.9, 0.2], atol=1e-6)
    np.testing.assert_allclose(out.visibility, VISIBILITY, atol=1e-6)
    assert out.visibility.shape == (2, 21) and out.visibility.dtype == np.float32
    # the turned crop's own view frame matters: read in the plain crop's frame, a turned answer is off
    single = RollEnsemble((35.0,))
    turned = np.concatenate([single.view_rotations(b, CAMERA.K, SIZE) for b in bases])
    wrong = single.combine(_turned_outputs(pose, keypoints, turned, single), rotations[:: ensemble.count], SIZE)
    assert np.abs(wrong.joints_norm - pose).mean() > 0.1


@pytest.mark.parametrize("mirrored", [False, True])
def test_a_turned_crop_turns_its_view_frame_about_the_ray(mirrored):
    """Turning the crop by a clockwise on screen turns its view frame by a about z (x towards y),
    mirrored crops alike: exactly for a crop without frame geometry (taken as centred on the
    optical axis), within 3 degrees for a crop 25 degrees off the axis (the crop is an affine cut
    of a perspective image)."""
    ensemble = RollEnsemble((0.0, 30.0, -25.0))
    exact = ensemble.view_rotations(None, None, SIZE)
    for w, a in zip(exact, ensemble.angles_deg):
        np.testing.assert_allclose(w, _z_turn(a), atol=1e-12)
    base = crop_from_keypoints(BOXES[0], SIZE, mirrored=mirrored)
    assert np.degrees(np.arccos(base.centre_ray(CAMERA.K)[2])) > 25
    turned = ensemble.view_rotations(base, CAMERA.K, SIZE)
    for w, a in zip(turned, ensemble.angles_deg):
        off = w @ turned[0].T @ _z_turn(a).T
        assert np.degrees(np.arccos(np.clip((np.trace(off) - 1) / 2, -1, 1))) < 3.0


def test_combine_averages_each_joints_visibility_over_the_turned_copies():
    """Hand n's joint j gets the mean of its A copies' visibility for joint j: rows n * A + a, not mixed
    across hands or joints."""
    ensemble = RollEnsemble(ANGLES)
    rng = np.random.default_rng(3)
    per_crop = rng.uniform(0.0, 1.0, size=(2 * ensemble.count, 21)).astype(np.float32)
    outputs = BackendOutputs(np.zeros((6, 21, 3), np.float32), np.full((6, 21, 2), 64.0, np.float32),
                           np.full(6, 0.5, np.float32), per_crop)
    rotations = np.repeat(np.eye(3)[None], 6, axis=0)
    out = ensemble.combine(outputs, rotations, SIZE)
    for n in range(2):
        for j in range(21):
            assert out.visibility[n, j] == pytest.approx(np.mean(per_crop[3 * n : 3 * n + 3, j]), abs=1e-6)
    assert np.all((out.visibility >= 0) & (out.visibility <= 1)) and out.visibility.dtype == np.float32
    plain = RollEnsemble((0.0,)).combine(outputs, rotations, SIZE)
    np.testing.assert_array_equal(plain.visibility, per_crop)  # one crop per hand: unchanged
    with pytest.raises(InputError, match="one view rotation per output"):
        ensemble.combine(replace(outputs, visibility=per_crop[:3]), rotations, SIZE)


def test_turn_crops_and_view_rotations():
    ensemble = RollEnsemble((0.0, 90.0))
    crops = np.zeros((1, SIZE, SIZE, 3), np.uint8)
    crops[0, 10, 100] = 255  # x=100, y=10: a quarter turn clockwise takes it to x=117, y=100
    turned = ensemble.turn_crops(crops)
    assert turned.shape == (2, SIZE, SIZE, 3)
    np.testing.assert_array_equal(turned[0], crops[0])
    assert turned[1, 100, 117, 0] == 255
    left = view_rotation(crop_from_keypoints(BOXES[0], SIZE, mirrored=True), CAMERA.K)
    right = view_rotation(crop_from_keypoints(BOXES[0], SIZE, mirrored=False), CAMERA.K)
    ray_right = right.T @ [0.0, 0.0, 1.0]
    assert ray_right[0] > 0 and ray_right[1] < 0  # the box is right of and above the centre
    mirror = np.diag([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(left, mirror @ right @ mirror, atol=1e-12)  # a mirrored crop, a mirrored frame
    with pytest.raises(InputError, match="roll angles"):
        RollEnsemble(())
    with pytest.raises(InputError, match="roll angles"):
        RollEnsemble((0.0, 120.0))
    with pytest.raises(InputError, match="one view rotation per output"):
        ensemble.combine(BackendOutputs(np.zeros((3, 21, 3)), np.zeros((3, 21, 2)), np.zeros(3), np.zeros((3, 21))),
                         np.ones((2, 3, 3)), SIZE)


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
    turned by +-30 degrees, brought back through the turned crops' view frames, are nearer its
    answers for the plain crops than the turned answers read in the plain crop's frame, and much
    nearer than if turned back the wrong way."""
    backend = create_backend("torch", load_default_model(), max_batch=2)
    back, raw, wrong, kp_back, kp_raw, kp_wrong = [], [], [], [], [], []
    for path in ONE_HAND_PHOTOS:
        photo, base, camera = _photo_crop(path)
        for angle in (30.0, -30.0):
            turned = RollEnsemble((angle,))
            out = _run(backend, [base.warp(photo), turned.transforms(base)[0].warp(photo)])
            plain = view_rotation(base, camera.K)
            reference = from_view(out.joints_view_norm[0], plain)
            gap = lambda pose, w: np.linalg.norm(from_view(pose, w) - reference, axis=1).mean()  # noqa: E731
            back.append(gap(out.joints_view_norm[1], turned.view_rotations(base, camera.K, SIZE)[0]))
            wrong.append(gap(out.joints_view_norm[1], RollEnsemble((-angle,)).view_rotations(base, camera.K, SIZE)[0]))
            raw.append(gap(out.joints_view_norm[1], plain))
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
        out = _run(pipeline.backend, [base.warp(photo)])
    # the plain answer is the backend's, from the crop's view frame into the camera frame
    np.testing.assert_allclose(plain.joints_norm, from_view(out.joints_view_norm[0], view_rotation(base, camera.K)),
                               atol=1e-5)
    assert np.abs(plain.joints_norm - out.joints_view_norm[0]).max() > 1e-2  # the crop is off-axis: the frames differ
    np.testing.assert_allclose(plain.visibility, out.visibility[0], atol=1e-5)  # the hand's crop's visibility
    assert plain.visibility.shape == (21,) and plain.visibility.dtype == np.float32
    # three unturned copies average to the plain answer: the slots and the averaging line up
    with HandPosePipeline(replace(plain_cfg, roll_angles_deg=(0.0, 0.0, 0.0))) as pipeline:
        (same,) = pipeline(Frame(photo))
        assert pipeline.backend.max_batch == 3
        copies = _run(pipeline.backend, [base.warp(photo)] * 3)
    np.testing.assert_allclose(same.joints_norm, plain.joints_norm, atol=1e-4)
    np.testing.assert_allclose(same.keypoints_px, plain.keypoints_px, atol=1e-2)
    np.testing.assert_allclose(same.visibility, copies.visibility.mean(axis=0), atol=1e-5)
    # turned crops: the pipeline gives what the ensemble makes of the backend's answers
    ensemble = RollEnsemble((0.0, -20.0, 20.0))
    with HandPosePipeline(replace(plain_cfg, roll_angles_deg=ensemble.angles_deg)) as pipeline:
        (ens,) = pipeline(Frame(photo))
        out = _run(pipeline.backend, [t.warp(photo) for t in ensemble.transforms(base)])
    expected = ensemble.combine(out, ensemble.view_rotations(base, camera.K, SIZE), SIZE)
    assert ens.handedness == plain.handedness
    np.testing.assert_allclose(ens.joints_norm, expected.joints_norm[0], atol=1e-4)
    np.testing.assert_allclose(ens.keypoints_px, base.to_frame(expected.keypoints_crop_px[0]), atol=1e-2)
    np.testing.assert_allclose(ens.visibility, expected.visibility[0], atol=1e-5)
    assert np.abs(ens.joints_norm - plain.joints_norm).max() > 1e-3  # the turned crops did count
    with pytest.raises(InputError, match="roll angles"):
        PipelineConfig(roll_angles_deg=(100.0,))
