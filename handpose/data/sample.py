"""One labelled sample type for every data source (synthetic renders, RHD, STB, FreiHAND, pose-only).

Conventions: 3D in millimetres in the camera frame (x right, y down, z forward); 2D in pixels;
joints in our order (``handpose.skeleton``); images RGB uint8. Left hands are stored as they are
(not mirrored); the crop (``crop_rgb``, ``keypoints_crop_px``) is already mirrored for left hands
because the crop transform includes the flip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handpose import skeleton
from handpose.geometry.crop import CropTransform
from handpose.errors import InputError
from handpose.geometry.view_frame import to_view, view_rotation


@dataclass(frozen=True)
class HandSample:
    """A labelled hand.

    Attributes:
        joints_cam_mm: (21, 3) float32 3D joints, camera frame, mm. For a negative sample
            (no hand in the crop) any finite values; they are not used.
        is_left: the hand is a left hand.
        crop_rgb: (S, S, 3) uint8 RGB crop (mirrored for left hands), or None for pose-only data.
        keypoints_crop_px: (21, 2) float32 2D joints in crop px, or None.
        keypoints_px: (21, 2) float32 2D joints in the original image px, or None.
        intrinsics: (3, 3) float64 camera matrix of the original image, or None.
        visible: (21,) bool per-joint visibility (all True when the source does not say).
        crop: the frame -> crop transform, or None.
        present: False for a negative crop that shows no hand.
        exact_3d: ``joints_cam_mm`` is an exact camera-frame label (renders, public datasets).
            False for real photos labelled by a teacher (:mod:`handpose.data.real.pseudo_label`): their
            ``joints_cam_mm`` is NaN and not used; the 2D keypoints and ``world_mm`` are the labels.
        world_mm: (21, 3) float32 teacher 3D shape in mm (MediaPipe's world landmarks, hand-centred,
            in the image's orientation as the teacher saw it; only its shape up to a rotation is
            trusted), or None. Never mirrored: a left hand's ``world_mm`` is a left hand.
    """

    joints_cam_mm: np.ndarray
    is_left: bool = False
    crop_rgb: np.ndarray | None = None
    keypoints_crop_px: np.ndarray | None = None
    keypoints_px: np.ndarray | None = None
    intrinsics: np.ndarray | None = None
    visible: np.ndarray | None = None
    crop: CropTransform | None = None
    present: bool = True
    exact_3d: bool = True
    world_mm: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.joints_cam_mm.shape != (skeleton.NUM_JOINTS, 3):
            raise InputError(f"joints_cam_mm of shape (21, 3) expected, got {self.joints_cam_mm.shape}")
        if self.present and self.exact_3d and not np.all(np.isfinite(self.joints_cam_mm)):
            raise InputError("joints_cam_mm contains NaN or inf")
        if self.world_mm is not None and (self.world_mm.shape != (skeleton.NUM_JOINTS, 3)
                                          or not np.all(np.isfinite(self.world_mm))):
            raise InputError(f"world_mm: finite (21, 3) expected, got {self.world_mm.shape}")
        if self.crop_rgb is not None and (self.crop_rgb.ndim != 3 or self.crop_rgb.shape[2] != 3
                                          or self.crop_rgb.dtype != np.uint8):
            raise InputError(f"crop_rgb (S, S, 3) uint8 expected, got {self.crop_rgb.shape} {self.crop_rgb.dtype}")
        for name in ("keypoints_crop_px", "keypoints_px"):
            value = getattr(self, name)
            if value is not None and value.shape != (skeleton.NUM_JOINTS, 2):
                raise InputError(f"{name} of shape (21, 2) expected, got {value.shape}")

    @property
    def joints_norm(self) -> np.ndarray:
        """(21, 3) float32 normalised pose in the right-hand frame (``skeleton.normalize``)."""
        return skeleton.normalize(self.joints_cam_mm, self.is_left)[0]

    @property
    def joints_view_norm(self) -> np.ndarray:
        """(21, 3) float32 normalised pose in the crop's view frame (``handpose.geometry.view_frame``): what
        the model is trained to predict."""
        return to_view(self.joints_norm, view_rotation(self.crop, self.intrinsics)).astype(np.float32)

    @property
    def teacher_norm(self) -> np.ndarray | None:
        """(21, 3) float32 the teacher's 3D shape normalised like :attr:`joints_norm` (right-hand
        frame, unit = middle MCP->PIP), in the teacher's orientation; None without ``world_mm``."""
        return None if self.world_mm is None else skeleton.normalize(self.world_mm, self.is_left)[0]

    @property
    def visibility(self) -> np.ndarray:
        """(21,) bool, all True when the source gives no visibility."""
        return np.ones(skeleton.NUM_JOINTS, bool) if self.visible is None else self.visible
