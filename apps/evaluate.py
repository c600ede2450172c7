"""Evaluate a checkpoint on a dataset under the papers' protocol: JSON report + PCK-curve PNG,
the aligned path and the image VAE's own decoder side by side.

    python -m apps.evaluate --data shards:data/synth_test --out outputs/eval_synth
    python -m apps.evaluate --data rhd:/data/RHD_published_v2 --split test --visible-only --out outputs/eval_rhd
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from handpose.data.datasets import open_dataset
from handpose.errors import HandposeError
from handpose.io.atomic import check_writable_folder
from handpose.infer.roll_ensemble import DEFAULT_ROLL_ANGLES_DEG, RollEnsemble
from handpose.model.checkpoint import DEFAULT_CHECKPOINT, load_model
from handpose.eval.evaluate import evaluate, write_report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    p.add_argument("--data", required=True, help="data spec (handpose.data.datasets)")
    p.add_argument("--split", default="test")
    p.add_argument("--count", type=int, default=0, help="evaluate only the first COUNT samples (0 = all)")
    p.add_argument("--visible-only", action="store_true", help="count visible joints only (RHD protocol)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--rolls", type=float, nargs="+", default=list(DEFAULT_ROLL_ANGLES_DEG),
                   help="test-time turns of each crop in degrees, answers turned back and averaged "
                        f"(default {' '.join(map(str, DEFAULT_ROLL_ANGLES_DEG))}, as the pipeline; 0 = plain crops)")
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    try:
        check_writable_folder(a.out)  # the report's folder, before the model loads and the evaluation runs
        model = load_model(a.checkpoint)
        data = open_dataset(a.data, a.split, model.config.input_size)
        if a.count:
            data = [data[i] for i in range(min(a.count, len(data)))]
        report = evaluate(model, data, a.data, visible_only=a.visible_only, ensemble=RollEnsemble(tuple(a.rolls)))
        json_path, png_path = write_report(report, a.out)
    except HandposeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    print(f"wrote {json_path} and {png_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
