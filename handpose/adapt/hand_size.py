"""The user's hand size (middle-finger MCP->PIP length, mm) measured on depth footage.

Per frame with aligned depth: the teacher's world landmarks give the hand's shape; lifted at the
default size, the root's depth from the 2D landmarks alone and from the depth image at the palm
(:func:`handpose.geometry.lift.solve_translation`, :func:`~handpose.geometry.lift.translation_from_depth`)
differ in proportion to how wrong the size was, so ``size = default * z_depth / z_2d`` - the
same estimate a live track makes (:class:`handpose.smooth.hand_size.TrackHandSize`). The footage's
size is the median over its frames' plausible estimates.

Colour footage alone cannot give it: a calibration fixes the focal length, not the hand's size,
and MediaPipe's world landmarks are drawn at its own average-hand scale (see
:mod:`handpose.smooth.hand_size`). Without depth the user can give the size measured with a ruler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from handpose.data.real.pseudo_label import TeacherLabel
from handpose.geometry.camera import CameraIntrinsics
from handpose.geometry.lift import DEFAULT_HAND_SIZE_MM, pose_scale, solve_translation, translation_from_depth
from handpose.smooth.hand_size import size_from_depth

#: depth frames needed before the footage's estimate is trusted
MIN_DEPTH_FRAMES: Final = 10


@dataclass(frozen=True)
class HandSize:
    """The hand size stored with an adapted checkpoint.

    Attributes:
        mm: middle-finger MCP->PIP length in mm, or None (unknown: the pipeline's default is used).
        source: "depth" (measured on the footage), "given" (by the user) or "none".
        frames: depth frames the measurement is the median of (0 unless measured).
        spread_mm: half the 16-84% range of the per-frame estimates (0 unless measured).
    """

    mm: float | None
    source: Literal["depth", "given", "none"]
    frames: int = 0
    spread_mm: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {"mm": None if self.mm is None else round(self.mm, 2), "source": self.source, "frames": self.frames,
                "spread_mm": round(self.spread_mm, 2)}


def depth_hand_size_mm(label: TeacherLabel, camera: CameraIntrinsics, depth_mm: np.ndarray) -> float | None:
    """One frame's estimate (see the module docstring); None without a depth reading at the palm
    or outside :data:`handpose.smooth.hand_size.PLAUSIBLE_MM`. ``camera``: the intrinsics of the
    colour image the label is in; ``depth_mm`` (H, W) uint16, aligned to it."""
    world = np.asarray(label.world_mm, np.float64)
    pose = (world - world[0]) * (DEFAULT_HAND_SIZE_MM / pose_scale(world))
    t_depth = translation_from_depth(label.keypoints_px, pose, camera, depth_mm)
    if t_depth is None:
        return None
    t_2d = solve_translation(label.keypoints_px, pose, camera)
    return size_from_depth(DEFAULT_HAND_SIZE_MM, float(t_depth[2]), float(t_2d[2]))


def footage_hand_size(estimates: Sequence[float | None], given_mm: float | None = None) -> HandSize:
    """The size to store: ``given_mm`` when the user gave one, else the median of the per-frame
    depth ``estimates`` when at least :data:`MIN_DEPTH_FRAMES` have one, else unknown."""
    if given_mm is not None:
        return HandSize(float(given_mm), "given")
    values = np.array([e for e in estimates if e is not None], np.float64)
    if len(values) < MIN_DEPTH_FRAMES:
        return HandSize(None, "none")
    lo, hi = np.percentile(values, [16, 84])
    return HandSize(float(np.median(values)), "depth", len(values), float(hi - lo) / 2.0)
