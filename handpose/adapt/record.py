"""A short adaptation clip recorded from any frame source (what ``handpose-demo --record-adaptation`` does).

The frames are written as they come, RGB -> an mp4 (``mp4v``) at the source's frame rate, through
a temporary file renamed at the end (:func:`handpose.io.atomic.atomic_path`), so an interrupted
or cancelled recording leaves no half-written clip. The clip holds the source's raw frames (a
webcam's are not mirrored), which is what the teacher labels.

An optional ``on_frame`` callback sees each frame right after it is written (a
:class:`RecordingFrame`); returning ``False`` cancels the recording (:class:`RecordingCancelled`).
Two callbacks come with the library: :class:`HandCounter` here (window-free: counts the frames in
which MediaPipe finds a hand, so the user learns whether the footage is usable) and
:class:`handpose.viz.record_preview.RecordPreview` (a Qt window showing the frames with a REC mark,
the seconds left and MediaPipe's landmarks).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2

from handpose.capture.base import FrameSource
from handpose.detect.detector import HandDetector
from handpose.errors import HandposeError, InputError
from handpose.io.atomic import atomic_path
from handpose.types import Frame, HandBox

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min)?\s*$")

#: below this share of frames with a hand, the footage gives the adaptation little to learn from
LOW_HAND_SHARE: Final = 0.5


def parse_duration_s(text: str) -> float:
    """Seconds of ``"20s"``, ``"20"``, ``"1.5m"``; InputError naming what came otherwise."""
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise InputError(f"a duration such as 20s or 1m expected, got {text!r}")
    return float(match.group(1)) * (60.0 if match.group(2) in ("m", "min") else 1.0)


@dataclass(frozen=True)
class RecordedClip:
    """A recorded clip: its path, frames written and their time span (s)."""

    path: Path
    frames: int
    seconds: float


@dataclass(frozen=True)
class RecordingFrame:
    """One frame :func:`record_clip` has just written: what its ``on_frame`` callback gets.

    Attributes:
        frame: the source's frame as written, raw (never mirrored): ``frame.rgb`` (H, W, 3) uint8
            **RGB**, ``frame.index`` its number in the source, ``frame.timestamp_s`` its time (s).
        index: its number in the clip, from 0 (``index + 1`` frames are written).
        seconds_left: recording time still to come after this frame, in s (> 0): ``seconds`` minus
            the time since the clip's first frame.
        seconds: the length of the whole recording asked for, in s.
    """

    frame: Frame
    index: int
    seconds_left: float
    seconds: float


#: ``record_clip``'s per-frame callback: ``False`` cancels the recording; anything else (True, None) goes on
FrameCallback = Callable[[RecordingFrame], "bool | None"]


class RecordingCancelled(HandposeError):
    """The ``on_frame`` callback of :func:`record_clip` cancelled the recording; no clip was written.

    Attributes:
        frames: frames written to the (removed) temporary file before the cancel.
        path: the clip's path, left as it was before the recording.
    """

    def __init__(self, frames: int, path: Path) -> None:
        plural = "" if frames == 1 else "s"
        super().__init__(f"recording cancelled after {frames} frame{plural}; no clip written to {path}")
        self.frames, self.path = frames, Path(path)


def record_clip(
    source: FrameSource, seconds: float, path: Path, on_frame: FrameCallback | None = None
) -> RecordedClip:
    """Write the frames of ``source`` whose timestamps lie within ``seconds`` of its first one to
    ``path`` (.mp4, the raw RGB frames as BGR ``mp4v`` at ``source.fps``).

    ``on_frame`` (optional) is called on this thread once per written frame, in order, right after
    the frame is written, with a :class:`RecordingFrame`; while it runs the recording waits (a live
    camera keeps its latest frame only, so a slow callback drops frames). When it returns ``False``
    the recording stops, the temporary file is removed (a file already at ``path`` is left as it
    was) and :class:`RecordingCancelled` is raised; an exception it raises propagates the same way.
    InputError when ``seconds`` is not positive or the source gives no frame.
    """
    if not seconds > 0:
        raise InputError(f"a recording length > 0 s expected, got {seconds}")
    writer = None
    frames, first, last = 0, None, 0.0
    with atomic_path(path, suffix=".mp4") as tmp:
        try:
            for frame in source:
                first = frame.timestamp_s if first is None else first
                elapsed = frame.timestamp_s - first
                if elapsed >= seconds:
                    break
                if writer is None:
                    height, width = frame.rgb.shape[:2]
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), source.fps, (width, height))
                    if not writer.isOpened():
                        raise InputError(f"cannot write a video at {path}")
                writer.write(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
                frames, last = frames + 1, frame.timestamp_s
                if on_frame is not None and on_frame(RecordingFrame(frame, frames - 1, seconds - elapsed,
                                                                    seconds)) is False:
                    raise RecordingCancelled(frames, Path(path))
        finally:
            if writer is not None:
                writer.release()
        if frames == 0:
            raise InputError("the source gave no frame to record")
    return RecordedClip(Path(path), frames, last - (first or 0.0))


class HandCounter:
    """Counts the recorded frames in which MediaPipe finds a hand: an ``on_frame`` callback of
    :func:`record_clip` that never cancels, and the hand finder of the Qt preview.

    MediaPipe's HandLandmarker runs in video mode (it tracks between frames; about 12 ms per
    640 x 480 frame on one CPU core) on the raw frames, at the frames' own timestamps. It finds
    more than the adaptation's teacher keeps (which also wants a score >= 0.8 and a mirrored copy
    that agrees, frame by frame), so the count is roughly an upper bound of the frames the
    adaptation will learn from.
    Use as a context manager or call :meth:`close`.

    Args:
        num_hands: most hands looked for per frame (the teacher's default, 2).
    """

    def __init__(self, num_hands: int = 2) -> None:
        self.detector = HandDetector(mode="video", num_hands=num_hands)
        self.frames = 0  #: frames looked at so far
        self.with_hand = 0  #: of those, frames in which at least one hand was found

    def detect(self, shot: RecordingFrame) -> list[HandBox]:
        """The hands in ``shot``'s raw frame (keypoints (21, 2) in raw, non-mirrored frame px), counted."""
        boxes = self.detector.detect(shot.frame.rgb, shot.frame.timestamp_s)
        self.frames += 1
        self.with_hand += bool(boxes)
        return boxes

    def __call__(self, shot: RecordingFrame) -> None:
        self.detect(shot)

    @property
    def share(self) -> float:
        """Share of the frames looked at that had a hand, in [0, 1] (0 before any frame)."""
        return self.with_hand / self.frames if self.frames else 0.0

    def summary(self) -> str:
        """``"a hand in 97 of 120 frames (81%)"``."""
        return f"a hand in {self.with_hand} of {self.frames} frames ({100 * self.share:.0f}%)"

    def warning(self) -> str | None:
        """One line when fewer than :data:`LOW_HAND_SHARE` of the frames had a hand, else None."""
        if self.share >= LOW_HAND_SHARE:
            return None
        return (f"warning: only {100 * self.share:.0f}% of the frames show a hand: the adaptation will have little "
                "to learn from (keep your hand in view and record again if the result disappoints)")

    def close(self) -> None:
        """Release MediaPipe's graph (idempotent)."""
        self.detector.close()

    def __enter__(self) -> HandCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
