"""2D drawing on RGB images: hand skeletons, handedness labels, FPS and per-stage latency.

Every function takes and returns (H, W, 3) uint8 **RGB** images (convert to BGR only at a
cv2 writer/display edge). Colours come from :mod:`handpose.skeleton` so the 2D overlay, the 3D
views and the README figures agree: each bone and joint has its finger's colour, the wrist is
white. A joint the model sees as occluded (visibility below ``HandPose.VISIBLE_THRESHOLD``), and
each bone that touches one, is drawn faded: its colour at :data:`FADE_OPACITY` over grey, thinner,
without the dark outline, under the visible ones. Functions draw in place when given
``in_place=True`` (the live path reuses one buffer per frame) and on a copy otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import cv2
import numpy as np

from handpose import skeleton
from handpose.errors import InputError
from handpose.types import HandPose, StageTimings, check_rgb_frame

WRIST_COLOR_RGB: Final = (255, 255, 255)
#: outline drawn under bones and joints so they stay visible on any background.
OUTLINE_COLOR_RGB: Final = (20, 20, 20)
LABEL_COLOR_RGB: Final = {"left": (80, 200, 255), "right": (255, 150, 60)}
TEXT_COLOR_RGB: Final = (255, 255, 255)

#: colour of each joint (21,), its finger's colour; the wrist white.
JOINT_COLORS_RGB: Final[tuple[tuple[int, int, int], ...]] = (WRIST_COLOR_RGB,) + tuple(
    skeleton.bone_color_rgb(j) for j in range(1, skeleton.NUM_JOINTS)
)
#: opacity of an occluded joint's colour over :data:`FADE_GREY_RGB`
FADE_OPACITY: Final = 0.35
FADE_GREY_RGB: Final = (150, 150, 150)


def _faded(colour_rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = (round(FADE_OPACITY * c + (1.0 - FADE_OPACITY) * grey) for c, grey in zip(colour_rgb, FADE_GREY_RGB))
    return r, g, b


#: colour of each joint (21,) when it is occluded: its ``JOINT_COLORS_RGB`` faded towards grey.
FADED_JOINT_COLORS_RGB: Final[tuple[tuple[int, int, int], ...]] = tuple(_faded(c) for c in JOINT_COLORS_RGB)


def _prepare(image_rgb: np.ndarray, in_place: bool) -> np.ndarray:
    check_rgb_frame(image_rgb, "image_rgb")
    if in_place:
        if not image_rgb.flags.c_contiguous or not image_rgb.flags.writeable:
            raise InputError("in_place drawing needs a writeable C-contiguous (H, W, 3) uint8 array")
        return image_rgb
    return image_rgb.copy()


def size_factor(image_shape: tuple[int, ...]) -> float:
    """How much bigger than a 480 p image this one is (at least 1): lines and text grow with it."""
    return max(1.0, min(image_shape[0], image_shape[1]) / 480.0)


def line_widths(image_shape: tuple[int, ...]) -> tuple[int, int]:
    """(bone thickness, joint radius) in px scaled to the image size (2/3 px at 480 p)."""
    scale = size_factor(image_shape)
    return max(2, round(2 * scale)), max(3, round(3 * scale))


def draw_skeleton(
    image_rgb: np.ndarray,
    keypoints_px: np.ndarray,
    *,
    thickness: int | None = None,
    radius: int | None = None,
    visibility: np.ndarray | None = None,
    in_place: bool = False,
) -> np.ndarray:
    """Draw one 21-joint hand skeleton.

    Args:
        image_rgb: (H, W, 3) uint8 RGB.
        keypoints_px: (21, 2) joints in image px (x right, y down), our joint order.
        thickness: bone thickness in px (default scaled to the image size).
        radius: joint dot radius in px (default scaled to the image size).
        visibility: (21,) probability in [0, 1] that each joint is visible; joints below
            ``HandPose.VISIBLE_THRESHOLD`` and the bones that touch them are drawn faded. None = all visible.
        in_place: draw into ``image_rgb`` itself instead of a copy.

    Returns:
        The (H, W, 3) uint8 RGB image with the skeleton; a visible joint ``j`` is a filled dot of
        ``JOINT_COLORS_RGB[j]`` centred on ``keypoints_px[j]``, an occluded one a smaller dot of
        ``FADED_JOINT_COLORS_RGB[j]`` without outline.
    """
    out = _prepare(image_rgb, in_place)
    points = np.asarray(keypoints_px, dtype=np.float64)
    if points.shape != (skeleton.NUM_JOINTS, 2):
        raise InputError(f"keypoints_px: shape (21, 2) expected, got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise InputError("keypoints_px contain NaN or inf")
    if visibility is None:
        seen = [True] * skeleton.NUM_JOINTS
    else:
        if np.shape(visibility) != (skeleton.NUM_JOINTS,):
            raise InputError(f"visibility: shape (21,) expected, got {np.shape(visibility)}")
        seen = [bool(v >= HandPose.VISIBLE_THRESHOLD) for v in visibility]
    default_thickness, default_radius = line_widths(out.shape)
    thickness = default_thickness if thickness is None else thickness
    radius = default_radius if radius is None else radius
    pts = [(int(round(x)), int(round(y))) for x, y in points]
    for parent, child in skeleton.BONES:  # faded bones first: the visible ones are drawn over them
        if not (seen[parent] and seen[child]):
            cv2.line(out, pts[parent], pts[child], FADED_JOINT_COLORS_RGB[child], max(1, thickness - 1), cv2.LINE_AA)
    for parent, child in skeleton.BONES:
        if seen[parent] and seen[child]:
            cv2.line(out, pts[parent], pts[child], OUTLINE_COLOR_RGB, thickness + 2, cv2.LINE_AA)
    for parent, child in skeleton.BONES:
        if seen[parent] and seen[child]:
            cv2.line(out, pts[parent], pts[child], JOINT_COLORS_RGB[child], thickness, cv2.LINE_AA)
    for j, p in enumerate(pts):
        if not seen[j]:
            cv2.circle(out, p, max(1, radius - 1), FADED_JOINT_COLORS_RGB[j], -1, cv2.LINE_AA)
    for j, p in enumerate(pts):
        if seen[j]:
            cv2.circle(out, p, radius + 1, OUTLINE_COLOR_RGB, -1, cv2.LINE_AA)
            cv2.circle(out, p, radius, JOINT_COLORS_RGB[j], -1, cv2.LINE_AA)
    return out


def draw_label(
    image_rgb: np.ndarray,
    text: str,
    origin_px: tuple[int, int],
    color_rgb: tuple[int, int, int] = TEXT_COLOR_RGB,
    *,
    scale: float = 0.5,
    in_place: bool = False,
) -> np.ndarray:
    """Write ``text`` with its baseline-left corner at ``origin_px`` on a dark box (RGB in/out).

    ``scale`` is the font scale for a 480 p image; bigger images get proportionally bigger text.
    """
    out = _prepare(image_rgb, in_place)
    scale *= size_factor(out.shape)
    thickness = max(1, round(scale * 1.5))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x, y = origin_px
    x = int(np.clip(x, 0, max(0, out.shape[1] - w - 4)))
    y = int(np.clip(y, h + 4, out.shape[0] - base - 2))
    cv2.rectangle(out, (x - 2, y - h - 4), (x + w + 2, y + base + 1), OUTLINE_COLOR_RGB, -1)
    cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color_rgb, thickness, cv2.LINE_AA)
    return out


def draw_hands(image_rgb: np.ndarray, hands: Sequence[HandPose], *, in_place: bool = False) -> np.ndarray:
    """Draw every hand's skeleton (occluded joints faded, from ``HandPose.visibility``) and a
    "Left 0.97" / "Right 0.88" label (handedness, presence), followed by the gesture and the number
    of extended fingers when the hand has them (:func:`hand_label`).

    The label sits above the hand's bounding box. ``image_rgb`` is (H, W, 3) uint8 RGB.
    """
    out = _prepare(image_rgb, in_place)
    for hand in hands:
        draw_skeleton(out, hand.keypoints_px, visibility=hand.visibility, in_place=True)
        x0, y0 = np.min(hand.keypoints_px, axis=0)
        draw_label(out, hand_label(hand), (int(x0), int(y0) - round(8 * size_factor(out.shape))), LABEL_COLOR_RGB[hand.handedness],
                   in_place=True)  # fmt: skip
    return out


def hand_label(hand: HandPose) -> str:
    """"Right 0.97", or with a classified gesture "Right 0.97  victory 2f" (gesture, extended fingers);
    a hand whose gesture is "none" shows only its finger count."""
    text = f"{hand.handedness.capitalize()} {hand.presence:.2f}"
    if hand.finger_count < 0:
        return text
    gesture = "" if hand.gesture == "none" else f"{hand.gesture.replace('_', ' ')} "
    return f"{text}  {gesture}{hand.finger_count}f"


def timing_lines(timings: StageTimings, fps: float | None = None) -> list[str]:
    """Text lines "FPS 29.8", "detect 3.1 ms", ... "total 9.9 ms" for the overlay and the Qt labels."""
    lines = [] if fps is None else [f"FPS {fps:5.1f}"]
    for stage in ("detect", "crop", "model", "lift", "smooth"):
        lines.append(f"{stage:<6} {getattr(timings, stage + '_ms'):6.1f} ms")
    lines.append(f"{'total':<6} {timings.total_ms:6.1f} ms")
    return lines


def draw_timings(
    image_rgb: np.ndarray, timings: StageTimings, fps: float | None = None, *, in_place: bool = False
) -> np.ndarray:
    """Write FPS and per-stage latency (ms) in the top-left corner of an (H, W, 3) uint8 RGB image."""
    out = _prepare(image_rgb, in_place)
    factor = size_factor(out.shape)
    (_, h), base = cv2.getTextSize("0", cv2.FONT_HERSHEY_SIMPLEX, 0.45 * factor, max(1, round(0.45 * factor * 1.5)))
    step = h + base + round(6 * factor)
    for i, line in enumerate(timing_lines(timings, fps)):
        draw_label(out, line, (round(6 * factor), round(6 * factor) + h + i * step), TEXT_COLOR_RGB, scale=0.45,
                   in_place=True)  # fmt: skip
    return out


def annotate(
    image_rgb: np.ndarray,
    hands: Sequence[HandPose],
    timings: StageTimings | None = None,
    fps: float | None = None,
    *,
    in_place: bool = False,
) -> np.ndarray:
    """Skeletons + labels for ``hands`` and, when ``timings`` is given, the latency text (RGB in/out)."""
    out = draw_hands(image_rgb, hands, in_place=in_place)
    if timings is not None:
        draw_timings(out, timings, fps, in_place=True)
    return out
