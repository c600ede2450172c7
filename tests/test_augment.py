"""Training augmentation: the warped crop, its 2D joints and its 3D joints still describe one hand."""

from __future__ import annotations

import numpy as np
import pytest

from handpose.data.augment import AugmentConfig, augment, crop_centre_ray
from handpose.data.rig import axis_angle_matrices
from handpose.data.sample import HandSample
from handpose.data.scene import hand_joints, project, random_hand_spec
from handpose.detect.crop import crop_from_keypoints
from handpose.errors import InputError

SIZE = 128
K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
GEOMETRY_ONLY = AugmentConfig(zoom=(1.0, 1.0), max_shift=0.0, max_gain=0.0, max_contrast=0.0, max_brightness=0.0,
                              max_noise=0.0)


def _sample(seed: int, left: bool, offset_mm: tuple[float, float]) -> HandSample:
    """A posed hand 450 mm away, off the optical axis by ``offset_mm``, with its crop transform
    (the crop's pixels are a flat grey: only the geometry matters here)."""
    rng = np.random.default_rng(seed)
    spec = random_hand_spec(rng, left_fraction=1.0 if left else 0.0)
    joints = hand_joints(spec)
    joints = joints - joints[9] + np.array([offset_mm[0], offset_mm[1], 450.0])
    keypoints = project(joints, K)
    crop = crop_from_keypoints(keypoints, SIZE, mirrored=left)
    return HandSample(joints_cam_mm=joints.astype(np.float32), is_left=left,
                      crop_rgb=np.full((SIZE, SIZE, 3), 128, np.uint8),
                      keypoints_crop_px=crop.to_crop(keypoints).astype(np.float32),
                      keypoints_px=keypoints.astype(np.float32), intrinsics=K, crop=crop)


@pytest.mark.parametrize("left", [False, True])
def test_rolled_3d_joints_project_onto_rolled_2d_joints(left):
    """The 3D joints turn about the crop-centre ray so that, seen through the original camera and
    crop, they land where the warped 2D joints are: about 1 px in a 128 px crop for rolls up to 30
    degrees of a hand 21 degrees off the optical axis (the crop is an affine cut, not a rolled
    camera), mirrored crops included. Turning the hand about the optical axis instead is 5-10 px off."""
    sample = _sample(3, left, (150.0, -90.0))
    worst_axis_only = 0.0
    centre = np.full(2, (SIZE - 1) / 2)
    for seed in range(8):
        out = augment(sample, np.random.default_rng(seed), GEOMETRY_ONLY)
        seen = sample.crop.to_crop(project(out.joints_cam_mm.astype(np.float64), K))
        miss = np.linalg.norm(seen - out.keypoints_crop_px, axis=1)
        assert miss.mean() < 1.25 and miss.max() < 2.5
        # the roll the 2D joints took about the crop centre
        a, b = sample.keypoints_crop_px - centre, out.keypoints_crop_px - centre
        roll = np.arctan2(np.sum(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]), np.sum(a * b))
        if abs(np.degrees(roll)) < 10:
            continue
        # turning the 3D joints about the optical axis instead of the ray would not fit
        naive = axis_angle_matrices(np.array([0.0, 0.0, -roll if left else roll]))
        joints = sample.joints_cam_mm.astype(np.float64)
        naive_joints = (joints - joints[9]) @ naive.T + out.joints_cam_mm[9]
        naive_seen = sample.crop.to_crop(project(naive_joints, K))
        worst_axis_only = max(worst_axis_only, np.abs(naive_seen - out.keypoints_crop_px).max())
    assert worst_axis_only > 5.0


def test_pixels_follow_the_2d_joints():
    """A bright dot at a joint stays under that joint after the warp, zoom and shift included."""
    sample = _sample(5, False, (0.0, 0.0))
    dot = np.round(sample.keypoints_crop_px[8]).astype(int)
    crop = np.zeros((SIZE, SIZE, 3), np.uint8)
    crop[dot[1] - 1:dot[1] + 2, dot[0] - 1:dot[0] + 2] = 255
    keypoints = sample.keypoints_crop_px.copy()
    keypoints[8] = dot
    sample = HandSample(joints_cam_mm=sample.joints_cam_mm, crop_rgb=crop, keypoints_crop_px=keypoints,
                        intrinsics=K, crop=sample.crop)
    config = AugmentConfig(max_gain=0.0, max_contrast=0.0, max_brightness=0.0, max_noise=0.0)
    for seed in range(5):
        out = augment(sample, np.random.default_rng(seed), config)
        grey = out.crop_rgb[..., 0].astype(np.float64)
        ys, xs = np.nonzero(grey > 0)
        centroid = np.array([np.average(xs, weights=grey[ys, xs]), np.average(ys, weights=grey[ys, xs])])
        assert np.linalg.norm(centroid - out.keypoints_crop_px[8]) < 0.75


def test_labels_and_colours_change_within_bounds():
    sample = _sample(7, True, (60.0, 40.0))
    sample = HandSample(**{**sample.__dict__, "crop_rgb": np.random.default_rng(0).integers(40, 200, (SIZE, SIZE, 3),
                                                                                           dtype=np.uint8)})
    a = augment(sample, np.random.default_rng(1))
    b = augment(sample, np.random.default_rng(1))
    np.testing.assert_array_equal(a.crop_rgb, b.crop_rgb)  # deterministic per generator state
    assert not np.array_equal(a.crop_rgb, sample.crop_rgb)
    # bone lengths are kept: the 3D joints only turn
    bones = lambda j: np.linalg.norm(np.diff(j, axis=0), axis=1)  # noqa: E731
    np.testing.assert_allclose(bones(a.joints_cam_mm), bones(sample.joints_cam_mm), rtol=1e-5)
    assert a.keypoints_px is None and a.intrinsics is None and a.crop is None
    assert a.is_left and a.present


def test_negative_and_outside_joints():
    sample = _sample(9, False, (0.0, 0.0))
    negative = HandSample(joints_cam_mm=np.zeros((21, 3), np.float32), crop_rgb=sample.crop_rgb, present=False)
    out = augment(negative, np.random.default_rng(0))
    assert not out.present and out.keypoints_crop_px is None
    # zoomed in 3x about the centre, the fingertips leave the crop and stop counting as visible
    close = augment(sample, np.random.default_rng(0), AugmentConfig(zoom=(3.0, 3.0), max_shift=0.0))
    outside = np.any((close.keypoints_crop_px < -0.5) | (close.keypoints_crop_px > SIZE - 0.5), axis=1)
    assert outside.any()
    np.testing.assert_array_equal(close.visible, ~outside)
    with pytest.raises(InputError, match="pose-only"):
        augment(HandSample(joints_cam_mm=sample.joints_cam_mm), np.random.default_rng(0))
    with pytest.raises(InputError, match="zoom"):
        AugmentConfig(zoom=(1.2, 1.1))


def test_crop_centre_ray_points_at_the_crop_centre():
    sample = _sample(11, True, (120.0, 80.0))
    ray = crop_centre_ray(sample)
    centre = sample.crop.to_crop(project(ray[None] * 500.0, K))[0]
    np.testing.assert_allclose(centre, [(SIZE - 1) / 2] * 2, atol=1e-6)
    assert np.allclose(crop_centre_ray(HandSample(joints_cam_mm=sample.joints_cam_mm, crop_rgb=sample.crop_rgb)),
                       [0.0, 0.0, 1.0])
