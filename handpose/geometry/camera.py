"""Camera intrinsics: pinhole matrix + OpenCV lens distortion, a file format, undistortion and
pinhole projection of camera-frame points (:func:`project`).

Pixel convention (as everywhere in handpose, see ``handpose.geometry.crop``): OpenCV's, x right,
y down, the centre of pixel (i, j) at (i, j). The camera frame is x right, y down, z forward.

File format (JSON, written by :meth:`CameraIntrinsics.save`, see ``calibration/README.md``)::

    {"format": "handpose-camera-intrinsics", "version": 1,
     "width": 640, "height": 480,
     "K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]],
     "dist": [k1, k2, p1, p2, k3],
     "rms_px": 0.21}

``dist`` holds OpenCV's distortion coefficients (4, 5, 8, 12 or 14 of them); ``rms_px`` is the
RMS reprojection error of the calibration in pixels, or null when the intrinsics were not
measured (e.g. :meth:`CameraIntrinsics.default_for`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import cv2
import numpy as np

from handpose.io.atomic import write_text_atomic
from handpose.errors import InputError

FORMAT_NAME: Final = "handpose-camera-intrinsics"
FORMAT_VERSION: Final = 1
#: horizontal field of view assumed by :meth:`CameraIntrinsics.default_for`, degrees.
DEFAULT_HFOV_DEG: Final = 60.0
#: numbers of distortion coefficients OpenCV accepts.
DIST_LENGTHS: Final = (4, 5, 8, 12, 14)
#: widest horizontal field of view a calibration may describe (fisheye lenses are not modelled)
MAX_FOV_DEG: Final = 170.0
#: aspect ratios closer than this count as equal in :meth:`CameraIntrinsics.scaled_to`.
ASPECT_TOLERANCE: Final = 0.01

_KEYS: Final = frozenset({"format", "version", "width", "height", "K", "dist", "rms_px"})
# Iterative point undistortion: OpenCV's default (5 iterations) leaves pixel-level errors at
# the image corners of a wide-angle lens; 50 iterations or a 1e-9 step is exact for practical lenses.
_UNDISTORT_CRITERIA: Final = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-9)


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole camera matrix and lens distortion for images of ``width`` x ``height`` px.

    Attributes:
        K: (3, 3) float64 ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` in px (a skew term is kept
            if present).
        dist: (N,) float64 OpenCV distortion coefficients ``k1, k2, p1, p2[, k3[, ...]]``,
            N in (4, 5, 8, 12, 14); all zero for an ideal pinhole.
        width: image width in px the intrinsics belong to.
        height: image height in px.
        rms_px: RMS reprojection error of the calibration in px, None when not measured.
    """

    K: np.ndarray
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))
    width: int = 0
    height: int = 0
    rms_px: float | None = None

    def __post_init__(self) -> None:
        k = np.array(self.K, dtype=np.float64)
        dist = np.array(self.dist, dtype=np.float64).reshape(-1)
        if k.shape != (3, 3):
            raise InputError(f"camera matrix K of shape (3, 3) expected, got {k.shape}")
        if not np.all(np.isfinite(k)) or not np.all(np.isfinite(dist)):
            raise InputError("camera matrix K and distortion must be finite; got NaN or inf")
        if not np.allclose(k[2], [0.0, 0.0, 1.0]) or k[1, 0] != 0.0:
            raise InputError(f"K of the form [[fx, s, cx], [0, fy, cy], [0, 0, 1]] expected, got {k.tolist()}")
        if k[0, 0] <= 0.0 or k[1, 1] <= 0.0:
            raise InputError(f"positive focal lengths expected, got fx={k[0, 0]}, fy={k[1, 1]}")
        if dist.size not in DIST_LENGTHS:
            raise InputError(f"{' or '.join(map(str, DIST_LENGTHS))} distortion coefficients expected, got {dist.size}")
        if int(self.width) != self.width or int(self.height) != self.height or self.width <= 0 or self.height <= 0:
            raise InputError(f"positive integer image size expected, got {self.width}x{self.height}")
        if self.rms_px is not None and not (math.isfinite(self.rms_px) and self.rms_px >= 0.0):
            raise InputError(f"rms_px must be a non-negative number or None, got {self.rms_px}")
        k.setflags(write=False)
        dist.setflags(write=False)
        object.__setattr__(self, "K", k)
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        self._check_plausible(k)

    def _check_plausible(self, k: np.ndarray) -> None:
        """Refuse a camera no lens makes: a field of view outside 1-170 degrees (fx = 1e-9 would put
        a wrist at 1e11 mm), pixels more than 2:1 out of square, or the principal point outside the
        image."""
        hfov = math.degrees(2.0 * math.atan(self.width / (2.0 * k[0, 0])))
        if not 1.0 <= hfov <= MAX_FOV_DEG:
            raise InputError(f"fx = {k[0, 0]:.6g} px gives a {hfov:.3g} degree horizontal field of view for a "
                             f"{self.width} px wide image; 1-{MAX_FOV_DEG:.0f} degrees expected")
        ratio = k[0, 0] / k[1, 1]
        if not 0.5 <= ratio <= 2.0:
            raise InputError(f"fx / fy = {ratio:.3g}; pixels within 2:1 of square (0.5-2) expected "
                             "(a calibration from too few or too similar views?)")
        cx, cy = k[0, 2], k[1, 2]
        if not (0.0 <= cx <= self.width and 0.0 <= cy <= self.height):
            raise InputError(f"principal point ({cx:.6g}, {cy:.6g}) px lies outside the {self.width}x{self.height} "
                             "image; inside it expected")

    # ------------------------------------------------------------------ construction

    @classmethod
    def default_for(cls, width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG) -> CameraIntrinsics:
        """Uncalibrated default for a ``width`` x ``height`` image: a typical webcam.

        Square pixels, no distortion, principal point at the image centre ``((w-1)/2, (h-1)/2)``
        and the focal length of a ``hfov_deg`` horizontal field of view:
        ``f = (w / 2) / tan(hfov / 2)``, i.e. ``f = 0.866 w`` for the default 60 degrees (laptop
        and USB webcams have 55-70 degrees; ``f = w`` would be 53 degrees). A 10% error in ``f``
        scales the metric depth of a hand by 10% and leaves its 2D overlay unchanged.
        """
        if width <= 0 or height <= 0:
            raise InputError(f"positive image size expected, got {width}x{height}")
        if not 1.0 <= hfov_deg < 179.0:
            raise InputError(f"horizontal field of view in [1, 179) degrees expected, got {hfov_deg}")
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        k = np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
        return cls(K=k, dist=np.zeros(5), width=width, height=height, rms_px=None)

    # ------------------------------------------------------------------ accessors

    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in px."""
        return self.width, self.height

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.dist != 0.0))

    # ------------------------------------------------------------------ file I/O

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the intrinsics as JSON (format in the module docstring), atomically."""
        doc = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "width": self.width,
            "height": self.height,
            "K": self.K.tolist(),
            "dist": self.dist.tolist(),
            "rms_px": self.rms_px,
        }
        write_text_atomic(path, json.dumps(doc, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CameraIntrinsics:
        """Read a file written by :meth:`save`; raise :class:`InputError` naming what is wrong."""
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"calibration file {path} does not exist") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"calibration file {path} is not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise InputError(f"{path}: a JSON object expected, got {type(doc).__name__}")
        missing, extra = _KEYS - doc.keys(), doc.keys() - _KEYS
        if missing or extra:
            raise InputError(
                f"{path}: keys {sorted(_KEYS)} expected; missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        if doc["format"] != FORMAT_NAME or doc["version"] != FORMAT_VERSION:
            raise InputError(
                f"{path}: format {FORMAT_NAME!r} version {FORMAT_VERSION} expected, "
                f"got {doc['format']!r} version {doc['version']!r}"
            )
        for key in ("width", "height"):
            if not isinstance(doc[key], int) or isinstance(doc[key], bool):
                raise InputError(f"{path}: integer {key} expected, got {doc[key]!r}")
        rms = doc["rms_px"]
        if rms is not None and (not isinstance(rms, int | float) or isinstance(rms, bool)):
            raise InputError(f"{path}: rms_px must be a number or null, got {rms!r}")
        try:
            k = np.array(doc["K"], dtype=np.float64)
            dist = np.array(doc["dist"], dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{path}: K (3x3 numbers) and dist (list of numbers) expected") from None
        if dist.ndim != 1:
            raise InputError(f"{path}: dist must be a flat list of numbers, got shape {dist.shape}")
        try:
            return cls(K=k, dist=dist, width=doc["width"], height=doc["height"],
                       rms_px=None if rms is None else float(rms))
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None

    # ------------------------------------------------------------------ other image sizes

    def scaled_to(self, width: int, height: int) -> CameraIntrinsics:
        """The same camera delivering ``width`` x ``height`` images (a resized stream).

        Focal lengths scale with the size; the principal point keeps its place in the picture
        (``c' = (c + 0.5) * s - 0.5`` in the pixel-centre convention); distortion coefficients,
        which act on normalised coordinates, stay. ``rms_px`` is scaled by the mean factor (an
        estimate). A different aspect ratio means a cropped stream, which scaling cannot model:
        that raises :class:`InputError`; calibrate at that resolution instead.
        """
        if width <= 0 or height <= 0:
            raise InputError(f"positive image size expected, got {width}x{height}")
        if (width, height) == self.size:
            return self
        sx, sy = width / self.width, height / self.height
        if abs(sx / sy - 1.0) > ASPECT_TOLERANCE:
            raise InputError(
                f"calibration is for {self.width}x{self.height} images, got {width}x{height}: the aspect "
                "ratio differs, so the stream is cropped, not scaled; calibrate at this resolution"
            )
        k = self.K.copy()
        k[0, :2] *= sx
        k[1, 1] *= sy
        k[0, 2] = (k[0, 2] + 0.5) * sx - 0.5
        k[1, 2] = (k[1, 2] + 0.5) * sy - 0.5
        rms = None if self.rms_px is None else self.rms_px * (sx + sy) / 2.0
        return CameraIntrinsics(K=k, dist=self.dist.copy(), width=width, height=height, rms_px=rms)

    # ------------------------------------------------------------------ undistortion

    def undistort_points(self, points_px: np.ndarray) -> np.ndarray:
        """Map observed (distorted) pixels (..., 2) to the pixels an ideal pinhole with the same K
        would see (..., 2) float64. Without distortion this is the identity."""
        points = np.asarray(points_px, dtype=np.float64)
        if points.ndim < 1 or points.shape[-1] != 2:
            raise InputError(f"points of shape (..., 2) in px expected, got {points.shape}")
        if not self.has_distortion or points.size == 0:
            return points.copy()
        flat = points.reshape(-1, 1, 2)
        out = cv2.undistortPoints(flat, self.K, self.dist, P=self.K, criteria=_UNDISTORT_CRITERIA)
        return out.reshape(points.shape)

    def undistorter(self) -> Undistorter:
        """An :class:`Undistorter` with its remap tables built once, for whole images."""
        return Undistorter(self)

    def without_distortion(self) -> CameraIntrinsics:
        """The intrinsics of undistorted images: same K and size, zero distortion."""
        return CameraIntrinsics(K=self.K.copy(), dist=np.zeros(5), width=self.width, height=self.height,
                                rms_px=self.rms_px)


class Undistorter:
    """Undistorts whole images of one camera; the remap tables are built once, here.

    ``undistorter(image)`` returns an image of the same size and dtype as seen by an ideal
    pinhole with the same K (``intrinsics``); colour order is kept as it came.
    """

    def __init__(self, camera: CameraIntrinsics) -> None:
        self.source = camera
        self.intrinsics = camera.without_distortion()
        self._maps = cv2.initUndistortRectifyMap(
            camera.K, camera.dist, None, camera.K, (camera.width, camera.height), cv2.CV_16SC2
        )

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(H, W[, C]) image -> undistorted (H, W[, C]) image, same dtype; H, W must match.

        Without distortion the input itself is returned (no copy)."""
        if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
            raise InputError(f"image (H, W) or (H, W, C) array expected, got {getattr(image, 'shape', type(image))}")
        if image.shape[:2] != (self.source.height, self.source.width):
            raise InputError(
                f"image of {self.source.width}x{self.source.height} px expected (the calibration's size), "
                f"got {image.shape[1]}x{image.shape[0]}; use CameraIntrinsics.scaled_to first"
            )
        if not self.source.has_distortion:
            return image
        return cv2.remap(image, self._maps[0], self._maps[1], interpolation=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT)


def project(points_cam_mm: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-frame points (..., P, 3) with K (3, 3), or one K per leading
    index (..., 3, 3): (..., P, 2) px."""
    uvw = np.asarray(points_cam_mm, dtype=np.float64) @ np.swapaxes(np.asarray(intrinsics, dtype=np.float64), -1, -2)
    if np.any(uvw[..., 2] <= 0):
        raise InputError("points at or behind the camera (z <= 0) cannot be projected")
    return uvw[..., :2] / uvw[..., 2:]
