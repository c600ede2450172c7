"""A batch of samples as tensors, the form the model and the losses take."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from handpose.data.sample import HandSample
from handpose.errors import InputError
from handpose.skeleton import NUM_JOINTS


@dataclass(frozen=True)
class HandBatch:
    """N samples as tensors.

    Attributes:
        joints_view_norm: (N, 21, 3) float32 normalised poses in each crop's view frame (zeros for negative
            samples).
        present: (N,) bool, False for crops without a hand.
        images: (N, 3, S, S) float32 RGB in [0, 1], or None for pose-only data.
        keypoints_crop_px: (N, 21, 2) float32 2D joints in crop px, or None.
        visible: (N, 21) bool per-joint visibility.
        exact_3d: (N,) bool, ``joints_view_norm`` is an exact label (False: a teacher-labelled real photo,
            whose ``joints_view_norm`` is zeros and not used). None means all True.
        teacher_pose: (N, 21, 3) float32 the teacher's normalised 3D shape, in its own orientation
            (zeros where a sample has none), or None when no sample has one.
        has_teacher: (N,) bool, ``teacher_pose`` holds a shape.
        visible_known: (N,) bool, the source labelled visibility (renders do; real photos do not).
    """

    joints_view_norm: torch.Tensor
    present: torch.Tensor
    images: torch.Tensor | None = None
    keypoints_crop_px: torch.Tensor | None = None
    visible: torch.Tensor | None = None
    exact_3d: torch.Tensor | None = None
    teacher_pose: torch.Tensor | None = None
    has_teacher: torch.Tensor | None = None
    visible_known: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.joints_view_norm.shape[0])

    def to(self, device: torch.device | str) -> HandBatch:
        moved = {k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v)
                 for k, v in self.__dict__.items()}
        return replace(self, **moved)


def images_to_tensor(crops_rgb: np.ndarray) -> torch.Tensor:
    """uint8 RGB crops (N, S, S, 3) -> float32 tensor (N, 3, S, S) in [0, 1]."""
    if crops_rgb.ndim != 4 or crops_rgb.shape[3] != 3 or crops_rgb.dtype != np.uint8:
        raise InputError(f"crops (N, S, S, 3) uint8 RGB expected, got {crops_rgb.shape} {crops_rgb.dtype}")
    return torch.from_numpy(np.ascontiguousarray(crops_rgb)).permute(0, 3, 1, 2).float().div_(255.0)


def collate(samples: Sequence[HandSample]) -> HandBatch:
    """Stack samples into a :class:`HandBatch`; images only if every sample has a crop."""
    if not samples:
        raise InputError("collate: at least one sample expected, got none")
    present = np.array([s.present for s in samples], dtype=bool)
    poses = np.zeros((len(samples), NUM_JOINTS, 3), np.float32)
    teacher = np.zeros((len(samples), NUM_JOINTS, 3), np.float32)
    for i, s in enumerate(samples):
        if s.present and s.exact_3d:
            poses[i] = s.joints_view_norm
        if s.present and s.world_mm is not None:
            teacher[i] = s.teacher_norm
    exact = np.array([s.exact_3d for s in samples], dtype=bool)
    has_teacher = np.array([s.present and s.world_mm is not None for s in samples], dtype=bool)
    known = np.array([s.visible is not None for s in samples], dtype=bool)
    with_images = all(s.crop_rgb is not None for s in samples)
    images = kp = vis = None
    if with_images:
        images = images_to_tensor(np.stack([s.crop_rgb for s in samples]))  # type: ignore[misc]
        kp = torch.from_numpy(np.stack([
            s.keypoints_crop_px if s.keypoints_crop_px is not None else np.zeros((NUM_JOINTS, 2), np.float32)
            for s in samples
        ]).astype(np.float32))
        vis = torch.from_numpy(np.stack([s.visibility for s in samples]).astype(bool))
    return HandBatch(torch.from_numpy(poses), torch.from_numpy(present), images, kp, vis, torch.from_numpy(exact),
                     torch.from_numpy(teacher) if has_teacher.any() else None, torch.from_numpy(has_teacher),
                     torch.from_numpy(known))
