"""How the thumb's and fingers' joints bend: the angle between the bone into a joint and the bone
out of it, for the 15 joints that bend (thumb CMC, MCP, IP; each finger's MCP, PIP, DIP).

The angle is 0 for a straight joint and pi/2 for a right angle; it does not depend on the pose's
rotation, position, scale or handedness (a mirror image bends alike), so a pose estimate's bends
can be compared with a teacher's world landmarks as they are. Used by the training term that bends
each joint as the teacher does (``handpose.train.losses.joint_bend_error``) and by the real-photo
evaluation's count of fingers bent otherwise than the teacher's (``handpose.eval.real_eval``).
"""

from __future__ import annotations

from typing import Final

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


def finger_bend_differences(pose: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N, 21, 3) x2 -> (N, 5): per finger (thumb first), the sum over its three joints of
    |bend in ``pose`` - bend in ``target``| (radians). A finger folded at one joint by a right angle
    in one pose and straight in the other differs by pi/2."""
    diff = (bend_angles(pose) - bend_angles(target)).abs()
    return diff.reshape(-1, 5, 3).sum(-1)
