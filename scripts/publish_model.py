"""Make a trained run the default model: copy its weights to ``models/``, evaluate them on a
held-out set and record sha256, training and evaluation in the ``MANIFEST.json`` next to ``--out``
(``models/MANIFEST.json`` for the default). The
evaluation is recorded over all joints and over the visible joints only (RHD's protocol, docs/DESIGN.md §4);
with ``--convention mediapipe`` also against the held-out labels moved onto MediaPipe's points (what
such a model outputs); with ``--real-eval-data`` on teacher-labelled real photos
(``handpose.eval.real_eval``), whose sources and licences are recorded too.

    python scripts/publish_model.py --run runs/default --eval-data shards:data/synth_test --command "..."
    python scripts/publish_model.py --run runs/real --eval-data shards:data/synth_test --convention mediapipe \
        --real-eval-data shards:data/real/val --real-sets sign_digits webcam_hands ... --command "..."
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from handpose.data.convention import DEFAULT_OFFSETS_FILE, KeypointOffsets, MediaPipePoints
from handpose.data.real.sets import SOURCES
from handpose.data.datasets import open_dataset
from handpose.model.checkpoint import DEFAULT_CHECKPOINT, load_model, read_checkpoint
from handpose.model.manifest import manifest_of, record
from handpose.eval.evaluate import evaluate, write_report
from handpose.eval.metrics import PoseMetrics
from handpose.eval.real_eval import evaluate_real
from handpose.errors import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, required=True, help="training output folder (with model.pt, log.jsonl)")
    p.add_argument("--eval-data", required=True, help="held-out data spec")
    p.add_argument("--out", type=Path, default=DEFAULT_CHECKPOINT)
    p.add_argument("--report", type=Path, default=Path("docs/eval_default"))
    p.add_argument("--command", default="", help="the training command, for the record")
    p.add_argument("--earlier-runs", type=Path, nargs="*", default=[],
                   help="runs this one continued from (--init-from), whose wall time counts too")
    p.add_argument("--data-description", default="", help="what the training data were")
    p.add_argument("--convention", choices=["rig", "mediapipe"], default="rig",
                   help="the points the model was trained to output (apps.train --convention)")
    p.add_argument("--real-eval-data", default=None, help="teacher-labelled real validation photos (data spec)")
    p.add_argument("--real-sets", nargs="*", default=[], choices=sorted(SOURCES),
                   help="the real sets trained on, whose sources and licences go into the manifest")
    p.add_argument("--measured", nargs="*", default=[], metavar="NAME=FILE.json",
                   help="results of other measurements of this model (e.g. apps.benchmark's --json, "
                        "scripts/real_photo_consistency.py's --out) to keep in the entry's evaluation")
    a = p.parse_args(argv)
    measured = {}
    for item in a.measured:
        name, sep, file = item.partition("=")
        if not sep or not Path(file).is_file():
            raise SystemExit(f"publish_model: --measured NAME=FILE.json with an existing file expected, got {item!r}")
        measured[name] = json.loads(Path(file).read_text())
    source = a.run / "model.pt"
    model = load_model(source)
    meta = read_checkpoint(source)["meta"]
    runs = [*a.earlier_runs, a.run]
    run_logs = [[json.loads(line) for line in (r / "log.jsonl").read_text().splitlines()] for r in runs]
    held_out = open_dataset(a.eval_data, "test", model.config.input_size)
    report = evaluate(model, held_out, a.eval_data)
    visible = evaluate(model, held_out, a.eval_data, visible_only=True)
    write_report(report, a.report)
    print(f"all joints:\n{report.summary()}\nvisible joints only (RHD protocol):\n{visible.summary()}")
    extra: dict[str, object] = {}
    if a.convention == "mediapipe":
        moved = MediaPipePoints(held_out, KeypointOffsets.load(DEFAULT_OFFSETS_FILE))
        for key, only in (("aligned_mediapipe_points_visible_joints", True), ("aligned_mediapipe_points", False)):
            r = evaluate(model, moved, a.eval_data, visible_only=only)
            extra[key] = numbers(r.aligned)
            print(f"{key}:\n{r.summary()}")
    if a.real_eval_data:
        real = evaluate_real(model, open_dataset(a.real_eval_data, "test", model.config.input_size), a.real_eval_data)
        extra["real_validation"] = real.to_json()
        print(real.summary())
    tmp = a.out.with_name(f".{a.out.name}.part")
    shutil.copyfile(source, tmp)
    tmp.replace(a.out)

    entry = record(a.out, {
        "model_config": model.config.to_dict(),
        "training": {
            "command": a.command,
            "data": a.data_description,
            "label_convention": a.convention,
            "real_data": {name: SOURCES[name] for name in a.real_sets},
            "train_config": meta.get("train_config"),
            "steps": meta.get("steps"),
            # each stage logs seconds since it started: the last record of each stage is its wall time
            "wall_time_s": round(sum(max(r["sec"] for r in logs if r["stage_index"] == s)
                                     for logs in run_logs for s in {r["stage_index"] for r in logs}), 1),
            "runs": [str(r) for r in runs],
        },
        "evaluation": {
            "data": a.eval_data, "hands": report.count, "negatives": report.negatives,
            "roll_angles_deg": list(report.roll_angles_deg),
            "aligned": numbers(report.aligned), "image_vae_decoder": numbers(report.image_vae),
            "aligned_visible_joints": numbers(visible.aligned),
            "image_vae_decoder_visible_joints": numbers(visible.image_vae),
            "keypoints_2d_px": round(report.keypoints_2d_px, 2), "presence_accuracy": round(report.presence_accuracy, 4),
            "visibility_roc_auc": round(report.visibility_auc, 4),
            **extra,
            **measured,
        },
    })
    print(f"wrote {a.out} (sha256 {entry['sha256'][:16]}..., {entry['bytes'] / 1e6:.1f} MB) and {manifest_of(a.out)}")


def numbers(m: PoseMetrics) -> dict[str, float]:
    """The manifest's summary of one path's metrics."""
    return {"epe_mean_mm": round(m.epe_mean_mm, 2), "epe_median_mm": round(m.epe_median_mm, 2),
            "auc_0_50": round(m.auc_0_50, 4), "auc_20_50_published": round(m.auc_20_50_published, 4),
            "auc_20_50_exact": round(m.auc_20_50_exact, 4), "pa_mpjpe_mm": round(m.pa_mpjpe_mm, 2)}


if __name__ == "__main__":
    main()
