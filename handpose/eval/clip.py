"""How well a processed video matches its ground truth (the sample clip's ``sample_clip_gt.npz``).

Ground truth file (written by ``scripts/make_sample_clip.py``): ``joints_cam_mm`` (T, H, 21, 3),
``keypoints_px`` (T, H, 21, 2), ``visible`` (T, H, 21), ``timestamps_s`` (T,), ``sides`` (H,).
The ground truth marks the rig's joint centres; the model outputs MediaPipe's points
(:mod:`handpose.data.convention`), so by default the ground truth is moved onto those points first
(3D by the keypoint offsets, 2D by projecting the moved joints with the clip's ``K``).
Each ground-truth hand of a frame is matched with the predicted hand of the same side (the most
confident one). Reported, over matched hands: the detection rate, the 2D error (px, visible
joints), the 3D pose error under the papers' protocol (EPE, AUC, PA-MPJPE of
:func:`handpose.eval.metrics.pose_metrics`: palm-rooted, scale-aligned), the error of the palm's
position in the camera frame (mm, no alignment: the metric-3D lifting), and the jitter of each
side's track (mean joint acceleration, mm/s^2) next to the ground truth's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from handpose.errors import InputError
from handpose.io.frame_record import FrameRecord
from handpose.skeleton import palm_root
from handpose.eval.metrics import jitter, keypoint_error_2d, pose_metrics


@dataclass(frozen=True)
class ClipEvaluation:
    """Accuracy of a processed clip; lengths in mm, 2D in px (see the module docstring)."""

    gt_hands: int
    matched_hands: int
    error_2d_px: float
    epe_mm: float
    auc_20_50: float
    pa_mpjpe_mm: float
    palm_position_error_mm: float
    jitter_mm_s2: dict[str, float]
    gt_jitter_mm_s2: dict[str, float]

    @property
    def detection_rate(self) -> float:
        return self.matched_hands / max(1, self.gt_hands)


def evaluate_clip(records: Sequence[FrameRecord], gt_path: str | Path,
                  points: Literal["mediapipe", "rig"] = "mediapipe") -> ClipEvaluation:
    """Compare ``records`` (one per decoded frame) with the ground truth in ``gt_path``, marking
    ``points`` (see the module docstring)."""
    with np.load(gt_path) as gt:
        joints, keypoints, visible = gt["joints_cam_mm"], gt["keypoints_px"], gt["visible"]
        sides = [str(s) for s in gt["sides"]]
        fps = 1.0 / float(np.median(np.diff(gt["timestamps_s"])))
        intrinsics = gt["K"]
    if points == "mediapipe":
        joints, keypoints = _to_mediapipe_points(joints, intrinsics, sides)
    by_frame = {r.frame: r for r in records}
    if not by_frame or max(by_frame) >= len(joints):
        raise InputError(f"records of frames 0..{len(joints) - 1} expected, got frames {sorted(by_frame)[:3]}...")
    pred_3d, gt_3d, pred_2d, gt_2d, vis = [], [], [], [], []
    tracks: dict[str, list[np.ndarray]] = {s: [] for s in sides}
    for t in range(len(joints)):
        record = by_frame.get(t)
        for h, side in enumerate(sides):
            candidates = [] if record is None else [p for p in record.hands if p.handedness == side]
            if not candidates:
                continue
            hand = max(candidates, key=lambda p: p.presence)
            pred_3d.append(hand.joints_cam_mm)
            gt_3d.append(joints[t, h])
            pred_2d.append(hand.keypoints_px)
            gt_2d.append(keypoints[t, h])
            vis.append(visible[t, h])
            tracks[side].append(np.asarray(hand.joints_cam_mm, np.float64))
    gt_hands = len(joints) * len(sides)
    if not pred_3d:
        nan = float("nan")
        return ClipEvaluation(gt_hands, 0, nan, nan, nan, nan, nan, {}, {})
    p3, g3 = np.asarray(pred_3d, np.float64), np.asarray(gt_3d, np.float64)
    metrics = pose_metrics(p3, g3)
    return ClipEvaluation(
        gt_hands=gt_hands,
        matched_hands=len(pred_3d),
        error_2d_px=keypoint_error_2d(np.asarray(pred_2d), np.asarray(gt_2d), np.asarray(vis)),
        epe_mm=metrics.epe_mean_mm,
        auc_20_50=metrics.auc_20_50_published,
        pa_mpjpe_mm=metrics.pa_mpjpe_mm,
        palm_position_error_mm=float(np.linalg.norm(palm_root(p3) - palm_root(g3), axis=-1).mean()),
        jitter_mm_s2={s: jitter(np.asarray(v), fps) for s, v in tracks.items() if len(v) >= 3},
        gt_jitter_mm_s2={s: jitter(joints[:, h], fps) for h, s in enumerate(sides)},
    )


def _to_mediapipe_points(joints: np.ndarray, intrinsics: np.ndarray, sides: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rig joint centres (T, H, 21, 3) mm -> MediaPipe's points, and their (T, H, 21, 2) projections
    with the per-frame ``intrinsics`` (T, 3, 3)."""
    from handpose.data.convention import KeypointOffsets
    from handpose.geometry.camera import project

    offsets = KeypointOffsets.load()
    moved = np.stack([np.stack([offsets.apply(joints[t, h], is_left=side == "left") for h, side in enumerate(sides)])
                      for t in range(len(joints))])
    return moved, project(moved, intrinsics[:, None])
