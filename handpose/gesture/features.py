"""The gesture classifier's input: the hand's shape, free of its rotation, plus which way it points
in the image, from any 3D hand pose whose axes are the image's (x right, y down, z away).

The same function takes our ``HandPose.joints_norm`` / ``joints_cam_mm`` and MediaPipe's world
landmarks (metres or mm, origin anywhere: the pose is normalised here), so the two are judged
through one classifier. Per hand (``NUM_FEATURES`` float32 values):

* shape (60): joints 1..20 in the hand frame (``handpose.data.convention.hand_frame``: origin at
  the wrist, y to the middle MCP, z the palm normal), in middle MCP->PIP bones;
* orientation (9): the hand frame's three axes in camera coordinates;
* finger directions (15): unit vector from each finger's base (thumb MCP, finger MCPs) to its tip,
  in camera coordinates (thumb up or down, pointing up);
* tip gaps (4): distance from the thumb tip to each other finger's tip, in bones (ok, pinch).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from handpose import skeleton
from handpose.data.convention import hand_frame

NUM_FEATURES: Final = 60 + 9 + 15 + 4
_BASES: Final = np.array([2, 5, 9, 13, 17])
_TIPS: Final = np.array([4, 8, 12, 16, 20])


def pose_features(joints: np.ndarray, is_left: bool | np.ndarray = False) -> np.ndarray:
    """(..., NUM_FEATURES) float32 features of poses (..., 21, 3) (see the module docstring);
    ``is_left``: the hand looks like a left hand (mirrored into a right hand first; already-normalised
    poses such as ``HandPose.joints_norm`` are right hands). :class:`InputError` for non-finite or
    degenerate poses."""
    norm = skeleton.normalize(joints, is_left)[0].astype(np.float64)
    frame = hand_frame(norm)  # (..., 3, 3), columns = axes
    local = norm[..., 1:, :] @ frame  # (..., 20, 3)
    directions = norm[..., _TIPS, :] - norm[..., _BASES, :]
    directions = directions / np.maximum(np.linalg.norm(directions, axis=-1, keepdims=True), 1e-9)
    gaps = np.linalg.norm(norm[..., _TIPS[1:], :] - norm[..., 4:5, :], axis=-1)
    batch = norm.shape[:-2]
    parts = [local.reshape(batch + (60,)), np.swapaxes(frame, -1, -2).reshape(batch + (9,)),
             directions.reshape(batch + (15,)), gaps]
    return np.concatenate(parts, axis=-1).astype(np.float32)
