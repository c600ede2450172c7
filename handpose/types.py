"""Typed records passed between the stages: Frame -> HandBox -> HandPose -> FrameResult.

Units: pixels for image coordinates (OpenCV convention, see ``handpose.geometry.crop``),
millimetres for 3D, seconds for time. Images are RGB uint8 unless a name says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from handpose.errors import InputError

Handedness = Literal["left", "right"]


@dataclass(frozen=True)
class Frame:
    """One image from a source.

    Attributes:
        rgb: (H, W, 3) uint8, RGB.
        index: frame number in its source, from 0.
        timestamp_s: capture or presentation time in seconds.
        depth_mm: optional (H, W) uint16 depth in millimetres aligned to ``rgb`` (0 = no reading).
    """

    rgb: np.ndarray
    index: int = 0
    timestamp_s: float = 0.0
    depth_mm: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_rgb_frame(self.rgb)
        if self.depth_mm is not None and self.depth_mm.shape != self.rgb.shape[:2]:
            raise InputError(f"depth of shape {self.rgb.shape[:2]} expected, got {self.depth_mm.shape}")


def check_rgb_frame(image: np.ndarray, name: str = "frame") -> None:
    """Raise :class:`InputError` unless ``image`` is an (H, W, 3) uint8 array."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name}: numpy array (H, W, 3) uint8 RGB expected, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"{name}: shape (H, W, 3) RGB expected, got {image.shape}")
    if image.dtype != np.uint8:
        raise InputError(f"{name}: dtype uint8 expected, got {image.dtype}")
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise InputError(f"{name}: at least 8x8 pixels expected, got {image.shape[:2]}")


@dataclass(frozen=True)
class HandBox:
    """A hand found in a frame, before cropping.

    Attributes:
        keypoints_px: (21, 2) float 2D joints in frame px that define the box.
        handedness: the hand's side as the person holds it (see ``handpose.detect.detector``).
        score: detector or presence confidence in [0, 1].
        source: "detector" for a MediaPipe detection, "tracker" when placed from the previous frame.
        world_mm: (21, 3) float64 MediaPipe's world landmarks in mm (metric, origin near the
            hand's centre, axes as the image's: x right, y down), or None (tracker boxes).
    """

    keypoints_px: np.ndarray
    handedness: Handedness
    score: float
    source: Literal["detector", "tracker"] = "detector"
    world_mm: np.ndarray | None = None


@dataclass(frozen=True)
class StageTimings:
    """Wall time of each stage for one frame, in milliseconds."""

    detect_ms: float = 0.0
    crop_ms: float = 0.0
    model_ms: float = 0.0
    lift_ms: float = 0.0
    smooth_ms: float = 0.0

    @property
    def total_ms(self) -> float:
        return self.detect_ms + self.crop_ms + self.model_ms + self.lift_ms + self.smooth_ms


@dataclass(frozen=True)
class HandPose:
    """The result for one hand in one frame.

    Attributes:
        handedness: "left" or "right".
        presence: hand-presence score in [0, 1] from the model.
        keypoints_px: (21, 2) 2D joints in frame px.
        joints_cam_mm: (21, 3) 3D joints in the camera frame (x right, y down, z forward), mm.
        joints_norm: (21, 3) normalised pose (``handpose.skeleton``), right-hand frame.
        track_id: id of the tracked hand (stable across frames while it is tracked; a hand that is
            lost and found again gets a new id); -1 when unknown. Lets offline smoothing and drawing
            follow one hand through a video.
        visibility: (21,) float32 probability in [0, 1] that each joint is visible (not occluded) in
            the image, from the model; all ones (every joint visible) unless given. A joint counts as
            visible (COCO flag 2, drawn in full) when it is at least :attr:`VISIBLE_THRESHOLD`.
        gesture: the hand's gesture (``handpose.gesture.vocabulary.GESTURES``, "none" for none of
            them) from the gesture classifier on ``joints_norm``; "none" unless given.
        gesture_score: its probability in [0, 1]; 0 unless given.
        finger_count: extended fingers 0..5; -1 when not classified.
    """

    VISIBLE_THRESHOLD: ClassVar[float] = 0.5

    handedness: Handedness
    presence: float
    keypoints_px: np.ndarray
    joints_cam_mm: np.ndarray
    joints_norm: np.ndarray
    track_id: int = -1
    visibility: np.ndarray = field(default_factory=lambda: np.ones(21, np.float32))
    gesture: str = "none"
    gesture_score: float = 0.0
    finger_count: int = -1


@dataclass(frozen=True)
class FrameResult:
    """What the pipeline found in one frame: its hands and how long each stage took.

    Iterating over a result, ``len()`` and indexing go over its hands, so
    ``for hand in pipeline(rgb): ...`` reads as it says.

    Attributes:
        index: frame number in its source (or the pipeline's own count for bare arrays).
        timestamp_s: the frame's time in seconds.
        hands: the hands found, at most ``PipelineConfig.num_hands``.
        timings: per-stage wall times of this frame (also when no hand was found).
    """

    index: int
    timestamp_s: float
    hands: tuple[HandPose, ...]
    timings: StageTimings

    def __iter__(self) -> Iterator[HandPose]:
        return iter(self.hands)

    def __len__(self) -> int:
        return len(self.hands)

    def __getitem__(self, i: int) -> HandPose:
        return self.hands[i]
