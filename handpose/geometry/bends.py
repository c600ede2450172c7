"""How the thumb and fingers bend, joint by joint and as a whole.

* :func:`bend_angles`: the angle between the bone into a joint and the bone out of it, for the 15
  joints that bend (thumb CMC, MCP, IP; each finger's MCP, PIP, DIP), in torch; the training term
  that bends each joint as the teacher does (``handpose.train.losses.joint_bend_error``).
* :func:`finger_folds`: how far each finger is folded as a whole, in NumPy; the real-photo
  evaluation's count of fingers folded otherwise than the teacher's (``handpose.eval.real_eval``).

Both are 0 for a straight finger and do not depend on the pose's rotation, position, scale or
handedness (a mirror image bends alike), so a pose estimate can be compared with a teacher's world
landmarks as they are.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import torch

from handpose import skeleton

#: (bone into, bone out of) each of the 15 thumb and finger joints that bend, as indices into
#: ``skeleton.BONES``, in joint order (thumb CMC, MCP, IP, then index MCP ... pinky DIP)
BEND_PAIRS: Final = tuple((i, k) for i, (_, c) in enumerate(skeleton.BONES)
                          for k, (p, _) in enumerate(skeleton.BONES) if p == c)


def bend_angles(joints: torch.Tensor) -> torch.Tensor:
    """(N, 21, 3) poses, any frame and unit -> (N, 15) bend of each joint (radians, 0 = straight),
    in :data:`BEND_PAIRS` order; differentiable (a tiny floor keeps a straight joint's gradient
    finite)."""
    into, out = (torch.tensor(ix, device=joints.device) for ix in zip(*BEND_PAIRS))
    parents, children = (torch.tensor(ix, device=joints.device) for ix in zip(*skeleton.BONES))
    bones = joints[:, children] - joints[:, parents]  # (N, 20, 3)
    a, b = bones[:, into], bones[:, out]
    cross = (torch.linalg.cross(a, b).pow(2).sum(-1) + 1e-12).sqrt()
    return torch.atan2(cross, (a * b).sum(-1))


#: (knuckle, tip) of each finger, thumb first: a finger's fold is measured from the wrist -> knuckle
#: direction to the knuckle -> tip one (the thumb's knuckle is its MCP)
FINGER_KNUCKLE_TIP: Final = ((2, 4), (5, 8), (9, 12), (13, 16), (17, 20))


def finger_folds(joints: np.ndarray) -> np.ndarray:
    """(..., 21, 3) poses, any frame and unit -> (..., 5) how far each finger (thumb first) is
    folded as a whole: the angle (radians) between the wrist -> knuckle direction and the knuckle ->
    tip direction; about 0 for a straight finger, pi/2 and more for one folded into the palm. It
    does not depend on how the fold is shared among the finger's joints (teachers differ there),
    nor on the pose's rotation, position, scale or handedness."""
    joints = np.asarray(joints, np.float64)
    knuckle, tip = (list(ix) for ix in zip(*FINGER_KNUCKLE_TIP))
    a = joints[..., knuckle, :] - joints[..., :1, :]
    b = joints[..., tip, :] - joints[..., knuckle, :]
    cos = (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)
    return np.arccos(np.clip(cos, -1.0, 1.0))
