"""Latency plot of a pipeline benchmark (:class:`handpose.infer.benchmark.BenchmarkResult`), as a PNG.

Left: per backend, the steady-state (tracked) frame as stacked stage medians (detect, crop,
model, lift, smooth), next to the median of all frames and MediaPipe's own HandLandmarker
(video mode) on the same frames; whiskers are p95. Right: the model alone, median and p95 per
batch size for each backend (log scale). Drawn with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from handpose.io.atomic import atomic_path
from handpose.infer.benchmark import STAGES, BenchmarkResult

STAGE_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3")


def latency_figure(result: BenchmarkResult) -> Any:
    """The matplotlib Figure (two panels, module docstring)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.5), dpi=100)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    labels: list[str] = []
    x = 0.0
    for run in result.pipelines:
        bottom = 0.0
        for stage, p, colour in zip(STAGES, run.stages_steady, STAGE_COLORS, strict=True):
            value = 0.0 if np.isnan(p.p50) else p.p50
            left.bar(x, value, bottom=bottom, color=colour, label=stage if not labels else None)
            bottom += value
        left.errorbar(x, run.total_steady.p50, yerr=[[0], [max(0.0, run.total_steady.p95 - run.total_steady.p50)]],
                      color="black", capsize=4)  # fmt: skip
        left.bar(x + 1, run.total_all.p50, color="#999999", yerr=[[0], [run.total_all.p95 - run.total_all.p50]], capsize=4)
        left.bar(x + 2, run.mediapipe_video.p50, color="#222222",
                 yerr=[[0], [run.mediapipe_video.p95 - run.mediapipe_video.p50]], capsize=4)  # fmt: skip
        labels += [f"{run.backend}\nsteady", f"{run.backend}\nall frames", "MediaPipe\nvideo mode"]
        x += 3.6
    ticks = [i * 3.6 + k for i in range(len(result.pipelines)) for k in range(3)]
    left.set_xticks(ticks, labels, fontsize=8)
    left.set_ylabel("ms per frame (median, whisker p95)")
    left.set_title(f"pipeline, {result.frame_size[0]}x{result.frame_size[1]}, one hand, {result.frames} frames")
    if result.pipelines:
        left.legend(title="steady-state stages", fontsize=8)
    for backend in sorted({m.backend for m in result.models}):
        runs = sorted((m for m in result.models if m.backend == backend), key=lambda m: m.batch)
        batches = [m.batch for m in runs]
        right.plot(batches, [m.latency.p50 for m in runs], marker="o", label=f"{backend} p50")
        right.plot(batches, [m.latency.p95 for m in runs], linestyle="--", alpha=0.6, label=f"{backend} p95")
    right.set_yscale("log")
    right.set_xticks(sorted({m.batch for m in result.models}))
    right.set_xlabel("batch (hands)")
    right.set_ylabel("ms per call")
    right.set_title("model alone")
    right.grid(alpha=0.3)
    if result.models:
        right.legend(fontsize=8)
    figure.tight_layout()
    return figure


def save_latency_plot(result: BenchmarkResult, path: str | Path) -> Path:
    """Write :func:`latency_figure` to ``path`` (PNG) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        latency_figure(result).savefig(tmp, format="png")
    return path
