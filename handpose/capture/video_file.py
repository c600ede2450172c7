"""Frames of a video file (anything OpenCV's FFmpeg build decodes: mp4, avi, mkv, mov, ...).

Frames come as RGB (converted from OpenCV's BGR here, at the edge). Frame ``i`` of the file
has ``index == i`` and ``timestamp_s`` = its presentation time. A frame the decoder rejects
(a corrupt packet) is skipped and counted in :attr:`VideoFileSource.skipped`; the frames after
it keep their own indices. Frames a recorder dropped (an AVI's empty chunks: the demuxer never
returns them, but the next frame's timestamp jumps by two or more frame periods) are counted the
same way, and each jump is listed in :attr:`VideoFileSource.gaps`, so the frames after it keep
the index and time the container gives them. ``start`` skips the first frames without converting
them (resume).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2

from handpose.capture.base import FrameSource
from handpose.errors import InputError
from handpose.types import Frame

#: frame rates outside this range are not believed; FALLBACK_FPS is used instead (see ``reported_fps``)
MIN_FPS, MAX_FPS, FALLBACK_FPS = 1.0, 1000.0, 30.0
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv", ".flv"})


class VideoFileSource(FrameSource):
    """Iterate over the frames of a video file.

    Args:
        path: the video file.
        start: index of the first frame to yield; earlier frames are decoded and dropped.
        max_frames: read at most this many frames from ``start`` on, i.e. frames
            ``[start, start + max_frames)`` (None = to the end); skipped frames count.
    """

    def __init__(self, path: str | Path, start: int = 0, max_frames: int | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"video file {self.path} does not exist (expected a readable video file)")
        if start < 0 or (max_frames is not None and max_frames < 0):
            raise InputError(f"start >= 0 and max_frames >= 0 expected, got start={start}, max_frames={max_frames}")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            if _mp4_without_index(self.path):
                raise InputError(f"{self.path} looks truncated: an MP4/MOV file without its 'moov' index (a "
                                 "recording cut off before it was finished?); it cannot be decoded")
            raise InputError(
                f"cannot open {self.path} as a video: not a video file, or a codec this OpenCV build lacks"
            )
        width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width <= 0 or height <= 0:
            self._cap.release()
            raise InputError(f"{self.path}: a video with a picture expected, got frame size {width}x{height}")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        self.reported_fps = fps  #: what the container says, before the plausibility check
        self._fps = fps if MIN_FPS <= fps <= MAX_FPS else FALLBACK_FPS
        self._size = (width, height)
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self._count = count if count > 0 else None
        self._start = start
        self._max_frames = max_frames
        self._closed = False
        self._last_ms: float | None = None
        #: (index of the first missing frame, how many) for each jump of the timestamps
        self.gaps: list[tuple[int, int]] = []

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def num_frames(self) -> int | None:
        """Frame count from the container (an estimate for some formats), None when it has none."""
        return self._count

    def _grab(self, index: int) -> tuple[bool | None, int]:
        """Advance past frame ``index``: (True, i) when frame i was decoded, (False, index) when it is
        corrupt (skip it), (None, index) at the end. A failed grab before the container's frame count
        is a corrupt frame; after it, the end. i is ``index`` unless the timestamp jumped by two or
        more frame periods since the previous frame: then frames were dropped, and i is later.
        """
        if not self._cap.grab():
            if self._last_ms is not None:  # a corrupt frame still took its place in time
                self._last_ms += 1000.0 / self._fps
            return (False if self._count is not None and index < self._count else None), index
        ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        previous, self._last_ms = self._last_ms, ms
        missing = 0 if previous is None else round((ms - previous) * self._fps / 1000.0) - 1
        return True, index + max(0, missing)

    def __iter__(self) -> Iterator[Frame]:
        if self._closed:
            raise InputError(f"{self.path}: the source is closed")
        index = 0
        stop = None if self._max_frames is None else self._start + self._max_frames
        while stop is None or index < stop:
            status, at = self._grab(index)
            if status is None:
                return
            if at > index:  # frames [index, at) were dropped by the recorder; those from start on count
                counted = range(max(index, self._start), at if stop is None else min(at, stop))
                if len(counted):
                    self.gaps.append((counted.start, len(counted)))
                    self._skipped += len(counted)
                index = at
                if stop is not None and index >= stop:
                    return
            if index < self._start:  # decode-and-drop up to the start frame; skips there were counted before
                index += 1
                continue
            if status:
                timestamp_s = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                ok, bgr = self._cap.retrieve()
                if ok and bgr is not None and bgr.ndim == 3:
                    yield Frame(rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index=index, timestamp_s=timestamp_s)
                else:
                    self._skipped += 1
            else:
                self._skipped += 1
            index += 1

    def close(self) -> None:
        if not self._closed:
            self._cap.release()
            self._closed = True


def _mp4_without_index(path: Path) -> bool:
    """True for an ISO-BMFF file (MP4/MOV: an ``ftyp`` box first) that holds no ``moov`` box."""
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[4:8] != b"ftyp":
            return False
        f.seek(0)
        tail = b""
        while chunk := f.read(1 << 20):
            if b"moov" in tail + chunk:
                return False
            tail = chunk[-3:]
    return True
