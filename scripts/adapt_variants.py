"""Which fine-tuning recipe adapts best: label the footage once, then run short variants of
:mod:`handpose.adapt.finetune` and score each on the adaptation frames (fit), the check frames and
the real validation set (forgetting). A lab tool behind docs/adaptation.md.

    python scripts/adapt_variants.py FOOTAGE [...] --work runs/variants/asl --steps 150 \
        --variants last:3e-4 all:1e-4 heads:1e-3 --out docs/adaptation_variants_asl.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from handpose.adapt.blend import blend_towards_base
from handpose.adapt.finetune import AdaptConfig, render_pool, train_config, training_data
from handpose.adapt.job import AdaptRequest, _label, _read_labels
from handpose.adapt.real_check import without_footage
from handpose.adapt.report import check_numbers
from handpose.data.datasets import open_dataset
from handpose.eval.real_eval import evaluate_real
from handpose.io.atomic import write_text_atomic
from handpose.model.checkpoint import DEFAULT_CHECKPOINT, load_model
from handpose.train.trainer import Trainer
from handpose.errors import one_line_errors


@one_line_errors
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+")
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--variants", nargs="+", default=["train=last"],
                   help="AdaptConfig fields, e.g. train=last,lr=3e-4,user_share=0.8,augment=mild,frozen_norm=1")
    p.add_argument("--replay", nargs="*", default=["shards:data/real/train"])
    p.add_argument("--real-check", default="shards:data/real/val")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    labels = a.work / "labels"
    if not (labels / "hands.json").is_file():
        _label(AdaptRequest(tuple(a.inputs), a.work / "x.pt"), 128, None, labels)
    adapt, check, _, _ = _read_labels(labels, None)
    base = load_model(DEFAULT_CHECKPOINT)
    real = [open_dataset(s, "train") for s in a.replay]
    val, left_out = without_footage(a.real_check, open_dataset(a.real_check, "test"), a.inputs)
    print(f"real check: {len(val)} hands ({left_out} of the footage's own left out)", flush=True)
    results: dict[str, object] = json.loads(a.out.read_text()) if a.out.is_file() else {}
    if "base" not in results:
        results["base"] = {"adapt": dataclasses.asdict(check_numbers(base, adapt)),
                           "check": dataclasses.asdict(check_numbers(base, check)),
                           **_real_val(base, val, a.real_check)}
    for variant in a.variants:
        fields = {f.name: f.type for f in dataclasses.fields(AdaptConfig)}
        values = dict(item.split("=") for item in variant.split(","))
        config = AdaptConfig(**{k: (v if fields[k] in ("str", "TrainPart", "Augment") else
                                    bool(int(v)) if fields[k] == "bool" else float(v) if fields[k] == "float"
                                    else int(v)) for k, v in values.items()})
        data = training_data(config, [h.sample for h in adapt], render_pool(config, 128), real)
        model = load_model(DEFAULT_CHECKPOINT)
        t0 = time.perf_counter()
        Trainer(model, train_config(config, a.steps), data, a.work / variant.replace(",", "_"), progress=False).run()
        blend_towards_base(model, base, config.blend).eval()
        results[f"{variant}@{a.steps}"] = {"adapt": dataclasses.asdict(check_numbers(model, adapt)),
                                           "check": dataclasses.asdict(check_numbers(model, check)),
                                           **_real_val(model, val, a.real_check),
                                           "train_s": round(time.perf_counter() - t0, 1)}
        write_text_atomic(a.out, json.dumps(results, indent=1) + "\n")
        r = results[f"{variant}@{a.steps}"]
        print(variant, "adapt", round(r["adapt"]["kp_error"], 4), "check", round(r["check"]["kp_error"], 4),
              "val", round(r["real_val_2d"], 4), "val PA", round(r["real_val_pa_mm"], 2), flush=True)


def _real_val(model, val, name: str) -> dict[str, float]:
    """The real validation split's 2D error (of the box) and PA-MPJPE (mm) of ``model``."""
    scores = evaluate_real(model, val, name)
    return {"real_val_2d": scores.kp_error_mean, "real_val_pa_mm": scores.pa_mpjpe_mm}


if __name__ == "__main__":
    main()
