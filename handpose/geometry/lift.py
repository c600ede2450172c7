"""Metric 3D: place a normalised hand pose in the camera frame (mm).

The model gives a normalised pose (root-relative, unit = middle MCP->PIP bone, camera-aligned
orientation, right-hand frame) and 2D keypoints. Scaling the pose by a hand size (the length of
the middle MCP->PIP bone in mm) gives the root-relative joints ``P_j`` in mm; what is missing is
the camera-space translation ``t`` of the root (the wrist, joint 0). Two ways to get it:

* :func:`solve_translation` - from the 2D keypoints: a linear least-squares solution of the
  pinhole equations ``x_j (Z_j + t_z) = X_j + t_x``, ``y_j (Z_j + t_z) = Y_j + t_y`` in normalised
  image coordinates, refined by a few Gauss-Newton steps on the reprojection error in pixels.
  Exact for exact data; the depth scales with the assumed hand size.
* :func:`translation_from_depth` - from a depth image aligned to the colour frame: the robust
  depth of the palm (:func:`palm_depth_mm`: inside the palm only, holes and outliers rejected)
  fixes ``t_z``; ``t_x``, ``t_y`` then follow from the 2D keypoints by least squares.

Camera frame: x right, y down, z forward (OpenCV); pixels in OpenCV convention.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from handpose.geometry.camera import CameraIntrinsics
from handpose.errors import InputError
from handpose.skeleton import NUM_JOINTS

#: the default hand size: middle-finger MCP->PIP length (mm) of the project's rigged hand (an adult
#: hand) between the points the model outputs, MediaPipe's knuckle and PIP marks
#: (:mod:`handpose.data.convention`); between the rig's joint centres the same bone is 46.9 mm
DEFAULT_HAND_SIZE_MM: Final = 41.0
#: the palm's joints (wrist, thumb CMC, finger MCPs) are rigid and rarely occluded; finger joints of a
#: curled or occluded hand are where 2D detectors err most (MediaPipe on renders: up to 120 px at the
#: tips of a fist, against ~10 px at the palm), so the translation trusts the palm most
PALM_JOINTS: Final = (0, 1, 5, 9, 13, 17)
FINGER_WEIGHT: Final = 0.1
DEFAULT_JOINT_WEIGHTS: Final = np.array([1.0 if j in PALM_JOINTS else FINGER_WEIGHT for j in range(NUM_JOINTS)])
#: depth cameras see the skin; the palm joints lie about this far behind it (mm): on the rendered
#: rig ~5 mm behind the back of the hand and ~30 mm behind the palm side
PALM_SURFACE_OFFSET_MM: Final = 15.0


#: the bones whose length a pose estimate gets most reliably (wrist -> thumb CMC and finger MCPs, the
#: fingers' MCP -> PIP); the distal bones vary most between annotation conventions (MediaPipe's tips
#: sit further out than the rig's: the model's DIP -> tip bones come out 1.3-1.7x the rig's)
STABLE_BONES: Final = ((0, 1), (0, 5), (0, 9), (0, 13), (0, 17), (5, 6), (9, 10), (13, 14), (17, 18))
#: those bones' lengths in units of the middle MCP -> PIP bone, on the rigged hand at the points the
#: model outputs (tests/test_lift.py recomputes them)
STABLE_BONE_RATIOS: Final = np.array([0.838, 1.878, 1.85, 1.742, 1.667, 0.96, 1.0, 0.948, 0.757])


def pose_scale(pose: np.ndarray) -> float:
    """How big a normalised pose (21, 3) is, in units of a hand whose middle MCP -> PIP bone is 1:
    the median over :data:`STABLE_BONES` of each bone's length against the rigged hand's
    (:data:`STABLE_BONE_RATIOS`). A pose estimate's one MCP -> PIP bone can be off by several per
    cent while the palm is right (on the sample clip the model's palm bones are 3-11% longer than
    its MCP -> PIP implies, putting the hand 10-12% too far), so the metric size of a pose is
    ``hand_size_mm / pose_scale(pose)`` per normalised unit, not ``hand_size_mm``."""
    pose = np.asarray(pose, np.float64)
    parents, children = np.array(STABLE_BONES).T
    lengths = np.linalg.norm(pose[children] - pose[parents], axis=-1)
    return float(np.median(lengths / STABLE_BONE_RATIOS))


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


#: the palm polygon (wrist and finger MCPs) whose depth readings count, shrunk towards its centre by
#: this factor so that finger edges and the hand's outline (where readings mix hand and background)
#: stay out
PALM_POLYGON: Final = (0, 5, 9, 13, 17)
PALM_SHRINK: Final = 0.6
#: fewer valid readings than this in the palm: no depth for this frame
MIN_DEPTH_READINGS: Final = 5
#: readings further than this many robust standard deviations (1.4826 MAD, at least
#: :data:`MIN_SPREAD_MM`) from the palm's median are rejected: a finger in front, background behind
OUTLIER_SIGMAS: Final = 3.0
MIN_SPREAD_MM: Final = 5.0


def palm_depth_mm(depth_mm: np.ndarray, keypoints_px: np.ndarray) -> float | None:
    """Robust depth (mm) of the palm's skin from a depth image (H, W) in mm (0 = no reading).

    The readings inside the palm polygon (:data:`PALM_POLYGON`, shrunk by :data:`PALM_SHRINK`),
    holes dropped, outliers dropped (:data:`OUTLIER_SIGMAS`); the median of the rest. None when
    fewer than :data:`MIN_DEPTH_READINGS` remain (palm outside the image, all holes).
    """
    if depth_mm.ndim != 2:
        raise InputError(f"depth image (H, W) in mm expected, got {depth_mm.shape}")
    import cv2

    corners = np.asarray(keypoints_px, np.float64)[list(PALM_POLYGON)]
    centre = corners.mean(axis=0)
    polygon = centre + PALM_SHRINK * (corners - centre)
    height, width = depth_mm.shape
    x0, y0 = np.floor(polygon.min(axis=0)).astype(int)
    x1, y1 = np.ceil(polygon.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 <= x0 or y1 <= y0:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    hull = cv2.convexHull(np.rint(polygon - [x0, y0]).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1)
    window = depth_mm[y0:y1, x0:x1][mask.astype(bool)].astype(np.float64)
    valid = window[window > 0]
    if valid.size < MIN_DEPTH_READINGS:
        return None
    median = float(np.median(valid))
    spread = max(1.4826 * float(np.median(np.abs(valid - median))), MIN_SPREAD_MM)
    inliers = valid[np.abs(valid - median) <= OUTLIER_SIGMAS * spread]
    return float(np.median(inliers)) if inliers.size >= MIN_DEPTH_READINGS else None


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
