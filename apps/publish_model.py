"""Make a trained run the default model: copy its weights to ``models/``, evaluate them on a
held-out set and record sha256, training and evaluation in ``models/MANIFEST.json``. The
evaluation is recorded over all joints and over the visible joints only (RHD's protocol, DESIGN.md §4).

    python -m apps.publish_model --run runs/default --eval-data shards:data/synth_test --command "..."
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from handpose.data.sources import open_dataset
from handpose.model.checkpoint import DEFAULT_CHECKPOINT, load_model, read_checkpoint
from handpose.model.manifest import record
from handpose.train.evaluate import evaluate, write_report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, required=True, help="training output folder (with model.pt, log.jsonl)")
    p.add_argument("--eval-data", required=True, help="held-out data spec")
    p.add_argument("--out", type=Path, default=DEFAULT_CHECKPOINT)
    p.add_argument("--report", type=Path, default=Path("docs/eval_default"))
    p.add_argument("--command", default="", help="the training command, for the record")
    p.add_argument("--data-description", default="", help="what the training data were")
    a = p.parse_args(argv)
    source = a.run / "model.pt"
    model = load_model(source)
    meta = read_checkpoint(source)["meta"]
    logs = [json.loads(line) for line in (a.run / "log.jsonl").read_text().splitlines()]
    held_out = open_dataset(a.eval_data, "test", model.config.input_size)
    report = evaluate(model, held_out, a.eval_data)
    visible = evaluate(model, held_out, a.eval_data, visible_only=True)
    write_report(report, a.report)
    print(f"all joints:\n{report.summary()}\nvisible joints only (RHD protocol):\n{visible.summary()}")
    tmp = a.out.with_name(f".{a.out.name}.part")
    shutil.copyfile(source, tmp)
    tmp.replace(a.out)

    def numbers(m):  # type: ignore[no-untyped-def]
        return {"epe_mean_mm": round(m.epe_mean_mm, 2), "epe_median_mm": round(m.epe_median_mm, 2),
                "auc_0_50": round(m.auc_0_50, 4), "auc_20_50_published": round(m.auc_20_50_published, 4),
                "auc_20_50_exact": round(m.auc_20_50_exact, 4), "pa_mpjpe_mm": round(m.pa_mpjpe_mm, 2)}

    entry = record(a.out, {
        "model_config": model.config.to_dict(),
        "training": {
            "command": a.command,
            "data": a.data_description,
            "train_config": meta.get("train_config"),
            "steps": meta.get("steps"),
            # each stage logs seconds since it started: the last record of each stage is its wall time
            "wall_time_s": round(sum(max(r["sec"] for r in logs if r["stage_index"] == s)
                                     for s in {r["stage_index"] for r in logs}), 1),
        },
        "evaluation": {
            "data": a.eval_data, "hands": report.count, "negatives": report.negatives,
            "roll_angles_deg": list(report.roll_angles_deg),
            "aligned": numbers(report.aligned), "image_vae_decoder": numbers(report.image_vae),
            "aligned_visible_joints": numbers(visible.aligned),
            "image_vae_decoder_visible_joints": numbers(visible.image_vae),
            "keypoints_2d_px": round(report.keypoints_2d_px, 2), "presence_accuracy": round(report.presence_accuracy, 4),
        },
    })
    print(f"wrote {a.out} (sha256 {entry['sha256'][:16]}..., {entry['bytes'] / 1e6:.1f} MB) and models/MANIFEST.json")


if __name__ == "__main__":
    main()
