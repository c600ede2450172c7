"""Square hand crops kept as an exact affine map between frame pixels and crop pixels.

Pixel coordinates follow OpenCV: (x, y), x to the right, y down, the centre of pixel (i, j)
at (i, j). A crop is the frame warped by a 2x3 affine ``A`` (frame px -> crop px):
``crop(p) = s * R * (p - c) + size/2 - 0.5`` with ``R`` a horizontal flip for left hands, so
left hands appear as right hands to the model and come back mirrored through :meth:`to_frame`.

Both the synthetic renderer (training) and the live pipeline make their crops here, so the
model sees the same framing in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from handpose.errors import InputError

#: box side = extent of the keypoints x (1 + 2 * margin)
DEFAULT_MARGIN = 0.25


@dataclass(frozen=True)
class CropTransform:
    """Affine frame px -> crop px of a square crop of ``size`` pixels.

    Attributes:
        matrix: (2, 3) float64, frame px -> crop px.
        size: crop side in pixels.
        mirrored: True when the crop is horizontally flipped (left hands).
    """

    matrix: np.ndarray
    size: int
    mirrored: bool

    @property
    def inverse(self) -> np.ndarray:
        """(2, 3) float64 affine crop px -> frame px."""
        return cv2.invertAffineTransform(self.matrix)

    @property
    def scale(self) -> float:
        """Crop pixels per frame pixel."""
        return float(np.hypot(self.matrix[0, 0], self.matrix[1, 0]))

    def to_crop(self, points_px: np.ndarray) -> np.ndarray:
        """Map frame points (..., 2) in px to crop px."""
        return _apply(self.matrix, points_px)

    def to_frame(self, points_px: np.ndarray) -> np.ndarray:
        """Map crop points (..., 2) in px back to frame px."""
        return _apply(self.inverse, points_px)

    def rolled(self, roll_rad: float) -> CropTransform:
        """The same crop turned by ``roll_rad`` about its centre (clockwise on screen, y down)."""
        roll = np.vstack([similarity_about_centre(self.size, roll_rad), [0.0, 0.0, 1.0]])
        return CropTransform(matrix=(roll @ np.vstack([self.matrix, [0.0, 0.0, 1.0]]))[:2], size=self.size,
                             mirrored=self.mirrored)

    def centre_ray(self, intrinsics: np.ndarray) -> np.ndarray:
        """Unit direction (3,) in the camera frame of the ray through the crop's centre, for the
        (3, 3) camera matrix ``intrinsics`` of the frame."""
        centre_frame = self.to_frame(np.full(2, (self.size - 1) / 2.0))
        ray = np.linalg.solve(np.asarray(intrinsics, np.float64), np.append(centre_frame, 1.0))
        return ray / np.linalg.norm(ray)

    def warp(self, frame_rgb: np.ndarray) -> np.ndarray:
        """Cut the crop (size, size, 3) uint8 RGB out of a frame (H, W, 3) uint8 RGB.

        Outside the frame the crop is filled by replicating the border.
        """
        return cv2.warpAffine(
            frame_rgb, self.matrix, (self.size, self.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.shape[-1] != 2:
        raise InputError(f"points of shape (..., 2) expected, got {points.shape}")
    return points @ matrix[:, :2].T + matrix[:, 2]


def similarity_about_centre(size: int, roll_rad: float, zoom: float = 1.0,
                            shift_px: np.ndarray | tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """(2, 3) crop px -> crop px: turn by ``roll_rad`` (clockwise on screen, y down) and scale by
    ``zoom`` about the centre of a ``size`` crop, then shift by ``shift_px`` (2,)."""
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    linear = zoom * np.array([[c, -s], [s, c]])
    centre = np.full(2, (size - 1) / 2.0)
    return np.hstack([linear, (centre + np.asarray(shift_px, np.float64) - linear @ centre)[:, None]])


def square_box(keypoints_px: np.ndarray, margin: float = DEFAULT_MARGIN) -> tuple[np.ndarray, float]:
    """Square box around 2D keypoints (K, 2) px: ``(centre (2,), side px)``.

    The side is the larger extent of the keypoints' bounding box times ``1 + 2 * margin``.
    """
    keypoints_px = np.asarray(keypoints_px, dtype=np.float64)
    if keypoints_px.ndim != 2 or keypoints_px.shape[1] != 2 or len(keypoints_px) < 2:
        raise InputError(f"keypoints of shape (K>=2, 2) expected, got {keypoints_px.shape}")
    if not np.all(np.isfinite(keypoints_px)):
        raise InputError("keypoints contain NaN or inf")
    lo, hi = keypoints_px.min(axis=0), keypoints_px.max(axis=0)
    side = float(max(hi - lo) * (1.0 + 2.0 * margin))
    return (lo + hi) / 2.0, max(side, 1.0)


def crop_transform(centre_px: np.ndarray, side_px: float, size: int, mirrored: bool = False) -> CropTransform:
    """Affine of the square box (``centre_px`` (2,), ``side_px``) onto a ``size`` x ``size`` crop."""
    if side_px <= 0 or size <= 0:
        raise InputError(f"positive box side and crop size expected, got side={side_px}, size={size}")
    s = size / float(side_px)
    flip = -1.0 if mirrored else 1.0
    half = size / 2.0 - 0.5
    cx, cy = float(centre_px[0]), float(centre_px[1])
    matrix = np.array([[flip * s, 0.0, half - flip * s * cx], [0.0, s, half - s * cy]], dtype=np.float64)
    return CropTransform(matrix=matrix, size=int(size), mirrored=bool(mirrored))


def crop_from_keypoints(
    keypoints_px: np.ndarray, size: int, mirrored: bool = False, margin: float = DEFAULT_MARGIN
) -> CropTransform:
    """The crop transform of the square box around ``keypoints_px`` (K, 2)."""
    centre, side = square_box(keypoints_px, margin)
    return crop_transform(centre, side, size, mirrored)
