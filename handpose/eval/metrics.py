"""Evaluation metrics under the papers' protocol (docs/DESIGN.md §4). All 3D inputs in mm, 2D in px.

* :func:`align_prediction`: root both poses at the palm (midpoint of wrist and middle MCP) and
  rescale the prediction to the ground truth's middle MCP->PIP length.
* :func:`pose_metrics`: EPE (mean over samples per joint, then over joints; median too),
  PCK curve over ``linspace(0, 50, 20)`` mm, AUC 0-50, the published "AUC 20-50" (the curve from
  its 9th threshold, 21.05 mm, to 50 mm) and the exact 20-50 mm integral, PA-MPJPE.
* :func:`keypoint_error_2d`, :func:`jitter`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handpose.errors import InputError
from handpose.skeleton import NUM_JOINTS, SCALE_BONE, bone_length, palm_root

PCK_THRESHOLDS_MM = np.linspace(0.0, 50.0, 20)


@dataclass(frozen=True)
class PoseMetrics:
    """Metrics over a set of samples.

    Attributes:
        epe_mean_mm: mean end-point error (per joint over samples, then over joints).
        epe_median_mm: median of all per-joint errors.
        pck_thresholds_mm: (20,) thresholds.
        pck: (20,) fraction of joints within each threshold.
        auc_0_50: trapezoid area under the PCK curve over 0-50 mm / 50.
        auc_20_50_published: the curve from threshold 21.05 mm to 50 mm, area / range.
        auc_20_50_exact: area of the curve (linearly interpolated) from exactly 20 to 50 mm / 30.
        pa_mpjpe_mm: mean joint error after a similarity Procrustes fit.
        count: samples.
    """

    epe_mean_mm: float
    epe_median_mm: float
    pck_thresholds_mm: np.ndarray
    pck: np.ndarray
    auc_0_50: float
    auc_20_50_published: float
    auc_20_50_exact: float
    pa_mpjpe_mm: float
    count: int


def _check(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[1:] != (NUM_JOINTS, 3):
        raise InputError(f"pred and gt of the same shape (N, 21, 3) expected, got {pred.shape} and {gt.shape}")


def align_prediction(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Palm-rooted ground truth and palm-rooted, bone-rescaled prediction, both (N, 21, 3) mm."""
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    _check(pred, gt)
    pred_rel = pred - palm_root(pred)[:, None, :]
    gt_rel = gt - palm_root(gt)[:, None, :]
    scale = bone_length(gt, SCALE_BONE) / np.maximum(bone_length(pred, SCALE_BONE), 1e-9)
    return pred_rel * scale[:, None, None], gt_rel


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)


def pck_curve(errors_mm: np.ndarray, thresholds_mm: np.ndarray = PCK_THRESHOLDS_MM) -> np.ndarray:
    """Fraction of the given joint errors (any shape) at or below each threshold."""
    flat = np.asarray(errors_mm, np.float64).ravel()
    return np.array([np.mean(flat <= t) for t in thresholds_mm]) if flat.size else np.zeros(len(thresholds_mm))


def auc(curve: np.ndarray, thresholds: np.ndarray, lo: float, hi: float) -> float:
    """Area under the piecewise-linear ``curve`` between ``lo`` and ``hi`` divided by ``hi - lo``."""
    xs = np.concatenate([[lo], thresholds[(thresholds > lo) & (thresholds < hi)], [hi]])
    return _trapezoid(np.interp(xs, thresholds, curve), xs) / (hi - lo)


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Similarity transform (scale, rotation, translation) of each pred (N, K, 3) that best fits gt."""
    mu_p, mu_g = pred.mean(axis=1, keepdims=True), gt.mean(axis=1, keepdims=True)
    p, g = pred - mu_p, gt - mu_g
    cov = np.einsum("nki,nkj->nij", p, g)
    u, s, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", u, vt)))
    s[:, -1] *= d
    u[:, :, -1] *= d[:, None]
    rot = np.einsum("nij,njk->nik", u, vt)  # p @ rot ~ g
    scale = s.sum(axis=1) / np.maximum((p**2).sum(axis=(1, 2)), 1e-12)
    return scale[:, None, None] * np.einsum("nki,nij->nkj", p, rot) + mu_g


def pose_metrics(pred_mm: np.ndarray, gt_mm: np.ndarray, visible: np.ndarray | None = None) -> PoseMetrics:
    """All 3D metrics of predictions (N, 21, 3) mm against ground truth (N, 21, 3) mm.

    ``visible`` (N, 21) bool restricts EPE/PCK to visible joints (RHD's protocol).
    """
    pred_a, gt_a = align_prediction(pred_mm, gt_mm)
    errors = np.linalg.norm(pred_a - gt_a, axis=-1)  # (N, 21)
    mask = np.ones_like(errors, bool) if visible is None else np.asarray(visible, bool)
    if mask.shape != errors.shape:
        raise InputError(f"visible of shape {errors.shape} expected, got {mask.shape}")
    if not mask.any():
        raise InputError("no visible joints to evaluate")
    per_joint = np.array([errors[mask[:, j], j].mean() if mask[:, j].any() else np.nan for j in range(NUM_JOINTS)])
    curve = pck_curve(errors[mask])
    t = PCK_THRESHOLDS_MM
    pa = np.linalg.norm(procrustes_align(pred_a, gt_a) - gt_a, axis=-1)
    return PoseMetrics(
        epe_mean_mm=float(np.nanmean(per_joint)),
        epe_median_mm=float(np.median(errors[mask])),
        pck_thresholds_mm=t,
        pck=curve,
        auc_0_50=_trapezoid(curve, t) / 50.0,
        auc_20_50_published=_trapezoid(curve[8:], t[8:]) / (t[-1] - t[8]),
        auc_20_50_exact=auc(curve, t, 20.0, 50.0),
        pa_mpjpe_mm=float(pa[mask].mean()),
        count=int(errors.shape[0]),
    )


def keypoint_error_2d(pred_px: np.ndarray, gt_px: np.ndarray, visible: np.ndarray | None = None) -> float:
    """Mean 2D distance in px between (N, 21, 2) predictions and ground truth (visible joints only)."""
    pred_px, gt_px = np.asarray(pred_px, np.float64), np.asarray(gt_px, np.float64)
    if pred_px.shape != gt_px.shape or pred_px.shape[-1] != 2:
        raise InputError(f"pred and gt of the same shape (N, 21, 2) expected, got {pred_px.shape}, {gt_px.shape}")
    err = np.linalg.norm(pred_px - gt_px, axis=-1)
    return float(err.mean() if visible is None else err[np.asarray(visible, bool)].mean())


def jitter(sequence_mm: np.ndarray, fps: float) -> float:
    """Mean joint acceleration magnitude (mm/s^2) of a (T, 21, 3) sequence sampled at ``fps``."""
    seq = np.asarray(sequence_mm, np.float64)
    if seq.ndim != 3 or seq.shape[0] < 3:
        raise InputError(f"a sequence (T>=3, J, 3) expected, got {seq.shape}")
    acc = (seq[2:] - 2 * seq[1:-1] + seq[:-2]) * fps * fps
    return float(np.linalg.norm(acc, axis=-1).mean())


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` (N,) for boolean ``labels`` (N,): the chance that a
    random positive scores above a random negative, ties counting half (Mann-Whitney U, by ranks).
    NaN when the labels hold one class only."""
    scores = np.asarray(scores, np.float64).ravel()
    pos = np.asarray(labels, bool).ravel()
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    _, first, counts = np.unique(scores[order], return_index=True, return_counts=True)
    for start, n in zip(first, counts):
        ranks[order[start:start + n]] = start + (n + 1) / 2.0
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
