"""Square crops as exact affines: round trips, where pixels land, left hands mirrored into the model's frame and back."""

from __future__ import annotations

import numpy as np
import pytest

from handpose.geometry.crop import DEFAULT_MARGIN, crop_from_keypoints, crop_transform, square_box
from handpose.errors import InputError


@pytest.mark.parametrize("mirrored", [False, True])
def test_frame_to_crop_to_frame_is_exact(mirrored):
    rng = np.random.default_rng(0)
    transform = crop_transform(np.array([320.3, 241.7]), 173.9, 128, mirrored)
    points = rng.uniform(-50, 700, size=(100, 2))
    np.testing.assert_allclose(transform.to_frame(transform.to_crop(points)), points, atol=1e-9)
    assert transform.scale == pytest.approx(128 / 173.9)


@pytest.mark.parametrize("mirrored", [False, True])
def test_a_frame_pixel_lands_where_to_crop_says(mirrored):
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[200, 300] = (255, 128, 7)  # pixel centre (x=300, y=200)
    # 1 crop px per frame px; the box centre maps to the crop centre 63.5, so frame and crop pixels align
    transform = crop_transform(np.array([310.5, 190.5]), 128.0, 128, mirrored)
    crop = transform.warp(frame)
    x, y = np.rint(transform.to_crop(np.array([300.0, 200.0]))).astype(int)
    np.testing.assert_array_equal(crop[y, x], (255, 128, 7))
    assert np.count_nonzero(crop.any(axis=2)) == 1


def test_left_hand_crop_is_the_right_hand_crop_of_the_flipped_frame():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, size=(240, 320, 3), dtype=np.uint8)
    keypoints = rng.uniform([60, 50], [200, 180], size=(21, 2))
    flipped = np.ascontiguousarray(frame[:, ::-1])
    flipped_keypoints = keypoints.copy()
    flipped_keypoints[:, 0] = (frame.shape[1] - 1) - keypoints[:, 0]
    as_left = crop_from_keypoints(keypoints, 64, mirrored=True)
    as_right = crop_from_keypoints(flipped_keypoints, 64, mirrored=False)
    np.testing.assert_allclose(as_left.to_crop(keypoints), as_right.to_crop(flipped_keypoints), atol=1e-9)
    diff = np.abs(as_left.warp(frame).astype(int) - as_right.warp(flipped).astype(int))
    assert diff.max() <= 1  # same sample positions; rounding of the bilinear weights only


def test_keypoints_fill_the_crop_with_the_margin():
    keypoints = np.array([[100.0, 50.0], [180.0, 90.0], [140.0, 210.0]])
    centre, side = square_box(keypoints)
    np.testing.assert_allclose(centre, [140.0, 130.0])
    assert side == pytest.approx(160.0 * (1 + 2 * DEFAULT_MARGIN))
    crop = crop_from_keypoints(keypoints, 128).to_crop(keypoints)
    span = 128 / (1 + 2 * DEFAULT_MARGIN)
    assert crop[:, 1].min() == pytest.approx(63.5 - span / 2) and crop[:, 1].max() == pytest.approx(63.5 + span / 2)


def test_bad_input():
    with pytest.raises(InputError, match=r"\(K>=2, 2\)"):
        square_box(np.zeros((21, 3)))
    with pytest.raises(InputError, match="NaN"):
        square_box(np.full((21, 2), np.nan))
    with pytest.raises(InputError, match="positive"):
        crop_transform(np.zeros(2), 0.0, 128)
