"""Real photos labelled by a teacher (MediaPipe HandLandmarker): 2D landmarks, world landmarks,
handedness and score, kept only when confident and self-consistent.

Self-consistency: the teacher also labels the photo mirrored left-right. Mirrored back, that
answer must find the same hands, name the other hand side (a mirrored right hand is a left
hand) and put the landmarks in the same places, within ``max_disagreement`` of the hand's box
side on average. Each kept label is the mean of the two answers (the teacher's own test-time
augmentation), which halves part of its noise.

A kept label becomes a :class:`HandSample` with ``exact_3d=False``: the crop is cut around the
teacher's landmarks exactly as the live pipeline cuts one, the 2D keypoints are the label, and
MediaPipe's world landmarks (``world_mm``) give the 3D shape up to a rotation (none for the
stretched sets, whose shape is distorted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np

from handpose.geometry.camera import CameraIntrinsics
from handpose.data.sample import HandSample
from handpose.geometry.crop import crop_from_keypoints, square_box
from handpose.detect.detector import HandDetector, appears_left
from handpose.errors import InputError
from handpose.skeleton import NUM_JOINTS
from handpose.types import HandBox, Handedness

#: hands whose landmark box is smaller than this (px) are not labelled
MIN_HAND_PX: Final = 16.0


@dataclass(frozen=True)
class TeacherConfig:
    """What the teacher's labels must satisfy.

    Attributes:
        min_score: MediaPipe's handedness score, in both the photo and its mirror.
        max_disagreement: mean 2D distance between the two answers, in units of the hand's box side.
        pad: tight crops are padded by this fraction of their side on every side before detection.
        num_hands: most hands labelled per photo.
    """

    min_score: float = 0.8
    max_disagreement: float = 0.06
    pad: float = 0.5
    num_hands: int = 2

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_score <= 1.0 or self.max_disagreement <= 0 or self.pad < 0 or self.num_hands < 1:
            raise InputError(f"min_score in [0, 1], max_disagreement > 0, pad >= 0, num_hands >= 1 expected, "
                             f"got {self}")


@dataclass(frozen=True)
class TeacherLabel:
    """A teacher label that passed the checks.

    Attributes:
        keypoints_px: (21, 2) float64 2D landmarks in the (padded) image's px.
        world_mm: (21, 3) float64 world landmarks in mm, as the hand appears in the image.
        handedness: the side the hand looks like in the image.
        score: the lower handedness score of the two answers.
        disagreement: mean 2D distance of the two answers, in units of the hand's box side.
    """

    keypoints_px: np.ndarray
    world_mm: np.ndarray
    handedness: Handedness
    score: float
    disagreement: float


def hand_side_px(keypoints_px: np.ndarray) -> float:
    """The larger extent of the landmarks' bounding box, px (the hand's box side)."""
    return float(np.ptp(np.asarray(keypoints_px, np.float64), axis=0).max())


def mirror_box(box: HandBox, width: int) -> HandBox:
    """A detection in a left-right mirrored image, brought back into the original image: x
    reflected, world x negated, hand side swapped."""
    kp = box.keypoints_px.copy()
    kp[:, 0] = (width - 1) - kp[:, 0]
    world = None
    if box.world_mm is not None:
        world = box.world_mm.copy()
        world[:, 0] = -world[:, 0]
    side: Handedness = "left" if box.handedness == "right" else "right"
    return HandBox(keypoints_px=kp, handedness=side, score=box.score, source=box.source, world_mm=world)


#: why a hand is refused (the outcome codes in the labeller's log), besides "ok"
REASONS: Final = ("no hand", "not in mirror", "no world landmarks", "side changes", "low score", "too small",
                  "answers differ")


def agree(a: HandBox, b: HandBox, config: TeacherConfig) -> tuple[TeacherLabel | None, str]:
    """Combine two answers for the same hand (``b`` already brought into ``a``'s image): the
    label and "ok", or None and why they are refused (one of :data:`REASONS`)."""
    if a.world_mm is None or b.world_mm is None:
        return None, "no world landmarks"
    if a.handedness != b.handedness:
        return None, "side changes"
    score = min(a.score, b.score)
    if score < config.min_score:
        return None, "low score"
    side = hand_side_px(a.keypoints_px)
    if side < MIN_HAND_PX:
        return None, "too small"
    disagreement = float(np.linalg.norm(a.keypoints_px - b.keypoints_px, axis=1).mean() / side)
    if disagreement > config.max_disagreement:
        return None, "answers differ"
    return TeacherLabel(keypoints_px=(a.keypoints_px + b.keypoints_px) / 2.0, world_mm=(a.world_mm + b.world_mm) / 2.0,
                        handedness=a.handedness, score=score, disagreement=disagreement), "ok"


class Teacher:
    """Labels real photos with MediaPipe (image mode) and its mirrored-copy check.

    Args:
        detector: a :class:`HandDetector` in image mode; the teacher does not close it.
        config: the checks.
    """

    def __init__(self, detector: HandDetector, config: TeacherConfig = TeacherConfig()) -> None:
        if detector.mode != "image":
            raise InputError(f"the teacher labels unrelated stills: a detector in 'image' mode expected, "
                             f"got {detector.mode!r}")
        self.detector, self.config = detector, config

    def prepare(self, rgb: np.ndarray, tight: bool) -> np.ndarray:
        """The image the teacher looks at: (H, W, 3) uint8 RGB, padded (border replicated) when ``tight``."""
        if not tight or self.config.pad == 0:
            return rgb
        p = int(round(self.config.pad * max(rgb.shape[:2])))
        return cv2.copyMakeBorder(rgb, p, p, p, p, cv2.BORDER_REPLICATE)

    def label(self, rgb: np.ndarray) -> list[tuple[TeacherLabel | None, str]]:
        """Labels for the hands in an (H, W, 3) uint8 RGB image (already :meth:`prepare` d): one
        ``(label, "ok")`` or ``(None, reason)`` per hand found; ``[(None, "no hand")]`` when none."""
        found = self.detector.detect(rgb)
        if not found:
            return [(None, "no hand")]
        width = rgb.shape[1]
        mirrored = [mirror_box(b, width) for b in self.detector.detect(np.ascontiguousarray(rgb[:, ::-1]))]
        out: list[tuple[TeacherLabel | None, str]] = []
        for box in found[: self.config.num_hands]:
            centre, side = square_box(box.keypoints_px, 0.0)
            near = [m for m in mirrored if np.linalg.norm(square_box(m.keypoints_px, 0.0)[0] - centre) < 0.3 * side]
            if not near:
                out.append((None, "not in mirror"))
                continue
            out.append(agree(box, near[0], self.config))
        return out


def teacher_sample(rgb: np.ndarray, label: TeacherLabel, crop_size: int, with_3d: bool = True) -> HandSample:
    """The training sample of one teacher label on the (prepared) image ``rgb`` (H, W, 3) uint8 RGB:
    the crop cut around the landmarks as the pipeline cuts one (mirrored when the hand looks left),
    the landmarks as 2D keypoints, world landmarks as ``world_mm`` unless ``with_3d`` is False,
    the default camera of the image size as intrinsics."""
    looks_left = appears_left(label.handedness, False)
    crop = crop_from_keypoints(label.keypoints_px, crop_size, mirrored=looks_left)
    height, width = rgb.shape[:2]
    return HandSample(
        joints_cam_mm=np.full((NUM_JOINTS, 3), np.nan, np.float32),
        is_left=looks_left,
        crop_rgb=crop.warp(rgb),
        keypoints_crop_px=crop.to_crop(label.keypoints_px).astype(np.float32),
        keypoints_px=label.keypoints_px.astype(np.float32),
        intrinsics=CameraIntrinsics.default_for(width, height).K.copy(),
        visible=None,
        crop=crop,
        exact_3d=False,
        world_mm=label.world_mm.astype(np.float32) if with_3d else None,
    )
