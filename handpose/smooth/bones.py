"""Bone lengths that stay constant along a track.

A hand's bones do not change length from frame to frame, but a per-frame pose estimate's do
(foreshortening is ambiguous in one image), and filtering joints one by one keeps that wobble. So
the offline smoother (:mod:`handpose.smooth.offline`) takes a track's bone lengths once - their
median over the whole track - and rebuilds every pose along the kinematic tree
(:data:`handpose.skeleton.PARENTS`, parents before children), keeping each bone's direction and
giving it the track's length. On the sample clip that lowers EPE (right hand 18.0 -> 16.6 mm, left
17.2 -> 16.4) and the pose's jitter. Live, with the track's first frames' lengths, it did not
measure better (right hand 18.4 -> 20.8 mm), so live poses are not rebuilt (docs/steady_3d.md).
Works on any unit (normalised poses or mm), any root position.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from handpose.errors import InputError
from handpose.skeleton import BONES, NUM_JOINTS


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(..., 21, 3) joints -> (..., 20) lengths of :data:`handpose.skeleton.BONES`, in their order."""
    parents, children = np.array(BONES).T
    return np.linalg.norm(joints[..., children, :] - joints[..., parents, :], axis=-1)


def _paths() -> np.ndarray:
    """(21, 20) 0/1: entry (j, b) is 1 when bone b of :data:`BONES` lies on the path from the root to joint j."""
    paths = np.zeros((NUM_JOINTS, len(BONES)))
    for b, (parent, child) in enumerate(BONES):  # BONES is ordered parents first
        paths[child] = paths[parent]
        paths[child, b] = 1.0
    return paths


#: which bones lead from the root to each joint
PATHS: Final = _paths()


def with_bone_lengths(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(..., 21, 3) joints rebuilt from their root with each bone's direction and ``lengths``
    (..., 20) (broadcast); a zero-length bone keeps its child on its parent. Each joint is the root
    plus the bones on its path, each its direction times its length."""
    joints = np.asarray(joints, np.float64)
    if joints.shape[-2:] != (NUM_JOINTS, 3):
        raise InputError(f"joints (..., 21, 3) expected, got {joints.shape}")
    parents, children = np.array(BONES).T
    d = joints[..., children, :] - joints[..., parents, :]
    norm = np.linalg.norm(d, axis=-1, keepdims=True)
    unit = np.divide(d, norm, out=np.zeros_like(d), where=norm > 0)
    lengths = np.broadcast_to(lengths, joints.shape[:-2] + (len(BONES),))
    return joints[..., :1, :] + np.einsum("jb,...bk->...jk", PATHS, unit * lengths[..., None])
