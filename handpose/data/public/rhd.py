"""Rendered Hand Pose Dataset (RHD, Zimmermann & Brox, ICCV 2017), published v2 layout.

Layout under ``root`` (the ``RHD_published_v2`` folder)::

    training/anno_training.pickle      41,258 samples
    training/color/00000.png ...       320 x 320 RGB
    training/mask/00000.png ...        segmentation
    evaluation/anno_evaluation.pickle  2,728 samples
    evaluation/color/, evaluation/mask/

The pickle holds a dict ``sample_id (int) -> {"xyz": (42, 3) float, "uv_vis": (42, 3) float,
"K": (3, 3) float}``: ``xyz`` are 3D keypoints in the camera frame (x right, y down, z
forward) in METRES, ``uv_vis`` the 2D keypoints in px and a visibility flag (1 = visible),
``K`` the camera matrix (``uv = K xyz / z``). Keypoints 0-20 are the LEFT hand, 21-41 the
RIGHT hand, each in RHD order (wrist, then thumb, index, middle, ring, pinky, each from the TIP
to the base; ``skeleton.RHD_TO_OURS``). The mask's values are 0 background, 1 person, 2-17 the
left hand, 18-33 the right hand. The pickles were written by Python 2, so they are read with
``encoding="latin1"``. A pickle can run code when loaded, so it is read with a restricted
unpickler (:class:`_ArraysOnly`) that builds only what RHD's files hold - dicts, lists, numbers,
strings and numpy arrays - and refuses any other class or function with a clear error.

Which hand: every image has both hands labelled, often one of them out of view.
``hands="dominant"`` (default) gives one sample per image, the hand with more mask pixels —
the choice of Zimmermann & Brox's evaluation, which later papers (Spurr et al., Yang & Yao)
kept, so numbers compare. ``hands="both"`` gives every hand with at least ``min_visible``
visible keypoints (more training data).

Joint 0 stays RHD's wrist; the evaluation protocol's palm root (midpoint of wrist and middle
MCP) is what the papers use on RHD.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Final, Literal

import cv2
import numpy as np

from handpose import skeleton
from handpose.data.public.common import (
    DEFAULT_CROP_SIZE,
    PoseOnlyView,
    check_split,
    labelled_sample,
    require_dir,
    require_file,
)
from handpose.data.sample import HandSample
from handpose.errors import InputError
from handpose.io.images import read_rgb

_FOLDER: Final = {"train": "training", "test": "evaluation"}
#: mask values of each hand (inclusive ranges)
LEFT_MASK_VALUES: Final = (2, 17)
RIGHT_MASK_VALUES: Final = (18, 33)


class RHDDataset:
    """RHD as a sequence of :class:`HandSample` (3D in mm, our joint order, crops of ``size``)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        size: int = DEFAULT_CROP_SIZE,
        hands: Literal["dominant", "both"] = "dominant",
        min_visible: int = 1,
    ) -> None:
        self.split = check_split(split)
        if hands not in ("dominant", "both"):
            raise InputError(f"hands must be 'dominant' or 'both', got {hands!r}")
        self.size, self.hands, self.min_visible = size, hands, min_visible
        folder = _FOLDER[self.split]
        self.folder = require_dir(Path(root) / folder, f"RHD's '{folder}' set (anno_{folder}.pickle, color/, mask/)")
        anno_path = require_file(self.folder / f"anno_{folder}.pickle", "RHD's annotation pickle")
        self._xyz_mm, self._uv, self._visible, self._k, self._ids = _read_annotations(anno_path)
        # (annotation row, is_left), is_left None: decided from the mask when read
        self._index: list[tuple[int, bool | None]]
        if hands == "dominant":
            self._index = [(row, None) for row in range(len(self._ids))]
        else:
            counts = self._visible.sum(axis=2)  # (N, 2): visible keypoints of left, right
            self._index = [(row, bool(side == 0)) for row in range(len(self._ids)) for side in (0, 1)
                           if counts[row, side] >= min_visible]

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, i: int) -> HandSample:
        if not -len(self) <= i < len(self):
            raise IndexError(f"RHD {self.split} has {len(self)} samples, index {i} is out of range")
        row, is_left = self._index[i]
        sample_id = int(self._ids[row])
        image = read_rgb(self.folder / "color" / f"{sample_id:05d}.png")
        if is_left is None:
            is_left = self._left_is_dominant(sample_id)
        side = 0 if is_left else 1
        return labelled_sample(
            image,
            self._xyz_mm[row, side],
            self._uv[row, side],
            self._k[row],
            is_left,
            self.size,
            visible=self._visible[row, side],
        )

    def pose_only(self) -> PoseOnlyView:
        """Every hand with at least ``min_visible`` visible keypoints (whatever ``hands`` says),
        as pose-only samples; reads no image."""
        rows, sides = np.nonzero(self._visible.sum(axis=2) >= self.min_visible)
        return PoseOnlyView(self._xyz_mm[rows, sides], sides == 0)

    def _left_is_dominant(self, sample_id: int) -> bool:
        path = require_file(self.folder / "mask" / f"{sample_id:05d}.png", "RHD's segmentation mask")
        mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise InputError(f"{path} could not be decoded as an image")
        if mask.ndim == 3:
            mask = mask[..., 0]
        left = np.count_nonzero((mask >= LEFT_MASK_VALUES[0]) & (mask <= LEFT_MASK_VALUES[1]))
        right = np.count_nonzero((mask >= RIGHT_MASK_VALUES[0]) & (mask <= RIGHT_MASK_VALUES[1]))
        return bool(left > right)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles builtins containers and numpy arrays only; anything else a pickle names (e.g.
    ``os.system``) raises UnpicklingError instead of being imported and called."""

    ALLOWED: Final = frozenset({
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store an array's bytes
    })

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}: RHD annotations hold only dicts, "
                                         "numbers and numpy arrays")
        import warnings

        with warnings.catch_warnings():  # numpy 2 renamed numpy.core; Python 2 pickles still say it
            warnings.simplefilter("ignore", DeprecationWarning)
            return super().find_class(module, name)


def _read_annotations(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per sample, by hand (0 left, 1 right), in our order: xyz mm (N, 2, 21, 3) float32, uv px
    (N, 2, 21, 2) float64, visible (N, 2, 21) bool; K (N, 3, 3) float64; ids (N,) sorted."""
    try:
        with path.open("rb") as f:
            anno = _ArraysOnly(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise InputError(f"{path} is not a readable RHD annotation pickle: {exc}") from None
    if not isinstance(anno, dict) or not anno:
        raise InputError(f"{path}: a non-empty dict sample_id -> {{'xyz', 'uv_vis', 'K'}} expected")
    ids = np.array(sorted(anno), dtype=np.int64)
    xyz = np.empty((len(ids), 42, 3), np.float64)
    uv_vis = np.empty((len(ids), 42, 3), np.float64)
    k = np.empty((len(ids), 3, 3), np.float64)
    for row, sample_id in enumerate(ids):
        entry = anno[int(sample_id)]
        try:
            xyz[row], uv_vis[row], k[row] = entry["xyz"], entry["uv_vis"], entry["K"]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"{path}: sample {sample_id}: 'xyz' (42, 3), 'uv_vis' (42, 3) and 'K' (3, 3) expected ({exc})"
            ) from None
    by_hand = (slice(0, 21), slice(21, 42))  # RHD: left hand first
    xyz_mm = np.stack([skeleton.to_ours(xyz[:, h], "rhd") for h in by_hand], 1) * 1000.0
    uv = np.stack([skeleton.to_ours(uv_vis[:, h, :2], "rhd") for h in by_hand], 1)
    visible = np.stack([uv_vis[:, h, 2][:, skeleton.RHD_TO_OURS] == 1 for h in by_hand], 1)
    return xyz_mm.astype(np.float32), uv, visible, k, ids
