"""Frames from a folder of images, in natural file-name order (img2 before img10).

Images are read with OpenCV and converted to RGB here. Frame ``i`` is the i-th image file,
``timestamp_s = i / fps``. A file that cannot be decoded is skipped and counted; the images
may differ in size (:attr:`ImageFolderSource.size` is the first readable one's).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from handpose.capture.base import FrameSource
from handpose.errors import InputError
from handpose.io.images import IMAGE_SUFFIXES, list_images, natural_key, read_rgb
from handpose.types import Frame

class ImageFolderSource(FrameSource):
    """Iterate over the images of a folder.

    Args:
        folder: a folder holding image files (jpg, png, bmp, webp, tif).
        fps: frame rate assigned to the sequence for timestamps.
        start: index of the first image to yield.
        max_frames: read at most this many images from ``start`` on (None = all).
    """

    def __init__(self, folder: str | Path, fps: float = 30.0, start: int = 0, max_frames: int | None = None) -> None:
        super().__init__()
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"image folder {self.folder} does not exist or is not a folder")
        if fps <= 0:
            raise InputError(f"positive fps expected, got {fps}")
        self._files = sorted(list_images(self.folder), key=natural_key)
        if not self._files:
            raise InputError(
                f"{self.folder}: no images found (expected files ending in {', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        self._fps = float(fps)
        self._start = start
        self._max_frames = max_frames
        self._size: tuple[int, int] | None = None
        for path in self._files:
            try:
                first = read_rgb(path)
            except InputError:
                continue
            self._size = (first.shape[1], first.shape[0])
            break
        if self._size is None:
            raise InputError(f"{self.folder}: none of its {len(self._files)} image files could be decoded")

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        assert self._size is not None
        return self._size

    @property
    def num_frames(self) -> int:
        return len(self._files)

    @property
    def files(self) -> list[Path]:
        """The image files in frame order."""
        return list(self._files)

    def __iter__(self) -> Iterator[Frame]:
        stop = len(self._files) if self._max_frames is None else min(len(self._files), self._start + self._max_frames)
        for index in range(self._start, stop):
            try:
                rgb = read_rgb(self._files[index])
            except InputError:
                rgb = None
            if rgb is None or rgb.shape[0] < 8 or rgb.shape[1] < 8:
                self._skipped += 1
                continue
            yield Frame(rgb=rgb, index=index, timestamp_s=index / self._fps)

    def close(self) -> None:
        """Nothing to release: files are opened one at a time."""
