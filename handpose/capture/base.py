"""The one interface every frame source implements: an iterator of :class:`~handpose.types.Frame`.

A source yields RGB frames (``Frame.rgb`` (H, W, 3) uint8 RGB; ``Frame.depth_mm`` (H, W) uint16 mm
for depth sources) with their index in the source and a timestamp in seconds. It is a context
manager; :meth:`FrameSource.close` releases the device or file and is safe to call twice.
Frames a source cannot decode are skipped and counted in :attr:`FrameSource.skipped`; the
indices of the frames that do come keep their place in the source, so a gap shows the skip.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType

from handpose.geometry.camera import CameraIntrinsics
from handpose.types import Frame


class FrameSource(ABC):
    """Base class of all sources (webcam, video file, image folder, RealSense, RGB-D folder)."""

    def __init__(self) -> None:
        self._skipped = 0

    @property
    @abstractmethod
    def fps(self) -> float:
        """Nominal frame rate in frames per second (for timestamps and writers)."""

    @property
    @abstractmethod
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames in px."""

    @property
    def intrinsics(self) -> CameraIntrinsics | None:
        """The camera's intrinsics when the source knows them (depth cameras, RGB-D folders), else None."""
        return None

    @property
    def num_frames(self) -> int | None:
        """Number of frames in a finite source (files, folders) when known, None for live cameras."""
        return None

    @property
    def skipped(self) -> int:
        """Frames skipped so far because they could not be read or decoded."""
        return self._skipped

    @abstractmethod
    def __iter__(self) -> Iterator[Frame]:
        """Yield frames in order until the source ends (files) or is closed (cameras)."""

    @abstractmethod
    def close(self) -> None:
        """Release the device or file. Idempotent."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
