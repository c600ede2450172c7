"""Evaluate a model on teacher-labelled real photos (``apps.pseudo_label``'s validation split).

The labels are MediaPipe's, so these numbers say how close the model comes to the teacher, on
the teacher's own crops (cut around its landmarks, as the pipeline cuts a tracked hand):

* 2D: the distance of each keypoint from the teacher's landmark in units of the hand's box side
  (the larger extent of the teacher's landmarks), mean, median and per joint; PCK at 0.1 and 0.2
  of the box side;
* spread ratio: the mean distance of the predicted keypoints from their centroid over the same
  for the teacher's, median over hands; < 1 means the skeleton comes out too small;
* 3D: PA-MPJPE (similarity Procrustes) in mm against MediaPipe's world landmarks, for the aligned
  path and the image VAE's own decoder (hands with world landmarks only: not the stretched sets);
* the 3D pose seen in the image: the aligned path's view-frame x, y (the crop's axes) brought onto
  the teacher's 2D landmarks by the best scale and shift, mean distance in units of the box side.
  PA-MPJPE cannot see the pose's turn, and the teacher's world landmarks are not trusted for it;
  this can, together with the fingers' bends as the photo shows them. A scale and shift cannot
  take perspective: exact poses of held-out renders score 0.021 here, not 0.
* fingers off: the share of hands (with world landmarks) in which some finger, the thumb included,
  is folded otherwise than the teacher's by more than :data:`FINGER_OFF_RAD`
  (``handpose.geometry.finger_fold``: the knuckle -> tip direction against the wrist -> knuckle
  one): a finger folded where the teacher's is straight, or the reverse. It counts the misses a
  finger count or a gesture would show, on every labelled hand, where PA-MPJPE averages them away
  among the millimetres of all the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from handpose import skeleton
from handpose.data.batch import collate
from handpose.data.real.pseudo_label import hand_side_px
from handpose.data.sample import HandSample
from handpose.errors import InputError
from handpose.model.hand_model import HandModel
from handpose.eval.metrics import procrustes_align
from handpose.geometry.finger_fold import finger_folds

#: a finger folded more than this (radians, about 46 degrees: half a right angle) otherwise than
#: the teacher's counts as off
FINGER_OFF_RAD = 0.8


@dataclass(frozen=True)
class RealReport:
    """A model against the teacher on real photos.

    Attributes:
        dataset: a name for the data.
        hands: hands evaluated; hands_3d: those with the teacher's world landmarks.
        kp_error_mean, kp_error_median: 2D error in units of the hand's box side.
        kp_error_per_joint: (21,) mean 2D error per joint, same unit.
        pck_10, pck_20: fraction of keypoints within 0.1 / 0.2 of the box side.
        spread_ratio: median over hands of predicted / teacher keypoint spread.
        pa_mpjpe_mm, pa_mpjpe_median_mm: aligned path vs the teacher's world landmarks.
        pa_mpjpe_image_vae_mm: the image VAE's own decoder, same measure (mean).
        pose_in_image_error: the aligned path's pose seen in the image against the 2D labels
            (:func:`pose_in_image`), mean, in units of the box side.
        fingers_off: share of the ``hands_3d`` whose aligned pose has a finger folded otherwise
            than the teacher's by more than :data:`FINGER_OFF_RAD`.
    """

    dataset: str
    hands: int
    hands_3d: int
    kp_error_mean: float
    kp_error_median: float
    kp_error_per_joint: tuple[float, ...]
    pck_10: float
    pck_20: float
    spread_ratio: float
    pa_mpjpe_mm: float
    pa_mpjpe_median_mm: float
    pa_mpjpe_image_vae_mm: float
    pose_in_image_error: float
    fingers_off: float

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["kp_error_per_joint"] = {n: round(v, 4) for n, v in zip(skeleton.JOINT_NAMES, self.kp_error_per_joint)}
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}

    def summary(self) -> str:
        return (f"{self.dataset}: {self.hands} hands, 2D {self.kp_error_mean:.4f} of the box (median "
                f"{self.kp_error_median:.4f}), PCK@0.1 {self.pck_10:.3f}, @0.2 {self.pck_20:.3f}, spread "
                f"{self.spread_ratio:.3f}; PA-MPJPE vs world landmarks {self.pa_mpjpe_mm:.2f} mm (median "
                f"{self.pa_mpjpe_median_mm:.2f}), image-VAE decoder {self.pa_mpjpe_image_vae_mm:.2f} mm "
                f"({self.hands_3d} hands), fingers off {self.fingers_off:.3f}; 3D pose in the image "
                f"{self.pose_in_image_error:.4f} of the box")


def spread(keypoints: np.ndarray) -> np.ndarray:
    """Mean distance of keypoints (..., 21, 2) from their centroid: (...)."""
    return np.linalg.norm(keypoints - keypoints.mean(axis=-2, keepdims=True), axis=-1).mean(axis=-1)


def pose_in_image(poses: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """View-frame poses (N, 21, 3) as seen in the crop: their x, y times the scale, plus the shift,
    that brings them closest (least squares) onto ``keypoints`` (N, 21, 2) crop px; (N, 21, 2). The
    scale is not negative (that would turn an upside-down pose the right way up)."""
    xy = poses[..., :2] - poses[..., :2].mean(axis=-2, keepdims=True)
    centre = keypoints.mean(axis=-2, keepdims=True)
    along = np.maximum((xy * (keypoints - centre)).sum(axis=(-2, -1)), 0.0)
    scale = along / np.maximum((xy**2).sum(axis=(-2, -1)), 1e-12)
    return scale[..., None, None] * xy + centre


def evaluate_real(model: HandModel, dataset: Sequence[HandSample], name: str, batch_size: int = 64) -> RealReport:
    """Score ``model`` against the teacher labels of ``dataset`` (samples with crops and 2D
    keypoints; see the module docstring)."""
    model.eval()
    kp_pred: list[np.ndarray] = []
    kp_gt: list[np.ndarray] = []
    seen: list[np.ndarray] = []
    pa: list[float] = []
    pa_vae: list[float] = []
    finger_off: list[bool] = []
    for start in range(0, len(dataset), batch_size):
        samples = [s for s in (dataset[i] for i in range(start, min(start + batch_size, len(dataset)))) if s.present]
        if not samples:
            continue
        batch = collate(samples)
        if batch.images is None or any(s.keypoints_crop_px is None for s in samples):
            raise InputError(f"dataset {name!r}: real-photo evaluation needs crops with 2D keypoints")
        with torch.no_grad():
            out = model.infer(batch.images)
        kp_pred.append(out.keypoints_crop_px.numpy().astype(np.float64))
        kp_gt.append(np.stack([np.asarray(s.keypoints_crop_px) for s in samples]).astype(np.float64))
        seen.append(pose_in_image(out.joints_view_norm.numpy().astype(np.float64), kp_gt[-1]))
        for i, s in enumerate(samples):
            if s.world_mm is None:
                continue
            world = skeleton.mirror(s.world_mm) if s.is_left else np.asarray(s.world_mm, np.float64)
            bone = float(skeleton.bone_length(world))
            for pose, acc in ((out.joints_view_norm[i], pa), (out.joints_view_norm_image_vae[i], pa_vae)):
                pred = pose.numpy().astype(np.float64)[None] * bone
                acc.append(float(np.linalg.norm(procrustes_align(pred, world[None])[0] - world, axis=-1).mean()))
            folds = finger_folds(out.joints_view_norm[i].numpy()) - finger_folds(world)
            finger_off.append(bool(np.abs(folds).max() > FINGER_OFF_RAD))
    if not kp_gt:
        raise InputError(f"dataset {name!r} has no hands")
    pred, gt = np.concatenate(kp_pred), np.concatenate(kp_gt)
    side = np.array([hand_side_px(g) for g in gt])
    err = np.linalg.norm(pred - gt, axis=-1) / side[:, None]  # (N, 21)
    pose_err = np.linalg.norm(np.concatenate(seen) - gt, axis=-1) / side[:, None]
    nan = float("nan")
    return RealReport(
        dataset=name, hands=len(gt), hands_3d=len(pa),
        kp_error_mean=float(err.mean()), kp_error_median=float(np.median(err)),
        kp_error_per_joint=tuple(float(v) for v in err.mean(axis=0)),
        pck_10=float((err <= 0.1).mean()), pck_20=float((err <= 0.2).mean()),
        spread_ratio=float(np.median(spread(pred) / spread(gt))),
        pa_mpjpe_mm=float(np.mean(pa)) if pa else nan, pa_mpjpe_median_mm=float(np.median(pa)) if pa else nan,
        pa_mpjpe_image_vae_mm=float(np.mean(pa_vae)) if pa_vae else nan,
        pose_in_image_error=float(pose_err.mean()),
        fingers_off=float(np.mean(finger_off)) if finger_off else nan,
    )
