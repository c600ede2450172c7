"""The before/after report of an adaptation on the check frames (never trained on).

Against the teacher (MediaPipe), on its own crops, as :mod:`handpose.eval.real_eval` scores real
photos: 2D error in units of the hand's box side (mean, median), PA-MPJPE against MediaPipe's
world landmarks (mm), the spread ratio (predicted over teacher keypoint spread, median), the
share of hands with a finger folded otherwise than MediaPipe's (``fingers_off``: what a finger
count or a gesture would get wrong), and jitter: the mean 2D acceleration of the keypoints in the
frame, ``|p[t+1] - 2 p[t] + p[t-1]|`` in units of the box side, over every three consecutive
frames of one hand, with the teacher's own next to it (MediaPipe's labels are frame-by-frame stills,
so they jitter too). Optionally the same 2D / 3D numbers on a real validation set
(``--real-check``), to show what was not forgotten.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from handpose.adapt.footage import LabelledFrame
from handpose.data.batch import collate
from handpose.data.real.pseudo_label import hand_side_px
from handpose.data.sample import HandSample
from handpose.eval.real_eval import RealReport, evaluate_real
from handpose.io.atomic import atomic_path, write_text_atomic
from handpose.model.hand_model import HandModel


@dataclass(frozen=True)
class CheckNumbers:
    """One model on the check frames (see the module docstring for each number).

    Attributes:
        hands: check hands scored.
        kp_error, kp_error_median: 2D error vs MediaPipe / box side.
        pa_mpjpe_mm: PA-MPJPE vs MediaPipe's world landmarks, aligned path, mean (mm).
        spread_ratio: predicted / teacher keypoint spread, median.
        fingers_off: share of hands with a finger folded otherwise than MediaPipe's
            (:data:`handpose.eval.real_eval.FINGER_OFF_RAD`).
        jitter: 2D acceleration / box side per frame^2, mean; teacher_jitter: MediaPipe's own.
        jitter_triples: frame triples the jitter is the mean over.
    """

    hands: int
    kp_error: float
    kp_error_median: float
    pa_mpjpe_mm: float
    spread_ratio: float
    fingers_off: float
    jitter: float
    teacher_jitter: float
    jitter_triples: int


def _frame_keypoints(model: HandModel, samples: Sequence[HandSample], batch_size: int = 64) -> np.ndarray:
    """(N, 21, 2) the model's keypoints in frame px for samples with crops and crop transforms."""
    out = []
    model.eval()
    for start in range(0, len(samples), batch_size):
        chunk = samples[start:start + batch_size]
        with torch.no_grad():
            pred = model.infer(collate(list(chunk)).images).keypoints_crop_px.numpy().astype(np.float64)
        out.extend(s.crop.to_frame(p) for s, p in zip(chunk, pred))  # type: ignore[union-attr]
    return np.stack(out)


def jitter_2d(hands: Sequence[LabelledFrame], keypoints_px: np.ndarray) -> tuple[float, int]:
    """Mean 2D acceleration / box side over consecutive-frame triples of each hand, and how many
    triples; ``keypoints_px`` (N, 21, 2) lines up with ``hands``."""
    index = {(h.source, h.handedness, h.frame): i for i, h in enumerate(hands)}
    acc = []
    for (source, side, frame), i in index.items():
        before, after = index.get((source, side, frame - 1)), index.get((source, side, frame + 1))
        if before is None or after is None:
            continue
        a = keypoints_px[after] - 2.0 * keypoints_px[i] + keypoints_px[before]
        acc.append(float(np.linalg.norm(a, axis=-1).mean()) / hand_side_px(hands[i].label.keypoints_px))
    return (float(np.mean(acc)) if acc else math.nan), len(acc)


def check_numbers(model: HandModel, hands: Sequence[LabelledFrame]) -> CheckNumbers:
    """Score ``model`` on the check ``hands``."""
    samples = [h.sample for h in hands]
    real = evaluate_real(model, samples, "check frames")
    pred = _frame_keypoints(model, samples)
    jit, triples = jitter_2d(hands, pred)
    teacher_jit, _ = jitter_2d(hands, np.stack([h.label.keypoints_px for h in hands]))
    return CheckNumbers(real.hands, real.kp_error_mean, real.kp_error_median, real.pa_mpjpe_mm, real.spread_ratio,
                        real.fingers_off, jit, teacher_jit, triples)


@dataclass(frozen=True)
class AdaptReport:
    """Before (the base model) and after (the adapted one).

    Attributes:
        check_before, check_after: on the check frames.
        real_before, real_after: on the ``--real-check`` data, or None.
        summary: everything else worth keeping (inputs, steps, wall time, hand size ...), JSON-like.
    """

    check_before: CheckNumbers
    check_after: CheckNumbers
    real_before: RealReport | None
    real_after: RealReport | None
    summary: dict[str, object]

    @property
    def kp_error_drop(self) -> float:
        """Relative fall of the check frames' 2D error (0.25 = 25% lower after)."""
        return 1.0 - self.check_after.kp_error / self.check_before.kp_error

    def to_json(self) -> dict[str, object]:
        def rounded(d: dict[str, object]) -> dict[str, object]:
            return {k: round(v, 5) if isinstance(v, float) else v for k, v in d.items()}

        out: dict[str, object] = {**self.summary, "check": {"before": rounded(asdict(self.check_before)),
                                                            "after": rounded(asdict(self.check_after)),
                                                            "kp_error_drop": round(self.kp_error_drop, 4)}}
        if self.real_before is not None and self.real_after is not None:
            keys = ("dataset", "hands", "kp_error_mean", "kp_error_median", "spread_ratio", "pa_mpjpe_mm",
                    "fingers_off")
            before, after = self.real_before.to_json(), self.real_after.to_json()
            out["real_check"] = {"before": {k: before[k] for k in keys}, "after": {k: after[k] for k in keys},
                                 "kp_error_change": round(self.real_after.kp_error_mean
                                                          / self.real_before.kp_error_mean - 1.0, 4)}
        return out

    def text(self) -> str:
        b, a = self.check_before, self.check_after
        lines = [f"check frames ({a.hands} hands)        before    after",
                 f"  2D error / box side, mean      {b.kp_error:7.4f}  {a.kp_error:7.4f}  ({-100 * self.kp_error_drop:+.1f}%)",
                 f"  2D error / box side, median    {b.kp_error_median:7.4f}  {a.kp_error_median:7.4f}",
                 f"  PA-MPJPE vs world landmarks mm {b.pa_mpjpe_mm:7.2f}  {a.pa_mpjpe_mm:7.2f}",
                 f"  spread ratio                   {b.spread_ratio:7.3f}  {a.spread_ratio:7.3f}",
                 f"  fingers folded otherwise, share {b.fingers_off:7.3f}  {a.fingers_off:7.3f}",
                 f"  jitter / box side (MediaPipe {a.teacher_jitter:.4f}) {b.jitter:7.4f}  {a.jitter:7.4f}"]
        if self.real_before is not None and self.real_after is not None:
            rb, ra = self.real_before, self.real_after
            lines.append(f"{ra.dataset} ({ra.hands} hands): 2D {rb.kp_error_mean:.4f} -> {ra.kp_error_mean:.4f} "
                         f"({100 * (ra.kp_error_mean / rb.kp_error_mean - 1):+.1f}%), PA-MPJPE {rb.pa_mpjpe_mm:.2f} -> "
                         f"{ra.pa_mpjpe_mm:.2f} mm, spread {rb.spread_ratio:.3f} -> {ra.spread_ratio:.3f}")
        return "\n".join(lines)

    def write(self, json_path: Path, plot_path: Path) -> None:
        """The JSON and the plot, each written atomically."""
        write_text_atomic(json_path, json.dumps(self.to_json(), indent=1) + "\n")
        plot_report(self, plot_path)


def plot_report(report: AdaptReport, path: Path) -> None:
    """Before/after bars of each number, one panel each (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b, a = report.check_before, report.check_after
    panels = [("check 2D / box", b.kp_error, a.kp_error), ("check PA-MPJPE mm", b.pa_mpjpe_mm, a.pa_mpjpe_mm),
              ("check jitter / box", b.jitter, a.jitter), ("check spread ratio", b.spread_ratio, a.spread_ratio),
              ("check fingers off", b.fingers_off, a.fingers_off)]
    if report.real_before is not None and report.real_after is not None:
        panels.append((f"{report.real_after.dataset}\n2D / box", report.real_before.kp_error_mean,
                       report.real_after.kp_error_mean))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 3.0))
    for ax, (title, before, after) in zip(axes, panels):
        bars = ax.bar(["before", "after"], [before, after], color=["#999999", "#3070b0"])
        ax.bar_label(bars, fmt="%.3g", fontsize=7)  # a zero (no finger off) still shows as a number
        ax.set_ylim(bottom=0)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
