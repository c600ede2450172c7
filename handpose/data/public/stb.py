"""Stereo Hand Pose Tracking Benchmark (STB, Zhang et al., ICIP 2017), Intel RealSense SR300
("SK") colour images.

Layout under ``root``::

    labels/B1Counting_SK.mat ...   MATLAB: "handPara" (3, 21, N) float, mm, N = 1500 per sequence
    images/B1Counting/SK_color_0.png ...   640 x 480 RGB (SK_color_<frame>.png, frame from 0)

(``root/B1Counting/SK_color_0.png`` without the ``images`` level is accepted too.) Twelve
sequences B1..B6 x Counting/Random; the usual split (Zimmermann & Brox and later papers):
test = B1Counting + B1Random (3,000 frames), train = the other 10 (15,000 frames).

Facts used (from the dataset's readme, as the public STB loaders reproduce them):

* ``handPara`` is in the DEPTH camera's frame, in mm. The readme's extrinsics, rotation vector
  ``r = (0.00531, -0.01196, 0.00301)`` (Rodrigues) and translation ``t = (-24.0381, -0.4563,
  -1.2326)`` mm, map colour-camera coordinates to depth-camera ones, ``x_d = R x_c + t``; so
  ``x_c = R^T (x_d - t)``.
* Colour camera intrinsics: fx = 607.92271, fy = 607.88192, cx = 314.78337, cy = 236.42484.
* Joint order (``skeleton.STB_TO_OURS``): palm centre, then pinky, ring, middle, index, thumb,
  each from the base (MCP) to the tip.
* The hand is the subject's LEFT hand (the joints are named ``loc_bn_*_L``).

STB's joint 0 is the palm centre, not the wrist. Papers evaluate STB with the palm as root and
define the palm on other datasets as the midpoint of wrist and middle MCP (Zimmermann & Brox,
and docs/DESIGN.md §4). This loader inverts that definition, ``wrist = 2 * palm - middle_MCP``, so
``skeleton.palm_root`` of a sample gives back STB's labelled palm exactly and the evaluation
protocol needs no special case. (Other codebases extrapolate further, e.g. 2.2x from the middle
MCP or 2x from the ring MCP; those wrists are guesses too.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import cv2
import numpy as np

from handpose import skeleton
from handpose.data.public.common import (
    DEFAULT_CROP_SIZE,
    PoseOnlyView,
    check_split,
    labelled_sample,
    require_file,
)
from handpose.data.sample import HandSample
from handpose.geometry.camera import project
from handpose.io.images import read_rgb
from handpose.errors import InputError, MissingDependencyError

SEQUENCES: Final = tuple(f"B{i}{kind}" for i in range(1, 7) for kind in ("Counting", "Random"))
TEST_SEQUENCES: Final = ("B1Counting", "B1Random")
TRAIN_SEQUENCES: Final = tuple(s for s in SEQUENCES if s not in TEST_SEQUENCES)

COLOR_INTRINSICS: Final = np.array(
    [[607.92271, 0.0, 314.78337], [0.0, 607.88192, 236.42484], [0.0, 0.0, 1.0]]
)
#: colour -> depth extrinsics as published: x_depth = R x_colour + T (R = Rodrigues(rotation vector)).
COLOR_TO_DEPTH_ROTVEC: Final = np.array([0.00531, -0.01196, 0.00301])
COLOR_TO_DEPTH_T_MM: Final = np.array([-24.0381, -0.4563, -1.2326])
_R: Final = cv2.Rodrigues(COLOR_TO_DEPTH_ROTVEC)[0]


def depth_to_color(points_depth_mm: np.ndarray) -> np.ndarray:
    """Points (..., 3) in the SK depth camera's frame -> the SK colour camera's frame (mm)."""
    out: np.ndarray = (np.asarray(points_depth_mm, dtype=np.float64) - COLOR_TO_DEPTH_T_MM) @ _R
    return out


def palm_to_wrist(joints_mm: np.ndarray) -> np.ndarray:
    """Joints (..., 21, 3) in our order with the palm centre at 0 -> with the wrist at 0
    (``wrist = 2 * palm - middle MCP``, the inverse of the palm = midpoint definition)."""
    out = np.array(joints_mm, dtype=np.float64)
    out[..., 0, :] = 2.0 * out[..., 0, :] - out[..., 9, :]
    return out


class STBDataset:
    """STB's SK colour frames as a sequence of :class:`HandSample` (left hands, mm, our order)."""

    def __init__(self, root: str | os.PathLike[str], split: str = "train", size: int = DEFAULT_CROP_SIZE) -> None:
        self.split = check_split(split)
        self.size = size
        root = Path(root)
        self.sequences = TRAIN_SEQUENCES if self.split == "train" else TEST_SEQUENCES
        joints, folders, counts = [], [], []
        for seq in self.sequences:
            para = _read_hand_para(require_file(root / "labels" / f"{seq}_SK.mat", f"STB's labels of {seq}"))
            joints.append(palm_to_wrist(skeleton.to_ours(depth_to_color(para), "stb")))
            folders.append(_image_folder(root, seq))
            counts.append(len(para))
        self._joints_mm = np.concatenate(joints).astype(np.float32)
        self._keypoints_px = project(self._joints_mm, COLOR_INTRINSICS)
        self._folders = folders
        self._starts = np.cumsum([0, *counts])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, i: int) -> HandSample:
        if not -len(self) <= i < len(self):
            raise IndexError(f"STB {self.split} has {len(self)} samples, index {i} is out of range")
        i %= len(self)
        seq = int(np.searchsorted(self._starts, i, side="right")) - 1
        frame = i - int(self._starts[seq])
        image = read_rgb(self._folders[seq] / f"SK_color_{frame}.png")
        return labelled_sample(image, self._joints_mm[i], self._keypoints_px[i], COLOR_INTRINSICS, True, self.size)

    def pose_only(self) -> PoseOnlyView:
        """All labelled hands as pose-only samples; reads no image."""
        return PoseOnlyView(self._joints_mm, np.ones(len(self), bool))


def _image_folder(root: Path, seq: str) -> Path:
    for folder in (root / "images" / seq, root / seq):
        if folder.is_dir():
            return folder
    raise InputError(f"STB's images of {seq} (SK_color_<frame>.png) expected in {root / 'images' / seq}, "
                     "which does not exist")


def _read_hand_para(path: Path) -> np.ndarray:
    """``handPara`` (3, 21, N) of an STB label file -> (N, 21, 3) float64 mm, STB order."""
    try:
        from scipy.io import loadmat  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError("scipy", "train", "Reading STB's MATLAB label files") from None
    try:
        mat = loadmat(str(path))
    except (ValueError, TypeError, OSError) as exc:
        raise InputError(f"{path} is not a readable MATLAB file: {exc}") from None
    if "handPara" not in mat:
        raise InputError(f"{path}: variable 'handPara' expected, found {sorted(k for k in mat if not k.startswith('__'))}")
    para = np.asarray(mat["handPara"], dtype=np.float64)
    if para.ndim != 3 or para.shape[:2] != (3, 21) or para.shape[2] < 1:
        raise InputError(f"{path}: handPara of shape (3, 21, N) expected, got {para.shape}")
    return para.transpose(2, 1, 0)
