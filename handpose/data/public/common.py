"""What the public-dataset loaders (RHD, STB, FreiHAND) share: file checks, image reading
and turning one labelled hand into a :class:`HandSample`.

Every loader takes ``split`` ("train" or "test", each dataset's published split) and a crop
``size`` in px, and makes its crops with the same code as the live pipeline
(``crop_from_keypoints`` around the ground-truth 2D joints, margin 0.25, mirrored for left
hands), so evaluation follows docs/DESIGN.md §4's "ground-truth crop and hand side".
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, Literal

import numpy as np

from handpose.data.sample import HandSample
from handpose.geometry.crop import crop_from_keypoints
from handpose.errors import InputError

Split = Literal["train", "test"]
SPLITS: Final = ("train", "test")
#: default crop side in px (the model's default input size).
DEFAULT_CROP_SIZE: Final = 128


def check_split(split: str) -> Split:
    if split not in SPLITS:
        raise InputError(f"split must be one of {SPLITS}, got {split!r}")
    return split  # type: ignore[return-value]


def require_dir(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as a Path if it is a directory; else an error naming it and ``what`` it should hold."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{what} expected in the folder {path}, which does not exist")
    return path


def require_file(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as a Path if it is a file; else an error naming it and ``what`` it should be."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} expected at {path}, which does not exist")
    return path


def labelled_sample(
    image_rgb: np.ndarray,
    joints_cam_mm: np.ndarray,
    keypoints_px: np.ndarray,
    intrinsics: np.ndarray,
    is_left: bool,
    size: int,
    visible: np.ndarray | None = None,
) -> HandSample:
    """A :class:`HandSample` for one hand of an image.

    Args:
        image_rgb: (H, W, 3) uint8 RGB.
        joints_cam_mm: (21, 3) joints in the camera frame, mm, our order.
        keypoints_px: (21, 2) joints in image px, our order (they define the crop).
        intrinsics: (3, 3) camera matrix of the image.
        is_left: the hand is a left hand (its crop is mirrored).
        size: crop side in px.
        visible: (21,) bool, or None when the dataset does not say.
    """
    keypoints_px = np.asarray(keypoints_px, dtype=np.float64)
    crop = crop_from_keypoints(keypoints_px, size, mirrored=is_left)
    return HandSample(
        joints_cam_mm=np.asarray(joints_cam_mm, dtype=np.float32),
        is_left=bool(is_left),
        crop_rgb=crop.warp(image_rgb),
        keypoints_crop_px=crop.to_crop(keypoints_px).astype(np.float32),
        keypoints_px=keypoints_px.astype(np.float32),
        intrinsics=np.asarray(intrinsics, dtype=np.float64),
        visible=None if visible is None else np.asarray(visible, dtype=bool),
        crop=crop,
    )


class PoseOnlyView(Sequence[HandSample]):
    """A dataset's labelled hands as pose-only samples (``joints_cam_mm`` and ``is_left`` only,
    no image is read): pose data for the pose VAE.

    Args:
        joints_cam_mm: (N, 21, 3) joints in mm, camera frame, our order.
        is_left: (N,) bool.
    """

    def __init__(self, joints_cam_mm: np.ndarray, is_left: np.ndarray) -> None:
        if joints_cam_mm.ndim != 3 or joints_cam_mm.shape[1:] != (21, 3) or is_left.shape != joints_cam_mm.shape[:1]:
            raise InputError(f"joints (N, 21, 3) and is_left (N,) expected, got {joints_cam_mm.shape}, {is_left.shape}")
        self._joints = np.asarray(joints_cam_mm, dtype=np.float32)
        self._is_left = np.asarray(is_left, dtype=bool)

    def __len__(self) -> int:
        return len(self._joints)

    def __getitem__(self, i: int) -> HandSample:  # type: ignore[override]
        if not -len(self) <= i < len(self):
            raise IndexError(f"{len(self)} poses, index {i} is out of range")
        return HandSample(joints_cam_mm=self._joints[i].copy(), is_left=bool(self._is_left[i]))

    def __iter__(self) -> Iterator[HandSample]:
        return (self[i] for i in range(len(self)))
