"""A hand pose whose image-plane coordinates are taken from the 2D keypoints.

The pose model gives two views of a hand: 2D keypoints from its heatmaps (stride 4, the more
accurate of the two on real photos) and a normalised 3D pose through the pose VAE's decoder,
which pulls rare finger configurations (a narrow V, a half-folded thumb) towards the poses it
knows. Seen from the camera, a pose's x and y are its 2D keypoints up to a scale (weak
perspective); only z, depth, is what the 2D keypoints cannot say. :func:`image_plane_pose`
therefore keeps the 3D pose's z and replaces x, y by the 2D keypoints, scaled to the pose by the
palm (wrist, thumb CMC, finger MCPs: rigid, seldom hidden), so that both views vote where each is
strong. The same function takes MediaPipe's 2D landmarks and world landmarks, so the two pose
sources still go through one gesture classifier alike.

Axes are the image's (x right, y down); pixels in OpenCV convention.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from handpose import skeleton
from handpose.errors import InputError

#: joints that fix the scale between the 2D keypoints and the pose: wrist, thumb CMC, finger MCPs
PALM: Final = np.array([0, 1, 5, 9, 13, 17])


def image_plane_pose(joints_norm: np.ndarray, keypoints_px: np.ndarray,
                     is_left: bool | np.ndarray = False) -> np.ndarray:
    """(..., 21, 3) float64 right-hand pose, wrist at the origin, with x, y from ``keypoints_px``
    (..., 21, 2) and z from ``joints_norm`` (..., 21, 3).

    ``joints_norm``: a normalised right-hand pose (``handpose.skeleton.normalize``: left hands
    already mirrored), such as ``HandPose.joints_norm``; ``keypoints_px``: the same hand as the image
    shows it; ``is_left``: it looks like a left hand (its keypoints are mirrored as its pose was).
    The keypoints, relative to the wrist, are scaled by the least-squares fit of their palm to the
    pose's palm in x, y. :class:`InputError` for mismatched shapes, non-finite values or a palm of
    no extent in the image."""
    pose = np.asarray(joints_norm, np.float64)
    keypoints = np.asarray(keypoints_px, np.float64)
    if pose.ndim < 2 or pose.shape[-2:] != (skeleton.NUM_JOINTS, 3) or keypoints.shape != pose.shape[:-1] + (2,):
        raise InputError(f"poses (..., 21, 3) with keypoints (..., 21, 2) px of the same hands expected, got "
                         f"{pose.shape} and {keypoints.shape}")
    if not (np.all(np.isfinite(pose)) and np.all(np.isfinite(keypoints))):
        raise InputError("poses or keypoints contain NaN or inf; finite values expected")
    pose = pose - pose[..., :1, :]
    flat = keypoints - keypoints[..., :1, :]
    left = np.asarray(is_left, dtype=bool)
    flat[..., 0] = np.where(left[..., None], -flat[..., 0], flat[..., 0])
    palm_2d, palm_3d = flat[..., PALM, :], pose[..., PALM, :2]
    spread = np.sum(palm_2d * palm_2d, axis=(-1, -2))
    if np.any(spread <= 1e-9):
        raise InputError("the palm's keypoints coincide; a hand of some extent in the image expected")
    scale = np.sum(palm_2d * palm_3d, axis=(-1, -2)) / spread
    return np.concatenate([flat * scale[..., None, None], pose[..., 2:]], axis=-1)
