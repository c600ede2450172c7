"""Latency benchmark as a command: per-stage p50/p95/p99 of the pipeline for each backend, MediaPipe's
own HandLandmarker on the same frames, the model alone per batch size; a table, a JSON and a plot.

    python -m apps.benchmark                                  # -> outputs/benchmark.json, outputs/latency.png
    python -m apps.benchmark --frames 300 --backends onnxruntime torch

The measurement itself is :func:`handpose.infer.benchmark.run_benchmark` (one hand panning across
640x480 frames made from a real photo); the plot is :mod:`handpose.viz.latency_plot`. On a CUDA
machine the GPU engines (torch-CUDA fp32/fp16, CUDA graphs off/on, TensorRT when installed) are
then checked against ONNX Runtime and timed alone at batch 1..256
(:func:`handpose.infer.gpu_bench.run_gpu_benchmark`); without one, a line says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from handpose.io.atomic import check_writable_file, write_text_atomic
from handpose.io.images import read_rgb
from handpose.errors import HandposeError
from handpose.infer.backends.base import BACKEND_NAMES
from handpose.infer.benchmark import format_table, run_benchmark
from handpose.infer.roll_ensemble import DEFAULT_ROLL_ANGLES_DEG
from handpose.viz.latency_plot import save_latency_plot
from handpose.detect.detector import add_verbose_flag

DEFAULT_PHOTO = Path(__file__).resolve().parent / "assets" / "benchmark_hand.jpg"  # MediaPipe test photo, Apache-2.0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"a positive number of frames expected, got {value}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO, help="a photo of one hand")
    parser.add_argument("--checkpoint", type=Path, default=None, help="model weights (default: the default model)")
    parser.add_argument("--frames", type=_positive, default=150)
    parser.add_argument("--backends", nargs="+", choices=BACKEND_NAMES, default=list(BACKEND_NAMES))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 2, 4, 8], help="model-alone batch sizes")
    parser.add_argument("--model-iterations", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="backend CPU threads (0 = default)")
    parser.add_argument("--rolls", type=float, nargs="+", default=list(DEFAULT_ROLL_ANGLES_DEG),
                        help="the pipeline's test-time turns of each crop in degrees "
                             f"(default {' '.join(map(str, DEFAULT_ROLL_ANGLES_DEG))}; 0 = one plain crop)")
    parser.add_argument("--json", type=Path, default=Path("outputs/benchmark.json"))
    parser.add_argument("--plot", type=Path, default=Path("outputs/latency.png"))
    add_verbose_flag(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_writable_file(args.json)  # before minutes of timing
        check_writable_file(args.plot)
        photo = read_rgb(args.photo)
        result = run_benchmark(photo, checkpoint=args.checkpoint, backends=tuple(args.backends),
                               batches=tuple(args.batches), frames=args.frames,
                               model_iterations=args.model_iterations, threads=args.threads,
                               roll_angles_deg=tuple(args.rolls))  # fmt: skip
    except HandposeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(result))
    gpu = _gpu_engines(args.checkpoint)
    write_text_atomic(args.json, json.dumps({**asdict(result), "gpu_engines": gpu}, indent=2) + "\n")
    save_latency_plot(result, args.plot)
    print(f"wrote {args.json} and {args.plot}")
    return 0


def _gpu_engines(checkpoint: Path | None) -> dict[str, object]:
    """The GPU engines' parity and latency on CUDA (printed), or why they were not measured."""
    from handpose.infer.gpu_bench import cuda_unavailable_reason, format_gpu_table, run_gpu_benchmark
    from handpose.infer.pipeline import load_pipeline_model

    reason = cuda_unavailable_reason()
    if reason is not None:
        print(f"GPU engines not measured: {reason}")
        return {"unavailable": reason}
    report = run_gpu_benchmark(load_pipeline_model(checkpoint))
    print()
    print(format_gpu_table(report))
    return report.to_dict()


if __name__ == "__main__":
    sys.exit(main())
