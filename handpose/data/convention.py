"""One keypoint convention for every label: the points MediaPipe and human annotators mark.

The renderer's labels are the rig's joint centres (bone heads inside the finger, the wrist joint
of the rig). MediaPipe's landmarks, like the human annotations of FreiHAND or the labelled photos
the model is judged on, mark the visible wrist crease, the knuckles and the finger tips, a few
millimetres away, in directions fixed to the hand. So each joint gets one constant 3D offset in
the hand's own frame, in units of the middle finger's MCP->PIP bone; added to the rig's joints it
gives the points MediaPipe marks. The offsets are measured (:func:`fit_offsets`) from MediaPipe's
2D landmarks on renders against the renders' exact labels: over many views a 2D residual shows
every direction of the 3D offset.

The hand frame (:func:`hand_frame`), for a right hand (left hands are mirrored into one first):
origin at the wrist, y from the wrist to the middle MCP, z the palm normal
(``(index MCP - wrist) x (pinky MCP - wrist)``) made perpendicular to y, x = y x z.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from handpose import skeleton
from handpose.geometry.camera import project
from handpose.data.sample import HandSample
from handpose.errors import InputError

#: the offsets measured on renders, shipped with the package
DEFAULT_OFFSETS_FILE: Final = Path(__file__).with_name("assets") / "mediapipe_offsets.json"
FORMAT_NAME: Final = "handpose-keypoint-offsets"


def hand_frame(joints: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation whose columns are the hand frame's x, y, z axes, for right-hand joints
    (..., 21, 3) (see the module docstring)."""
    joints = np.asarray(joints, np.float64)
    wrist = joints[..., 0, :]
    y = joints[..., 9, :] - wrist
    y = y / np.linalg.norm(y, axis=-1, keepdims=True)
    z = np.cross(joints[..., 5, :] - wrist, joints[..., 17, :] - wrist)
    z = z - (z * y).sum(-1, keepdims=True) * y
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=-1)


@dataclass(frozen=True)
class KeypointOffsets:
    """Per-joint offsets from the rig's joint centres to the points MediaPipe marks.

    Attributes:
        offsets: (21, 3) float64 in the hand frame, in units of the middle MCP->PIP bone.
    """

    offsets: np.ndarray

    def __post_init__(self) -> None:
        o = np.asarray(self.offsets, np.float64)
        if o.shape != (skeleton.NUM_JOINTS, 3) or not np.all(np.isfinite(o)):
            raise InputError(f"offsets: finite (21, 3) expected, got {o.shape}")
        object.__setattr__(self, "offsets", o)

    def _delta(self, joints_right: np.ndarray) -> np.ndarray:
        scale = skeleton.bone_length(joints_right)[..., None, None]
        return scale * (self.offsets @ np.swapaxes(hand_frame(joints_right), -1, -2))

    def apply(self, joints_mm: np.ndarray, is_left: bool = False) -> np.ndarray:
        """Rig joint centres (..., 21, 3) mm -> MediaPipe's points (..., 21, 3) mm, same frame."""
        right = skeleton.mirror(joints_mm) if is_left else np.asarray(joints_mm, np.float64)
        moved = right + self._delta(right)
        return skeleton.mirror(moved) if is_left else moved

    def invert(self, points_mm: np.ndarray, is_left: bool = False, iterations: int = 20) -> np.ndarray:
        """MediaPipe's points -> rig joint centres: the inverse of :meth:`apply` (fixed-point
        iteration: the hand frame is itself made of moved points)."""
        target = skeleton.mirror(points_mm) if is_left else np.asarray(points_mm, np.float64)
        joints = target.copy()
        for _ in range(iterations):
            joints = target - self._delta(joints)
        return skeleton.mirror(joints) if is_left else joints

    def save(self, path: str | os.PathLike[str], meta: dict[str, object] | None = None) -> None:
        from handpose.io.atomic import write_text_atomic

        body = {"format": FORMAT_NAME, "joints": list(skeleton.JOINT_NAMES),
                "offsets_bone_units": np.round(self.offsets, 5).tolist(), "meta": meta or {}}
        write_text_atomic(path, json.dumps(body, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str] = DEFAULT_OFFSETS_FILE) -> KeypointOffsets:
        try:
            body = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable keypoint-offsets JSON file ({exc})") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT_NAME:
            raise InputError(f"{path}: a {FORMAT_NAME!r} file expected")
        return cls(np.array(body["offsets_bone_units"], np.float64))


def to_mediapipe_points(sample: HandSample, offsets: KeypointOffsets) -> HandSample:
    """A render's (or any exact-3D sample's) labels moved onto MediaPipe's points: 3D joints, and
    the 2D keypoints projected again through its camera and crop. Other samples come back as they are."""
    if not (sample.present and sample.exact_3d):
        return sample
    joints = offsets.apply(sample.joints_cam_mm, sample.is_left)
    kp_px, kp_crop = sample.keypoints_px, sample.keypoints_crop_px
    if sample.intrinsics is not None:
        kp_px = project(joints, sample.intrinsics).astype(np.float32)
        if sample.crop is not None:
            kp_crop = sample.crop.to_crop(kp_px).astype(np.float32)
    return dataclasses.replace(sample, joints_cam_mm=joints.astype(np.float32), keypoints_px=kp_px,
                               keypoints_crop_px=kp_crop)


def projection_jacobian(joints_mm: np.ndarray, intrinsics: np.ndarray, crop_matrix: np.ndarray) -> np.ndarray:
    """(21, 2, 3) d(crop px)/d(camera mm) of each joint of (21, 3) camera-frame joints."""
    k = np.asarray(intrinsics, np.float64)
    x, y, z = (joints_mm[:, i] for i in range(3))
    d_uv = np.zeros((len(joints_mm), 2, 3))
    d_uv[:, 0, 0] = k[0, 0] / z
    d_uv[:, 0, 1] = k[0, 1] / z
    d_uv[:, 0, 2] = -(k[0, 0] * x + k[0, 1] * y) / z**2
    d_uv[:, 1, 1] = k[1, 1] / z
    d_uv[:, 1, 2] = -k[1, 1] * y / z**2
    return np.asarray(crop_matrix, np.float64)[:, :2] @ d_uv


def fit_offsets(samples: list[HandSample], teacher_crop_px: list[np.ndarray], huber_px: float = 3.0,
                rounds: int = 3) -> tuple[KeypointOffsets, np.ndarray]:
    """Per-joint 3D offsets (hand frame, bone units) that move the samples' rig joints onto the
    teacher's 2D landmarks (each (21, 2) crop px), by robust (Huber) linear least squares on the
    projections; returns the offsets and the (N, 21) 2D residual in crop px after applying them."""
    if not samples or len(samples) != len(teacher_crop_px):
        raise InputError(f"as many teacher answers as samples expected, got {len(teacher_crop_px)} for {len(samples)}")
    rows = np.zeros((len(samples), skeleton.NUM_JOINTS, 2, 3))
    resid = np.zeros((len(samples), skeleton.NUM_JOINTS, 2))
    for n, (s, mp) in enumerate(zip(samples, teacher_crop_px)):
        if s.crop is None or s.intrinsics is None or s.keypoints_crop_px is None:
            raise InputError("fit_offsets needs samples with a crop, intrinsics and 2D keypoints")
        right = skeleton.mirror(s.joints_cam_mm) if s.is_left else np.asarray(s.joints_cam_mm, np.float64)
        frame = hand_frame(right) * skeleton.bone_length(right)
        if s.is_left:  # the offset lives in the mirrored (right-hand) space; mirror its effect back
            frame = np.diag([-1.0, 1.0, 1.0]) @ frame
        rows[n] = projection_jacobian(np.asarray(s.joints_cam_mm, np.float64), s.intrinsics, s.crop.matrix) @ frame
        resid[n] = np.asarray(mp, np.float64) - s.keypoints_crop_px
    offsets = np.zeros((skeleton.NUM_JOINTS, 3))
    weights = np.ones((len(samples), skeleton.NUM_JOINTS))
    for _ in range(rounds):
        for j in range(skeleton.NUM_JOINTS):
            w = np.sqrt(weights[:, j])[:, None, None]
            a = (rows[:, j] * w).reshape(-1, 3)
            b = (resid[:, j] * w[..., 0]).reshape(-1)
            offsets[j] = np.linalg.lstsq(a, b, rcond=None)[0]
        left = resid - np.einsum("njab,jb->nja", rows, offsets)
        dist = np.linalg.norm(left, axis=-1)
        weights = np.where(dist <= huber_px, 1.0, huber_px / np.maximum(dist, 1e-9))
    return KeypointOffsets(offsets), np.linalg.norm(resid - np.einsum("njab,jb->nja", rows, offsets), axis=-1)


class MediaPipePoints(Sequence[HandSample]):
    """A dataset whose exact labels are read as MediaPipe's points (:func:`to_mediapipe_points`)."""

    def __init__(self, data: Sequence[HandSample], offsets: KeypointOffsets) -> None:
        self.data, self.offsets = data, offsets

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> HandSample:  # type: ignore[override]
        return to_mediapipe_points(self.data[i], self.offsets)
