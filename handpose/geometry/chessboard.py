"""Camera calibration from chessboard views (images in a folder or frames of a video).

A board of ``cols`` x ``rows`` INNER corners (a 10 x 7 squares board has 9 x 6 inner corners)
with squares of ``square_mm`` is found in each view (``cv2.findChessboardCorners``, refined with
``cv2.cornerSubPix``), then ``cv2.calibrateCamera`` fits K and the distortion. The result
carries the RMS reprojection error in px: below ~0.5 px is a good calibration.

Views are (name, gray) pairs: ``name`` says where the view came from (file name or frame index)
for messages, ``gray`` is an (H, W) uint8 image (colour order does not matter to the board
search, so images are read straight to grey).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np

from handpose.geometry.camera import CameraIntrinsics
from handpose.errors import InputError
from handpose.io.images import IMAGE_SUFFIXES, list_images, read_rgb

#: fewer boards than this cannot pin down K and distortion reliably.
MIN_VIEWS: Final = 5
_FIND_FLAGS: Final = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_FAST_CHECK
_SUBPIX_CRITERIA: Final = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4)


@dataclass(frozen=True)
class Chessboard:
    """A planar chessboard target.

    Attributes:
        cols: inner corners along a row (e.g. 9 for a board of 10 squares across).
        rows: inner corners along a column.
        square_mm: side of one square in mm.
    """

    cols: int
    rows: int
    square_mm: float

    def __post_init__(self) -> None:
        if self.cols < 2 or self.rows < 2:
            raise InputError(f"at least 2x2 inner corners expected, got {self.cols}x{self.rows}")
        if not self.square_mm > 0:
            raise InputError(f"positive square size in mm expected, got {self.square_mm}")

    @classmethod
    def parse(cls, text: str, square_mm: float) -> Chessboard:
        """From ``"COLSxROWS"`` (inner corners), e.g. ``"9x6"``."""
        match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
        if match is None:
            raise InputError(f"board size as COLSxROWS inner corners expected (e.g. '9x6'), got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)), float(square_mm))

    @property
    def pattern_size(self) -> tuple[int, int]:
        """(cols, rows) as OpenCV wants it."""
        return self.cols, self.rows

    def object_points(self) -> np.ndarray:
        """(rows * cols, 3) float32 corner positions on the board plane (z = 0) in mm, row-major
        in the order ``cv2.findChessboardCorners`` reports them."""
        grid = np.mgrid[0 : self.cols, 0 : self.rows].T.reshape(-1, 2)
        points = np.zeros((self.cols * self.rows, 3), np.float32)
        points[:, :2] = grid * self.square_mm
        return points


#: an RMS reprojection error above this (px) makes a calibration doubtful
POOR_RMS_PX: Final = 1.0
#: fewer views than this give a shaky focal length and principal point
ADVISED_VIEWS: Final = 10


@dataclass(frozen=True)
class CalibrationResult:
    """Output of :func:`calibrate`.

    Attributes:
        intrinsics: fitted camera; ``intrinsics.rms_px`` is the RMS reprojection error.
        used: names of the views in which the board was found.
        views_total: number of views searched.
    """

    intrinsics: CameraIntrinsics
    used: tuple[str, ...]
    views_total: int

    @property
    def warnings(self) -> tuple[str, ...]:
        """What makes this calibration doubtful, each naming the value and what is expected: an RMS
        reprojection error above :data:`POOR_RMS_PX`, or fewer views than :data:`ADVISED_VIEWS`."""
        found = []
        rms = self.intrinsics.rms_px
        if rms is not None and rms > POOR_RMS_PX:
            found.append(f"RMS reprojection error {rms:.2f} px is high (below ~0.5 px is good, above "
                         f"{POOR_RMS_PX:g} px poor): blurred or moving views, a bent board, or a wrong --board size?")
        if len(self.used) < ADVISED_VIEWS:
            found.append(f"the board was found in only {len(self.used)} views; {ADVISED_VIEWS}-30 from varied angles "
                         "give a steadier focal length and principal point")
        return tuple(found)


def find_corners(gray: np.ndarray, board: Chessboard) -> np.ndarray | None:
    """Inner corners (cols * rows, 2) float32 px of ``board`` in an (H, W) uint8 image, or None.

    The sub-pixel search window adapts to the board's size in the image (it must stay inside
    one square).
    """
    if not isinstance(gray, np.ndarray) or gray.ndim != 2 or gray.dtype != np.uint8:
        raise InputError(
            f"grey image (H, W) uint8 expected, got {getattr(gray, 'shape', type(gray))} {getattr(gray, 'dtype', '')}"
        )
    found, corners = cv2.findChessboardCorners(gray, board.pattern_size, flags=_FIND_FLAGS)
    if not found:
        return None
    grid = corners.reshape(board.rows, board.cols, 2)
    spacing = min(
        float(np.linalg.norm(np.diff(grid, axis=1), axis=-1).min()),
        float(np.linalg.norm(np.diff(grid, axis=0), axis=-1).min()),
    )
    half = int(np.clip(spacing * 0.4, 2, 11))
    refined = cv2.cornerSubPix(gray, corners, (half, half), (-1, -1), _SUBPIX_CRITERIA)
    return refined.reshape(-1, 2)


def images_in_folder(folder: str | os.PathLike[str]) -> Iterator[tuple[str, np.ndarray]]:
    """Views from every image file in ``folder`` (sorted by name), read as grey."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"folder of chessboard images expected, {folder} is not a directory")
    files = list_images(folder)
    if not files:
        raise InputError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    for path in files:
        yield path.name, cv2.cvtColor(read_rgb(path), cv2.COLOR_RGB2GRAY)


def video_frames(path: str | os.PathLike[str], every: int = 10) -> Iterator[tuple[str, np.ndarray]]:
    """Views from every ``every``-th frame of a video file (frames 0, every, 2*every, ...), grey."""
    if every < 1:
        raise InputError(f"frame step of at least 1 expected, got {every}")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video file expected, {path} does not exist")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise InputError(f"{path} could not be opened as a video")
    try:
        index = 0
        while capture.grab():
            if index % every == 0:
                ok, frame_bgr = capture.retrieve()
                if ok:
                    yield f"frame {index}", cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
            index += 1
    finally:
        capture.release()


def calibrate(
    views: Iterable[tuple[str, np.ndarray]], board: Chessboard, min_views: int = MIN_VIEWS, fix_k3: bool = True
) -> CalibrationResult:
    """Fit intrinsics to the boards found in ``views`` ((name, (H, W) uint8 grey) pairs).

    ``fix_k3`` keeps the 6th-order radial term at 0 (OpenCV's advice for ordinary lenses: with
    few views k3 overfits); set it False for wide-angle lenses. Raises :class:`InputError` when
    fewer than ``min_views`` boards are found, saying how many of how many, or when the views
    differ in size.
    """
    object_points = board.object_points()
    image_points: list[np.ndarray] = []
    used: list[str] = []
    size: tuple[int, int] | None = None
    total = 0
    for name, gray in views:
        total += 1
        if size is None:
            size = (gray.shape[1], gray.shape[0])
        elif (gray.shape[1], gray.shape[0]) != size:
            raise InputError(
                f"all views must have one size; {name} is {gray.shape[1]}x{gray.shape[0]}, earlier ones {size[0]}x{size[1]}"
            )
        corners = find_corners(gray, board)
        if corners is not None:
            image_points.append(corners)
            used.append(name)
    if size is None:
        raise InputError("no views to calibrate from")
    if len(used) < min_views:
        raise InputError(
            f"found a {board.cols}x{board.rows} chessboard (inner corners) in {len(used)} of {total} views; "
            f"at least {min_views} needed. Check --board counts INNER corners (a 10x7-square board is 9x6) "
            "and that the whole board is in view, sharp and well lit"
        )
    flags = cv2.CALIB_FIX_K3 if fix_k3 else 0
    rms, k, dist, _, _ = cv2.calibrateCamera(
        [object_points] * len(image_points), image_points, size, None, None, flags=flags
    )
    intrinsics = CameraIntrinsics(K=k, dist=dist.reshape(-1), width=size[0], height=size[1], rms_px=float(rms))
    return CalibrationResult(intrinsics=intrinsics, used=tuple(used), views_total=total)
