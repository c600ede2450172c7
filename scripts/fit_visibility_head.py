"""Fit a checkpoint's visibility head alone, on its frozen observations of renders
(``handpose.train.visibility_fit``), and write the checkpoint with the new head.

    python scripts/fit_visibility_head.py --checkpoint models/handpose_default.pt \
        --data shards:data/synth_mix --val shards:data/synth_val --out runs/vis7/model.pt

The run's folder gets a ``log.jsonl`` like the trainer's (step, seconds, validation AUC).
``--val`` picks nothing: it is only reported, every ``--eval-every`` steps. Use renders the head
never fits and that are not the held-out test set the model is published with (here: the test
set's backgrounds with another seed, ``handpose-render --out data/synth_val --count 2048 --seed 4242
--backgrounds test``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from handpose.data.datasets import open_dataset
from handpose.model.checkpoint import load_model, read_checkpoint, save_model
from handpose.train.visibility_fit import Observations, VisibilityFitConfig, fit_visibility_head, head_auc, observe_dataset
from handpose.errors import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    defaults = VisibilityFitConfig()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True, help="the model whose head is fitted (rest frozen)")
    p.add_argument("--data", nargs="+", required=True, help="data specs of renders to fit on")
    p.add_argument("--val", required=True, help="data spec of renders to report the ROC AUC on")
    p.add_argument("--steps", type=int, default=defaults.steps)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--lr", type=float, default=defaults.lr)
    p.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    p.add_argument("--eval-every", type=int, default=defaults.eval_every)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, required=True, help="checkpoint to write")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    start = time.monotonic()
    model = load_model(a.checkpoint)
    config = VisibilityFitConfig(steps=a.steps, batch_size=a.batch_size, lr=a.lr, weight_decay=a.weight_decay,
                                 eval_every=a.eval_every, seed=a.seed)

    def observe(spec: str) -> Observations:
        data = open_dataset(spec, "train", model.config.input_size)
        with tqdm(total=len(data), desc=f"observing {spec}", unit="crop") as bar:
            return observe_dataset(model, data, progress=lambda done: bar.update(done - bar.n))

    parts = [observe(spec) for spec in a.data]
    train = Observations(np.concatenate([o.observed for o in parts]), np.concatenate([o.visible for o in parts]))
    val = observe(a.val)
    before = head_auc(model, val)
    print(f"{len(train.visible)} hands to fit on, {len(val.visible)} to report on; ROC AUC before: {before:.4f}")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    log_path = a.out.parent / "log.jsonl"  # as the trainer's, for scripts/publish_model.py's wall time

    def log(step: int, auc: float) -> None:
        print(f"step {step}: ROC AUC {auc:.4f}")
        with open(log_path, "a") as f:
            f.write(json.dumps({"step": step, "stage_index": 0, "sec": round(time.monotonic() - start, 1),
                                "val_auc": round(auc, 4)}) + "\n")

    history = fit_visibility_head(model, train, val, config, log=log)
    after = head_auc(model, val)
    meta = read_checkpoint(a.checkpoint)["meta"]
    meta["visibility_fit"] = {"from": str(a.checkpoint), "data": a.data, "val": a.val, "hands": len(train.visible),
                              "config": dataclasses.asdict(config), "val_auc_before": round(before, 4),
                              "val_auc_after": round(after, 4), "history": history,
                              "wall_s": round(time.monotonic() - start, 1)}
    save_model(model, a.out, meta)
    print(json.dumps(meta["visibility_fit"]["history"]))
    print(f"ROC AUC on {a.val}: {before:.4f} -> {after:.4f}; wrote {a.out}")


if __name__ == "__main__":
    main()
