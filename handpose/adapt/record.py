"""A short adaptation clip recorded from any frame source (what ``handpose-demo --record-adaptation`` does).

The frames are written as they come, RGB -> an mp4 (``mp4v``) at the source's frame rate, through
a temporary file renamed at the end (:func:`handpose.io.atomic.atomic_path`), so an interrupted
recording leaves no half-written clip. The clip holds the source's raw frames (a webcam's are not
mirrored), which is what the teacher labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cv2

from handpose.capture.base import FrameSource
from handpose.errors import InputError
from handpose.io.atomic import atomic_path

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min)?\s*$")


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


def record_clip(source: FrameSource, seconds: float, path: Path) -> RecordedClip:
    """Write the frames of ``source`` whose timestamps lie within ``seconds`` of its first one to
    ``path`` (.mp4); InputError when the source gives none."""
    writer = None
    frames, first, last = 0, None, 0.0
    with atomic_path(path, suffix=".mp4") as tmp:
        try:
            for frame in source:
                first = frame.timestamp_s if first is None else first
                if frame.timestamp_s - first >= seconds:
                    break
                if writer is None:
                    height, width = frame.rgb.shape[:2]
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), source.fps, (width, height))
                    if not writer.isOpened():
                        raise InputError(f"cannot write a video at {path}")
                writer.write(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
                frames, last = frames + 1, frame.timestamp_s
        finally:
            if writer is not None:
                writer.release()
        if frames == 0:
            raise InputError("the source gave no frame to record")
    return RecordedClip(Path(path), frames, last - (first or 0.0))
