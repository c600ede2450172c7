"""Small orthographic pictures of a normalised 3D pose, to judge depth that a 2D overlay hides."""

from __future__ import annotations

import cv2
import numpy as np

from handpose.errors import InputError
from handpose.viz.draw import draw_skeleton


def pose_view(joints_norm: np.ndarray, yaw_deg: float, size: int = 160,
              background_rgb: tuple[int, int, int] = (24, 24, 24)) -> np.ndarray:
    """(size, size, 3) uint8 RGB picture of a (21, 3) normalised pose turned by ``yaw_deg`` about
    the camera's vertical axis (0 = as the camera sees it, 90 = from the hand's right side)."""
    joints = np.asarray(joints_norm, np.float64)
    if joints.shape != (21, 3):
        raise InputError(f"joints_norm of shape (21, 3) expected, got {joints.shape}")
    a = np.radians(yaw_deg)
    rot = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    centred = (joints - joints.mean(axis=0)) @ rot.T
    extent = max(float(np.abs(centred[:, :2]).max()), 1e-6)
    points = centred[:, :2] / extent * (0.42 * size) + size / 2.0
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = background_rgb
    out = draw_skeleton(canvas, points, thickness=2, radius=3, in_place=True)
    cv2.putText(out, f"{yaw_deg:+.0f} deg", (4, size - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 200, 200), 1,
                cv2.LINE_AA)
    return out
