"""FreiHAND (Zimmermann et al., ICCV 2019), published v2 layout.

Layout under ``root``::

    training_xyz.json   list of 32,560 (21, 3) joint arrays, camera frame, METRES, our order
    training_K.json     list of 32,560 (3, 3) camera matrices
    training/rgb/00000000.jpg ...   224 x 224 RGB, 4 x 32,560 images
    evaluation_xyz.json, evaluation_K.json, evaluation/rgb/%08d.jpg   3,960 (split "test")

The training images come in four versions of the same 32,560 frames (green screen, and three
background/colour treatments): image ``v * 32560 + i`` shows frame ``i``, whose labels are entry
``i`` of the json files. ``versions`` selects which of the four to use (default all). Every
hand is a right hand. 2D keypoints are the projection ``K xyz / z``; FreiHAND gives no
per-joint visibility.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np

from handpose.data.public.common import (
    DEFAULT_CROP_SIZE,
    PoseOnlyView,
    check_split,
    labelled_sample,
    require_dir,
    require_file,
)
from handpose.data.sample import HandSample
from handpose.geometry.camera import project
from handpose.errors import InputError
from handpose.io.images import read_rgb

NUM_VERSIONS: Final = 4
_PREFIX: Final = {"train": "training", "test": "evaluation"}


class FreiHANDDataset:
    """FreiHAND as a sequence of :class:`HandSample` (right hands, mm, our order)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        size: int = DEFAULT_CROP_SIZE,
        versions: Sequence[int] = (0, 1, 2, 3),
    ) -> None:
        self.split = check_split(split)
        self.size = size
        root = Path(root)
        prefix = _PREFIX[self.split]
        xyz = _read_json_array(require_file(root / f"{prefix}_xyz.json", "FreiHAND's 3D joints"), (21, 3))
        k = _read_json_array(require_file(root / f"{prefix}_K.json", "FreiHAND's camera matrices"), (3, 3))
        if len(xyz) != len(k):
            raise InputError(f"{root}: {prefix}_xyz.json has {len(xyz)} entries but {prefix}_K.json {len(k)}")
        self._joints_mm = (xyz * 1000.0).astype(np.float32)
        self._k = k
        self._keypoints_px = project(self._joints_mm, k)
        self._rgb = require_dir(root / prefix / "rgb", "FreiHAND's images (%08d.jpg)")
        if self.split == "test":
            versions = (0,)  # the evaluation set has one version
        bad = [v for v in versions if not 0 <= v < NUM_VERSIONS]
        if bad or not versions:
            raise InputError(f"versions from 0..{NUM_VERSIONS - 1} expected, got {list(versions)}")
        self.versions = tuple(int(v) for v in versions)
        for v in self.versions:  # a missing version fails here, not in the middle of training
            require_file(self._rgb / f"{v * len(xyz):08d}.jpg", f"FreiHAND's first image of version {v}")

    def __len__(self) -> int:
        return len(self.versions) * len(self._joints_mm)

    def __getitem__(self, i: int) -> HandSample:
        if not -len(self) <= i < len(self):
            raise IndexError(f"FreiHAND {self.split} has {len(self)} samples, index {i} is out of range")
        i %= len(self)
        n = len(self._joints_mm)
        version, frame = self.versions[i // n], i % n
        image = read_rgb(self._rgb / f"{version * n + frame:08d}.jpg")
        return labelled_sample(image, self._joints_mm[frame], self._keypoints_px[frame], self._k[frame], False, self.size)

    def pose_only(self) -> PoseOnlyView:
        """Each labelled frame once (not once per image version) as a pose-only sample; reads no image."""
        return PoseOnlyView(self._joints_mm, np.zeros(len(self._joints_mm), bool))


def _read_json_array(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """A json list of arrays of ``shape`` -> (N, *shape) float64."""
    try:
        data = np.asarray(json.loads(path.read_text(encoding="utf-8")), dtype=np.float64)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise InputError(f"{path}: a JSON list of {shape} number arrays expected ({exc})") from None
    if data.ndim != len(shape) + 1 or data.shape[1:] != shape or len(data) == 0:
        raise InputError(f"{path}: a JSON list of {shape} arrays expected, got an array of shape {data.shape}")
    return data
