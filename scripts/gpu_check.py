"""GPU check: every GPU engine this machine has, checked against a CPU reference, then timed.

    python scripts/gpu_check.py [--json outputs/gpu_check.json] [--quick]

Runs :func:`handpose.infer.gpu_bench.run_gpu_benchmark` on the default model: torch-CUDA fp32/fp16
with CUDA graphs off/on, and TensorRT fp16 when it is installed; model alone at batch 1..256 (host
copies counted). Prints one table and writes the JSON. Needs torch and numpy only (TensorRT and
ONNX Runtime are used when present); no MediaPipe, Qt or network. Exit status: 0 measured (or no
CUDA device: one line says so, nothing to measure), 1 when an engine fails parity.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handpose.errors import one_line_errors  # noqa: E402
from handpose.io.atomic import write_text_atomic  # noqa: E402
from handpose.infer.gpu_bench import cuda_unavailable_reason, format_gpu_table, run_gpu_benchmark  # noqa: E402


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=ROOT / "outputs" / "gpu_check.json")
    parser.add_argument("--quick", action="store_true", help="fewer calls per case (a smoke run)")
    args = parser.parse_args(argv)
    reason = cuda_unavailable_reason()
    if reason is not None:
        print(f"GPU check skipped: {reason}; nothing to measure (the CPU backends: python -m apps.benchmark)")
        return 0
    from handpose.model.checkpoint import load_default_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model = load_default_model().eval()
    report = run_gpu_benchmark(model, iterations=30 if args.quick else 300, seconds_per_case=0.3 if args.quick else 2.0)
    print(format_gpu_table(report))
    write_text_atomic(args.json, json.dumps(report.to_dict(), indent=2) + "\n")
    print(f"wrote {args.json}")
    print("GPU CHECK", "PASSED" if report.parity_ok else "FAILED (parity)")
    return 0 if report.parity_ok else 1


if __name__ == "__main__":
    sys.exit(main())
