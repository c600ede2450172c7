"""Training augmentation: the warped crop, its 2D joints and its crop transform still describe one hand
(the view frame turning with the crop: tests/test_view_frame.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from handpose.data.augment import AugmentConfig, augment
from handpose.data.sample import HandSample
from handpose.data.synth.scene import hand_joints, project, random_hand_spec
from handpose.geometry.crop import crop_from_keypoints
from handpose.errors import InputError

SIZE = 128
K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])


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
    # another cut of the same frame: 3D joints, frame keypoints and camera stay, the crop moves with the warp
    np.testing.assert_array_equal(a.joints_cam_mm, sample.joints_cam_mm)
    assert a.keypoints_px is sample.keypoints_px and a.intrinsics is sample.intrinsics
    np.testing.assert_allclose(a.crop.to_crop(a.keypoints_px), a.keypoints_crop_px, atol=1e-3)
    assert a.crop.mirrored and a.is_left and a.present


def test_negative_and_outside_joints():
    sample = _sample(9, False, (0.0, 0.0))
    negative = HandSample(joints_cam_mm=np.zeros((21, 3), np.float32), crop_rgb=sample.crop_rgb, present=False)
    out = augment(negative, np.random.default_rng(0))
    assert not out.present and out.keypoints_crop_px is None
    # zoomed in 3x about the centre, the fingertips leave the crop and stop counting as visible
    zoom_in = AugmentConfig(zoom=(3.0, 3.0), max_shift=0.0)
    close = augment(dataclasses.replace(sample, visible=np.ones(21, bool)), np.random.default_rng(0), zoom_in)
    outside = np.any((close.keypoints_crop_px < -0.5) | (close.keypoints_crop_px > SIZE - 0.5), axis=1)
    assert outside.any()
    np.testing.assert_array_equal(close.visible, ~outside)
    # a source that does not label visibility (a real photo) stays unlabelled
    assert augment(sample, np.random.default_rng(0), zoom_in).visible is None
    with pytest.raises(InputError, match="pose-only"):
        augment(HandSample(joints_cam_mm=sample.joints_cam_mm), np.random.default_rng(0))
    with pytest.raises(InputError, match="crop transform and intrinsics"):
        augment(HandSample(joints_cam_mm=sample.joints_cam_mm, crop_rgb=sample.crop_rgb), np.random.default_rng(0))
    with pytest.raises(InputError, match="zoom"):
        AugmentConfig(zoom=(1.2, 1.1))


def test_low_resolution_and_blur():
    """Shrunk until the hand spans 16-24 px and enlarged back, the crop loses its fine detail but
    keeps its size, its labels and its mean colour; with both chances at 0 nothing changes."""
    sample = _sample(3, False, (0.0, 0.0))
    rng = np.random.default_rng(1)
    crop = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    sample = dataclasses.replace(sample, crop_rgb=crop)
    still = AugmentConfig(max_roll_deg=0, zoom=(1, 1), max_shift=0, max_gain=0, max_contrast=0, max_brightness=0,
                          max_noise=0)
    same = augment(sample, np.random.default_rng(2), still)
    np.testing.assert_array_equal(same.crop_rgb, crop)
    low = augment(sample, np.random.default_rng(2),
                  dataclasses.replace(still, low_res_prob=1.0, low_res_hand_px=(16.0, 24.0)))
    assert low.crop_rgb.shape == crop.shape
    np.testing.assert_array_equal(low.keypoints_crop_px, same.keypoints_crop_px)
    assert np.abs(np.diff(low.crop_rgb.astype(float), axis=1)).mean() < 0.3 * np.abs(np.diff(crop.astype(float),
                                                                                             axis=1)).mean()
    assert abs(low.crop_rgb.mean() - crop.mean()) < 3.0
    blurred = augment(sample, np.random.default_rng(2), dataclasses.replace(still, blur_prob=1.0))
    assert np.abs(np.diff(blurred.crop_rgb.astype(float), axis=1)).mean() < np.abs(np.diff(crop.astype(float),
                                                                                         axis=1)).mean()
    with pytest.raises(InputError, match="probabilities"):
        AugmentConfig(low_res_prob=1.5)
