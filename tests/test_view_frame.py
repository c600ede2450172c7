"""The view frame: what a crop shows fixes the pose in the crop's view frame, wherever in the
frame the crop was cut, while the camera-frame pose depends on where."""

from __future__ import annotations

import numpy as np
import pytest

from handpose import skeleton
from handpose.data.augment import AugmentConfig, augment
from handpose.data.synth.rig import axis_angle_matrices
from handpose.data.sample import HandSample
from handpose.data.synth.scene import hand_joints, project, random_hand_spec
from handpose.geometry.crop import crop_from_keypoints
from handpose.geometry.view_frame import from_view, to_view, view_rotation

SIZE = 128
K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
OFF_AXIS = np.array([170.0, -120.0, 450.0])  # 24 degrees off the optical axis


def _placed(joints_rel: np.ndarray, at: np.ndarray, left: bool) -> HandSample:
    """A hand (joints relative to its middle MCP, mm) with its middle MCP at ``at``, cropped from a
    640x480 frame of camera K."""
    joints = joints_rel + at
    keypoints = project(joints, K)
    crop = crop_from_keypoints(keypoints, SIZE, mirrored=left)
    return HandSample(joints_cam_mm=joints.astype(np.float32), is_left=left, crop_rgb=np.full((SIZE, SIZE, 3), 128,
                      np.uint8), keypoints_crop_px=crop.to_crop(keypoints).astype(np.float32),
                      keypoints_px=keypoints.astype(np.float32), intrinsics=K, crop=crop)


def _shape_gap_px(a: np.ndarray, b: np.ndarray) -> float:
    """Largest distance between 2D joints (21, 2) after the best scale and shift of ``a`` onto ``b``."""
    a0, b0 = a - a.mean(0), b - b.mean(0)
    return float(np.linalg.norm((a0 * b0).sum() / (a0 * a0).sum() * a0 - b0, axis=1).max())


def _turn_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle of the best rotation between two poses (21, 3), degrees."""
    u, _, vt = np.linalg.svd((a - a.mean(0)).T @ (b - b.mean(0)))
    r = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt
    return float(np.degrees(np.arccos(np.clip((np.trace(r) - 1) / 2, -1, 1))))


@pytest.mark.parametrize("seed,left", [(0, False), (1, True), (2, False), (3, True)])
def test_a_crop_fixes_the_view_frame_pose_not_the_camera_frame_pose(seed, left):
    """A hand on the optical axis, and the same hand 24 degrees off it turned to face the camera
    the same way, give nearly the same crop (2D joints within 6 px of each other after scale and
    shift) and the same view-frame pose (within 4 degrees), though their camera-frame poses are 24
    degrees apart. The hand moved off-axis without turning looks different in its crop (over 6 px
    for this seed's pose) and its view-frame pose is over 20 degrees off."""
    spec = random_hand_spec(np.random.default_rng(seed), left_fraction=1.0 if left else 0.0)
    joints = hand_joints(spec)
    rel = joints - joints[9]
    centred = _placed(rel, np.array([0.0, 0.0, 450.0]), left)
    direction = OFF_AXIS / np.linalg.norm(OFF_AXIS)
    axis = np.cross([0.0, 0.0, 1.0], direction)
    facing = axis_angle_matrices(axis / np.linalg.norm(axis) * np.arccos(direction[2]))
    turned = _placed(rel @ facing.T, direction * 450.0, left)
    moved = _placed(rel, direction * 450.0, left)

    assert _shape_gap_px(turned.keypoints_crop_px, centred.keypoints_crop_px) < 6.0
    assert _turn_deg(turned.joints_view_norm, centred.joints_view_norm) < 4.0
    assert _turn_deg(turned.joints_norm, centred.joints_norm) > 20.0
    assert _turn_deg(moved.joints_view_norm, centred.joints_view_norm) > 20.0
    assert _shape_gap_px(moved.keypoints_crop_px, centred.keypoints_crop_px) > 6.0


def test_rotation_is_proper_round_trips_and_mirrors():
    spec = random_hand_spec(np.random.default_rng(5))
    rel = hand_joints(spec) - hand_joints(spec)[9]
    right, left = _placed(rel, OFF_AXIS, False), _placed(rel, OFF_AXIS, True)
    for sample in (right, left):
        w = view_rotation(sample.crop, K)
        np.testing.assert_allclose(w @ w.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(w) == pytest.approx(1.0)
        np.testing.assert_allclose(from_view(to_view(sample.joints_norm, w), w), sample.joints_norm, atol=1e-6)
        np.testing.assert_allclose(sample.joints_view_norm, to_view(sample.joints_norm, w), atol=1e-6)
        assert skeleton.bone_length(sample.joints_view_norm) == pytest.approx(1.0, abs=1e-5)
        ray = sample.crop.centre_ray(K) * [-1.0 if sample.crop.mirrored else 1.0, 1.0, 1.0]  # in the mirrored frame
        np.testing.assert_allclose(w @ ray, [0.0, 0.0, 1.0], atol=1e-12)  # z looks through the crop's centre
    mirror = np.diag([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(view_rotation(left.crop, K), mirror @ view_rotation(right.crop, K) @ mirror, atol=1e-12)
    # a crop on the optical axis, unturned, or one without frame geometry: the camera frame
    centred = crop_from_keypoints(np.array([[280.0, 200.0], [360.0, 280.0]]), SIZE)
    np.testing.assert_allclose(view_rotation(centred, K), np.eye(3), atol=1e-9)
    np.testing.assert_array_equal(view_rotation(None, K), np.eye(3))
    np.testing.assert_array_equal(view_rotation(centred, None), np.eye(3))


@pytest.mark.parametrize("left", [False, True])
def test_augmentation_turns_the_view_frame_with_the_crop(left):
    """Augmentation cuts another crop of the same frame: the camera-frame joints stay, the crop
    transform carries the warp, and the view-frame pose turns by the crop's roll about z (within 3
    degrees 24 degrees off-axis, where the crop is an affine cut of a perspective image)."""
    spec = random_hand_spec(np.random.default_rng(7), left_fraction=1.0 if left else 0.0)
    sample = _placed(hand_joints(spec) - hand_joints(spec)[9], OFF_AXIS, left)
    config = AugmentConfig(zoom=(1.0, 1.0), max_shift=0.0, max_gain=0.0, max_contrast=0.0, max_brightness=0.0,
                           max_noise=0.0)
    centre = np.full(2, (SIZE - 1) / 2)
    rolls = []
    for seed in range(6):
        out = augment(sample, np.random.default_rng(seed), config)
        np.testing.assert_array_equal(out.joints_cam_mm, sample.joints_cam_mm)
        np.testing.assert_allclose(out.crop.to_crop(sample.keypoints_px), out.keypoints_crop_px, atol=1e-3)
        a, b = sample.keypoints_crop_px - centre, out.keypoints_crop_px - centre
        roll = np.arctan2(np.sum(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]), np.sum(a * b))
        expected = sample.joints_view_norm @ axis_angle_matrices(np.array([0.0, 0.0, roll])).T
        assert _turn_deg(out.joints_view_norm, expected) < 3.0
        rolls.append(abs(np.degrees(roll)))
    assert max(rolls) > 15.0
