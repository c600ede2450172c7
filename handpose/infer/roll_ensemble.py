"""Test-time roll ensemble: each hand is seen in crops turned by a few angles about the crop's
centre; the answers are brought back to one frame and averaged.

The model predicts each crop's pose in that crop's view frame (:mod:`handpose.geometry.view_frame`), which
turns with the crop; each answer goes back to the normalised camera frame through the view
rotation of the crop it came from, and the answers are averaged there. The 2D joints go back
through the inverse of each turn and are averaged in the unturned crop; presence and each joint's
visibility are averaged (a turn does not change the joint order).

Batches are hand-major: row ``n * A + a`` holds hand ``n`` at angle ``a`` of ``A``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from handpose.geometry.crop import CropTransform, similarity_about_centre
from handpose.errors import InputError
from handpose.infer.backends.base import BackendOutputs
from handpose.geometry.view_frame import from_view, view_rotation


#: the pipeline's and the evaluation's default turns (degrees)
DEFAULT_ROLL_ANGLES_DEG: tuple[float, ...] = (0.0,)


@dataclass(frozen=True)
class HandOutputs:
    """The ensemble's predictions for N hands, host float32 arrays: a backend's outputs with the
    pose brought out of the crops' view frames.

    Attributes:
        joints_norm: (N, 21, 3) normalised 3D pose (right-hand frame, unit = middle MCP->PIP bone)
            in the normalised camera frame.
        keypoints_crop_px: (N, 21, 2) 2D joints in the unturned crop's pixels.
        presence: (N,) hand-presence probability in [0, 1].
        visibility: (N, 21) probability in [0, 1] that each joint is visible.
    """

    joints_norm: np.ndarray
    keypoints_crop_px: np.ndarray
    presence: np.ndarray
    visibility: np.ndarray


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

    def view_rotations(self, base: CropTransform | None, intrinsics: np.ndarray | None, size: int) -> np.ndarray:
        """(A, 3, 3) view rotations (:func:`~handpose.geometry.view_frame.view_rotation`) of one hand's turned
        crops, from its plain crop ``base`` of a frame with camera matrix ``intrinsics``; a crop of
        side ``size`` without that geometry counts as centred on the optical axis."""
        if base is None or intrinsics is None:
            half = (size - 1) / 2.0
            base = CropTransform(matrix=np.eye(2, 3), size=size, mirrored=False)
            intrinsics = np.array([[size, 0.0, half], [0.0, size, half], [0.0, 0.0, 1.0]])
        return np.stack([view_rotation(t, intrinsics) for t in self.transforms(base)])

    def unturn_poses(self, poses: np.ndarray, rotations: np.ndarray) -> np.ndarray:
        """View-frame poses (N * A, 21, 3) of the turned crops and those crops' view rotations
        (N * A, 3, 3) -> the hands' averaged poses (N, 21, 3) in the normalised camera frame."""
        camera = from_view(poses, rotations)
        return camera.reshape(-1, self.count, *camera.shape[1:]).mean(axis=1)

    def unturn_keypoints(self, keypoints_crop_px: np.ndarray, size: int) -> np.ndarray:
        """2D joints (N * A, 21, 2) in the turned crops -> (N, 21, 2) averaged in the unturned crop."""
        kp = np.asarray(keypoints_crop_px, np.float64).reshape(-1, self.count, keypoints_crop_px.shape[-2], 2)
        inverse = np.stack([cv2.invertAffineTransform(similarity_about_centre(size, np.deg2rad(a)))
                            for a in self.angles_deg])  # (A, 2, 3)
        back = np.einsum("aij,nakj->naki", inverse[:, :, :2], kp) + inverse[None, :, None, :, 2]
        return back.mean(axis=1)

    def combine(self, outputs: BackendOutputs, rotations: np.ndarray, size: int) -> HandOutputs:
        """A backend's outputs for N * A turned crops (poses in each crop's view frame) and those
        crops' view rotations (N * A, 3, 3) -> one :class:`HandOutputs` for the N hands, poses in
        the normalised camera frame."""
        if self.plain:  # the per-frame default: only the change of frame
            return HandOutputs(from_view(outputs.joints_view_norm, rotations).astype(np.float32), outputs.keypoints_crop_px,
                               outputs.presence, outputs.visibility)
        if len(rotations) % self.count or not len(outputs.presence) == len(outputs.visibility) == len(rotations):
            raise InputError(f"one view rotation per output, for hands x {self.count} angles, expected; got "
                             f"{len(rotations)} rotations and {len(outputs.presence)} outputs")
        return HandOutputs(
            joints_norm=self.unturn_poses(outputs.joints_view_norm, rotations).astype(np.float32),
            keypoints_crop_px=self.unturn_keypoints(outputs.keypoints_crop_px, size).astype(np.float32),
            presence=self.average(outputs.presence),
            visibility=self.average(outputs.visibility),
        )

    def average(self, values: np.ndarray) -> np.ndarray:
        """Per-crop values (N * A, ...) -> (N, ...) float32, each hand's mean over its A turned crops."""
        per_crop = np.asarray(values, np.float64)
        return per_crop.reshape(-1, self.count, *per_crop.shape[1:]).mean(axis=1).astype(np.float32)
