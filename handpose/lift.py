"""Metric 3D: place a normalised hand pose in the camera frame (mm).

The model gives a normalised pose (root-relative, unit = middle MCP->PIP bone, camera-aligned
orientation, right-hand frame) and 2D keypoints. Scaling the pose by a hand size (the length of
the middle MCP->PIP bone in mm) gives the root-relative joints ``P_j`` in mm; what is missing is
the camera-space translation ``t`` of the root (the wrist, joint 0). Two ways to get it:

* :func:`solve_translation` - from the 2D keypoints: a linear least-squares solution of the
  pinhole equations ``x_j (Z_j + t_z) = X_j + t_x``, ``y_j (Z_j + t_z) = Y_j + t_y`` in normalised
  image coordinates, refined by a few Gauss-Newton steps on the reprojection error in pixels.
  Exact for exact data; the depth scales with the assumed hand size.
* :func:`translation_from_depth` - from a depth image aligned to the colour frame: the median
  depth in a small window at the palm (midpoint of wrist and middle MCP) fixes ``t_z``; ``t_x``,
  ``t_y`` then follow from the 2D keypoints by least squares.

Camera frame: x right, y down, z forward (OpenCV); pixels in OpenCV convention.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from handpose.calibration import CameraIntrinsics
from handpose.errors import InputError
from handpose.skeleton import NUM_JOINTS

#: middle-finger MCP->PIP bone length (mm) of the project's rigged hand (an adult hand); the default hand size
DEFAULT_HAND_SIZE_MM: Final = 46.9
#: the palm's joints (wrist, thumb CMC, finger MCPs) are rigid and rarely occluded; finger joints of a
#: curled or occluded hand are where 2D detectors err most (MediaPipe on renders: up to 120 px at the
#: tips of a fist, against ~10 px at the palm), so the translation trusts the palm most
PALM_JOINTS: Final = (0, 1, 5, 9, 13, 17)
FINGER_WEIGHT: Final = 0.1
DEFAULT_JOINT_WEIGHTS: Final = np.array([1.0 if j in PALM_JOINTS else FINGER_WEIGHT for j in range(NUM_JOINTS)])
#: depth cameras see the skin; the palm joints lie about this far behind it (mm): on the rendered
#: rig ~5 mm behind the back of the hand and ~30 mm behind the palm side
PALM_SURFACE_OFFSET_MM: Final = 15.0


def _check(keypoints_px: np.ndarray, pose_rel_mm: np.ndarray) -> None:
    if keypoints_px.shape != (NUM_JOINTS, 2):
        raise InputError(f"keypoints_px of shape (21, 2) expected, got {keypoints_px.shape}")
    if pose_rel_mm.shape != (NUM_JOINTS, 3):
        raise InputError(f"pose_rel_mm of shape (21, 3) expected, got {pose_rel_mm.shape}")


def _normalised_coords(keypoints_px: np.ndarray, camera: CameraIntrinsics) -> np.ndarray:
    """(21, 2) pinhole image-plane coordinates (x/z, y/z) of distorted keypoints px."""
    undistorted = camera.undistort_points(keypoints_px)
    k = camera.K
    y = (undistorted[:, 1] - k[1, 2]) / k[1, 1]
    x = (undistorted[:, 0] - k[0, 2] - k[0, 1] * y) / k[0, 0]
    return np.stack([x, y], axis=1)


def solve_translation(
    keypoints_px: np.ndarray,
    pose_rel_mm: np.ndarray,
    camera: CameraIntrinsics,
    iterations: int = 3,
    weights: np.ndarray = DEFAULT_JOINT_WEIGHTS,
) -> np.ndarray:
    """Camera-space root translation (3,) mm that best projects ``pose_rel_mm + t`` onto ``keypoints_px``.

    Args:
        keypoints_px: (21, 2) observed 2D joints in frame px (distorted, as the camera sees them).
        pose_rel_mm: (21, 3) root-relative joints in mm, camera orientation (mirrored back for left hands).
        camera: intrinsics of the frame.
        iterations: Gauss-Newton steps on the pixel reprojection error after the linear solution.
        weights: (21,) per-joint weights of the least squares (default: palm 1, fingers 0.1).
    """
    keypoints_px = np.asarray(keypoints_px, dtype=np.float64)
    pose = np.asarray(pose_rel_mm, dtype=np.float64)
    _check(keypoints_px, pose)
    xy = _normalised_coords(keypoints_px, camera)
    ones, zeros = np.ones(NUM_JOINTS), np.zeros(NUM_JOINTS)
    w = np.sqrt(np.concatenate([weights, weights]))
    a = np.concatenate([np.stack([ones, zeros, -xy[:, 0]], 1), np.stack([zeros, ones, -xy[:, 1]], 1)])
    b = np.concatenate([xy[:, 0] * pose[:, 2] - pose[:, 0], xy[:, 1] * pose[:, 2] - pose[:, 1]])
    t = np.linalg.lstsq(a * w[:, None], b * w, rcond=None)[0]
    w_joint = np.sqrt(np.asarray(weights, dtype=np.float64))[:, None, None]
    focal = np.array([camera.fx, camera.fy])
    for _ in range(iterations):
        p = pose + t
        z = np.maximum(p[:, 2], 1.0)
        residual = (p[:, :2] / z[:, None] - xy) * focal  # (21, 2) px
        jac = np.zeros((NUM_JOINTS, 2, 3))
        jac[:, 0, 0] = focal[0] / z
        jac[:, 1, 1] = focal[1] / z
        jac[:, :, 2] = -p[:, :2] * focal / (z * z)[:, None]
        weighted_jac = (jac * w_joint).reshape(-1, 3)
        step = np.linalg.lstsq(weighted_jac, -(residual * w_joint[:, :, 0]).reshape(-1), rcond=None)[0]
        t = t + step
    return t


def palm_depth_mm(depth_mm: np.ndarray, keypoints_px: np.ndarray, radius_px: int = 3) -> float | None:
    """Median of the valid (> 0) depth readings in a (2r+1)^2 window at the palm (mid wrist-middle MCP).

    Returns None when the window is outside the image or holds no reading.
    """
    if depth_mm.ndim != 2:
        raise InputError(f"depth image (H, W) in mm expected, got {depth_mm.shape}")
    u, v = np.rint(0.5 * (keypoints_px[0] + keypoints_px[9])).astype(int)
    height, width = depth_mm.shape
    rows = slice(max(v - radius_px, 0), min(v + radius_px + 1, height))
    cols = slice(max(u - radius_px, 0), min(u + radius_px + 1, width))
    window = depth_mm[rows, cols]
    valid = window[window > 0]
    return float(np.median(valid)) if valid.size else None


def translation_from_depth(
    keypoints_px: np.ndarray,
    pose_rel_mm: np.ndarray,
    camera: CameraIntrinsics,
    depth_mm: np.ndarray,
    surface_offset_mm: float = PALM_SURFACE_OFFSET_MM,
) -> np.ndarray | None:
    """Root translation (3,) mm with its depth read from ``depth_mm`` (H, W) at the palm; None without a reading.

    The palm point (mid wrist-middle MCP) of ``pose_rel_mm + t`` is put ``surface_offset_mm`` behind the
    measured skin depth; ``t_x, t_y`` are the least-squares solution of the pinhole equations given ``t_z``.
    """
    keypoints_px = np.asarray(keypoints_px, dtype=np.float64)
    pose = np.asarray(pose_rel_mm, dtype=np.float64)
    _check(keypoints_px, pose)
    if depth_mm.shape != (camera.height, camera.width):
        raise InputError(
            f"depth image of the camera's size {(camera.height, camera.width)} expected, got {depth_mm.shape}"
        )
    depth = palm_depth_mm(depth_mm, keypoints_px)
    if depth is None:
        return None
    tz = depth + surface_offset_mm - 0.5 * (pose[0, 2] + pose[9, 2])
    xy = _normalised_coords(keypoints_px, camera)
    tx = float(np.mean(xy[:, 0] * (pose[:, 2] + tz) - pose[:, 0]))
    ty = float(np.mean(xy[:, 1] * (pose[:, 2] + tz) - pose[:, 1]))
    return np.array([tx, ty, tz])
