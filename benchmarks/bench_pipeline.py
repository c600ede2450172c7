"""Pipeline latency benchmark: per-stage p50/p95/p99 for every available backend and batch size, with
MediaPipe's HandLandmarker (video mode) on the same frames in the same run. Prints a table, writes JSON.

Usage: ``python benchmarks/bench_pipeline.py [--photo PATH] [--checkpoint PATH] [--frames 150]
[--json outputs/bench_pipeline.json]``. The logic lives in :mod:`handpose.infer.benchmark`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import cv2

from handpose.infer.benchmark import format_table, run_benchmark

DEFAULT_PHOTO = Path(__file__).resolve().parents[1] / "apps" / "assets" / "benchmark_hand.jpg"  # MediaPipe test photo, Apache-2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO, help="a photo of one hand")
    parser.add_argument("--checkpoint", type=Path, default=None, help="model weights (default: the default model)")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--backends", nargs="+", default=["onnxruntime", "torch", "tensorrt"])
    parser.add_argument("--threads", type=int, default=1,
                        help="backend CPU threads (0 = engine default; 1 avoids OpenMP stalls on a busy 2-core machine)")
    parser.add_argument("--json", type=Path, default=Path("outputs/bench_pipeline.json"))
    args = parser.parse_args()
    bgr = cv2.imread(str(args.photo), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read the photo {args.photo}")
    result = run_benchmark(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), checkpoint=args.checkpoint, frames=args.frames,
                           backends=tuple(args.backends), threads=args.threads)
    print(format_table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(asdict(result), indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
