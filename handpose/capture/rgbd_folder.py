"""Colour + depth image pairs from a folder, with the camera's intrinsics.

Layout::

    <folder>/intrinsics.json      CameraIntrinsics file (handpose.geometry.camera) of the colour camera
    <folder>/color/<name>.png|jpg colour images (any format OpenCV reads)
    <folder>/depth/<name>.png     16-bit single-channel depth in millimetres, registered to the
                                  colour image (same size; 0 = no reading)

Pairs are matched by file stem and ordered naturally (2 before 10); frame ``i`` is the i-th
pair with ``timestamp_s = i / fps``. A pair whose images cannot be decoded, or whose depth is
not a 16-bit image of the colour image's size, is skipped and counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2

from handpose.geometry.camera import CameraIntrinsics
from handpose.capture.base import FrameSource
from handpose.errors import InputError
from handpose.io.images import list_images, natural_key, read_rgb
from handpose.types import Frame

INTRINSICS_FILE = "intrinsics.json"


def is_rgbd_folder(folder: Path) -> bool:
    """True when ``folder`` has the layout above (``color/`` and ``depth/`` subfolders)."""
    return (folder / "color").is_dir() and (folder / "depth").is_dir()


class RgbdFolderSource(FrameSource):
    """Iterate over colour (RGB) + depth (mm) pairs of an RGB-D folder.

    Args:
        folder: the folder (layout in the module docstring).
        fps: frame rate assigned to the sequence for timestamps.
        start: index of the first pair to yield.
        max_frames: read at most this many pairs from ``start`` on (None = all).
    """

    def __init__(self, folder: str | Path, fps: float = 30.0, start: int = 0, max_frames: int | None = None) -> None:
        super().__init__()
        self.folder = Path(folder)
        if not is_rgbd_folder(self.folder):
            raise InputError(f"RGB-D folder with color/ and depth/ subfolders expected, got {self.folder}")
        if fps <= 0:
            raise InputError(f"positive fps expected, got {fps}")
        self._intrinsics = CameraIntrinsics.load(self.folder / INTRINSICS_FILE)
        colors = sorted(list_images(self.folder / "color"), key=natural_key)
        depths = {p.stem: p for p in list_images(self.folder / "depth")}
        unpaired = [p.name for p in colors if p.stem not in depths]
        if not colors or unpaired:
            raise InputError(
                f"{self.folder}: every color/<name> needs a depth/<name>.png; "
                f"{len(colors)} colour images, unpaired: {unpaired[:5]}{' ...' if len(unpaired) > 5 else ''}"
            )
        self._pairs = [(p, depths[p.stem]) for p in colors]
        self._fps = float(fps)
        self._start = start
        self._max_frames = max_frames

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        return self._intrinsics.size

    @property
    def intrinsics(self) -> CameraIntrinsics:
        return self._intrinsics

    @property
    def num_frames(self) -> int:
        return len(self._pairs)

    def __iter__(self) -> Iterator[Frame]:
        stop = len(self._pairs) if self._max_frames is None else min(len(self._pairs), self._start + self._max_frames)
        for index in range(self._start, stop):
            color_path, depth_path = self._pairs[index]
            try:
                rgb = read_rgb(color_path)
            except InputError:
                rgb = None
            depth = cv2.imread(str(depth_path), cv2.IMREAD_UNCHANGED)
            if (
                rgb is None
                or depth is None
                or depth.dtype != "uint16"
                or depth.shape != rgb.shape[:2]
                or rgb.shape[1::-1] != self._intrinsics.size
            ):
                self._skipped += 1
                continue
            yield Frame(rgb=rgb, index=index, timestamp_s=index / self._fps, depth_mm=depth)

    def close(self) -> None:
        """Nothing to release: files are opened one at a time."""
