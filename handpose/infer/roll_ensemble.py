"""Test-time roll ensemble: each hand is seen in crops turned by a few angles about the crop's
centre; the answers are turned back and averaged.

A crop turned by an angle on screen shows the hand as a camera rolled about the ray through the
crop's centre would (the geometry training augmentation uses, :mod:`handpose.data.augment`). In
the model's frame (right-hand frame: x mirrored for left hands, whose crops are mirrored) the pose
predicted for a crop turned by ``a`` is the hand's pose turned by ``a`` about that ray, with the
ray's x mirrored too for mirrored crops. Turning each answer back by ``-a`` and averaging gives
one pose per hand; the 2D joints go back through the inverse of each turn and are averaged in
the unturned crop; presence is averaged.

Batches are hand-major: row ``n * A + a`` holds hand ``n`` at angle ``a`` of ``A``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from handpose.data.rig import axis_angle_matrices
from handpose.detect.crop import CropTransform, similarity_about_centre
from handpose.errors import InputError
from handpose.infer.backend import ModelOutputs


#: the pipeline's and the evaluation's default turns (degrees)
DEFAULT_ROLL_ANGLES_DEG: tuple[float, ...] = (0.0,)


def model_frame_ray(transform: CropTransform | None, intrinsics: np.ndarray | None) -> np.ndarray:
    """Unit ray (3,) through the centre of the crop ``transform``, in the model's frame (x
    mirrored for a mirrored crop); ``intrinsics`` (3, 3) is the frame's camera matrix. Without
    either, the optical axis (0, 0, 1)."""
    if transform is None or intrinsics is None:
        return np.array([0.0, 0.0, 1.0])
    ray = transform.centre_ray(intrinsics)
    if transform.mirrored:
        ray[0] = -ray[0]
    return ray


@dataclass(frozen=True)
class RollEnsemble:
    """The angles (degrees, clockwise on screen) each crop is seen at; ``(0.0,)`` = one plain crop.

    Attributes:
        angles_deg: the turns, each within +-90 degrees (default: :data:`DEFAULT_ROLL_ANGLES_DEG`).
    """

    angles_deg: tuple[float, ...] = DEFAULT_ROLL_ANGLES_DEG

    def __post_init__(self) -> None:
        angles = np.asarray(self.angles_deg, np.float64)
        if angles.ndim != 1 or len(angles) == 0 or not np.all(np.abs(angles) <= 90.0):
            raise InputError(f"one or more roll angles within +-90 degrees expected, got {self.angles_deg}")

    @property
    def plain(self) -> bool:
        """True when each hand is seen once, unturned (no ensemble)."""
        return self.angles_deg == (0.0,)

    @property
    def count(self) -> int:
        """Crops per hand."""
        return len(self.angles_deg)

    def transforms(self, base: CropTransform) -> list[CropTransform]:
        """The crop transforms of one hand, one per angle, from its plain crop ``base``."""
        if self.plain:
            return [base]  # the per-frame default: no composition
        return [base.rolled(np.deg2rad(a)) for a in self.angles_deg]

    def turn_crops(self, crops_rgb: np.ndarray) -> np.ndarray:
        """Stored crops (N, S, S, 3) uint8 -> (N * A, S, S, 3), hand-major, borders reflected.

        For crops that exist only as images (a dataset's); a pipeline cuts each turned crop from
        the frame instead (:meth:`transforms`)."""
        if crops_rgb.ndim != 4 or crops_rgb.shape[-1] != 3 or crops_rgb.shape[1] != crops_rgb.shape[2]:
            raise InputError(f"crops (N, S, S, 3) expected, got {crops_rgb.shape}")
        size = crops_rgb.shape[1]
        warps = [similarity_about_centre(size, np.deg2rad(a)) for a in self.angles_deg]
        return np.stack([cv2.warpAffine(crop, w, (size, size), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REFLECT_101)
                         for crop in crops_rgb for w in warps])

    def unturn_poses(self, poses: np.ndarray, rays: np.ndarray) -> np.ndarray:
        """Poses (N * A, 21, 3) of the turned crops, model-frame rays (N, 3) of the hands ->
        their averaged pose (N, 21, 3) in the unturned view."""
        n = len(rays)
        poses = np.asarray(poses, np.float64).reshape(n, self.count, -1, 3)
        angles = -np.deg2rad(np.asarray(self.angles_deg))
        back = axis_angle_matrices(np.asarray(rays, np.float64)[:, None, :] * angles[None, :, None])  # (N, A, 3, 3)
        return np.einsum("naij,nakj->naki", back, poses).mean(axis=1)

    def unturn_keypoints(self, keypoints_crop_px: np.ndarray, size: int) -> np.ndarray:
        """2D joints (N * A, 21, 2) in the turned crops -> (N, 21, 2) averaged in the unturned crop."""
        kp = np.asarray(keypoints_crop_px, np.float64).reshape(-1, self.count, keypoints_crop_px.shape[-2], 2)
        inverse = np.stack([cv2.invertAffineTransform(similarity_about_centre(size, np.deg2rad(a)))
                            for a in self.angles_deg])  # (A, 2, 3)
        back = np.einsum("aij,nakj->naki", inverse[:, :, :2], kp) + inverse[None, :, None, :, 2]
        return back.mean(axis=1)

    def combine(self, outputs: ModelOutputs, rays: np.ndarray, size: int) -> ModelOutputs:
        """A backend's outputs for N * A turned crops -> one :class:`ModelOutputs` for the N hands."""
        n = len(rays)
        if len(outputs.presence) != n * self.count:
            raise InputError(f"{n} hands x {self.count} angles = {n * self.count} outputs expected, "
                             f"got {len(outputs.presence)}")
        return ModelOutputs(
            pose_norm=self.unturn_poses(outputs.pose_norm, rays).astype(np.float32),
            keypoints_crop_px=self.unturn_keypoints(outputs.keypoints_crop_px, size).astype(np.float32),
            presence=np.asarray(outputs.presence, np.float64).reshape(n, self.count).mean(axis=1).astype(np.float32),
        )
