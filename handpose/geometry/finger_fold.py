"""How far each finger is folded as a whole, for comparing a pose estimate's fingers with a
teacher's (the real-photo evaluation's ``fingers_off``, ``handpose.eval.real_eval``).

A finger's fold does not depend on how it is shared among the finger's joints (teachers differ
there: MediaPipe's world landmarks bend some videos' MCP and DIP joints steadily more than our
poses, with the finger no more folded), nor on the pose's rotation, position, scale or handedness
(a mirror image folds alike), so a pose estimate and a teacher's world landmarks are compared as
they are.
"""

from __future__ import annotations

from typing import Final

import numpy as np

#: (knuckle, tip) of each finger, thumb first: a finger's fold is measured from the wrist -> knuckle
#: direction to the knuckle -> tip one (the thumb's knuckle is its MCP)
FINGER_KNUCKLE_TIP: Final = ((2, 4), (5, 8), (9, 12), (13, 16), (17, 20))


def finger_folds(joints: np.ndarray) -> np.ndarray:
    """(..., 21, 3) poses, any frame and unit -> (..., 5) how far each finger (thumb first) is
    folded as a whole: the angle (radians) between the wrist -> knuckle direction and the knuckle ->
    tip direction; about 0 for a straight finger, pi/2 and more for one folded into the palm."""
    joints = np.asarray(joints, np.float64)
    knuckle, tip = (list(ix) for ix in zip(*FINGER_KNUCKLE_TIP))
    a = joints[..., knuckle, :] - joints[..., :1, :]
    b = joints[..., tip, :] - joints[..., knuckle, :]
    cos = (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)
    return np.arccos(np.clip(cos, -1.0, 1.0))
