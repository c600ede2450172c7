"""Checkpoints side by side on real and synthetic hands: one table, one JSON.

    python scripts/compare_models.py --checkpoints PREVIOUS.pt models/handpose_default.pt \
        --real shards:data/real/val --synthetic shards:data/synth_test --out docs/model_comparison.json

For each checkpoint:

* real validation photos (``handpose.eval.real_eval``): 2D error against the teacher in units of
  the hand's box side, PCK at 0.1 / 0.2, spread ratio, PA-MPJPE against MediaPipe's world
  landmarks for the aligned path and the image VAE's own decoder, the share of hands with a finger
  folded otherwise than the teacher's (fingers off); with each 2D decoding
  (``--decodings``), as a checkpoint can be read either way; and per real set (``--labels``: the
  labeller's log, which names each validation hand's set), for the checkpoint's own decoding;
* the check sets (``--check``; by default the ASL letter photos numbered 20 and up at their own
  aspect, ``data/asl_letters_3d/val``, when it is there: other photos than the validation split's,
  never trained in 3D), the same numbers, for the checkpoint's own decoding;
* the synthetic held-out set under the papers' protocol (``handpose.eval.evaluate``), visible
  joints and all joints, with its labels as the renderer makes them (the rig's joint centres) and
  moved onto MediaPipe's points (``handpose.data.convention``), the points a model trained with
  ``--convention mediapipe`` gives;
* with ``--consistency``: how far the answer moves when the photo is turned by ±30°
  (``scripts/real_photo_consistency.py``, all checkpoints in one run);
* with ``--benchmark-frames N``: ``apps.benchmark`` on ONNX Runtime for each checkpoint, N frames:
  the tracked frame against MediaPipe's video mode in the same run, and the model alone.

The real-hands issue's numbers for an old and a new default, in one command::

    python scripts/compare_models.py --checkpoints OLD.pt models/handpose_default.pt --decodings global \
        --consistency --benchmark-frames 300 --out docs/model_comparison.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from handpose.io.atomic import write_text_atomic
from handpose.data.convention import KeypointOffsets, MediaPipePoints
from handpose.data.datasets import open_dataset
from handpose.infer.roll_ensemble import RollEnsemble
from handpose.model.checkpoint import load_model
from handpose.eval.evaluate import evaluate
from handpose.eval.real_eval import evaluate_real
from handpose.errors import one_line_errors


#: the check set compare_models scores when it is there: the ASL letter photos never trained in 3D
DEFAULT_CHECK_DIR = Path("data/asl_letters_3d/val")
DEFAULT_CHECK = f"shards:{DEFAULT_CHECK_DIR}"


def check_name(spec: str) -> str:
    """A check set's name in the report: its folder's path without ``shards:`` and ``data/``, ``_``
    for ``/`` (``shards:data/asl_letters_3d/val`` -> ``check_asl_letters_3d_val``)."""
    path = spec.partition(":")[2] or spec
    return "check_" + path.removeprefix("data/").strip("/").replace("/", "_")


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoints", type=Path, nargs="+", required=True)
    p.add_argument("--real", default="shards:data/real/val", help="teacher-labelled real photos (data spec)")
    p.add_argument("--synthetic", default="shards:data/synth_test", help="held-out renders (data spec)")
    p.add_argument("--decodings", nargs="+", choices=["global", "local"], default=["global", "local"])
    p.add_argument("--labels", type=Path, default=Path("data/real/labels.jsonl"),
                   help="apps.pseudo_label's log, for the numbers per real set (skipped when absent)")
    p.add_argument("--check", nargs="*", default=None,
                   help="more teacher-labelled photos (data specs) scored apart; default: "
                        f"{DEFAULT_CHECK} when it exists (handpose-pseudo-label --source asl_letters_3d)")
    p.add_argument("--consistency", action="store_true", help="also the answer's movement under a ±30° turn")
    p.add_argument("--benchmark-frames", type=int, default=0,
                   help="also apps.benchmark (ONNX Runtime) for each checkpoint, this many frames (0: not)")
    p.add_argument("--out", type=Path, required=True, help="JSON report")
    a = p.parse_args(argv)
    real = open_dataset(a.real, "test")
    by_set = val_sets(a.labels) if a.labels.is_file() else {}
    check_specs = a.check if a.check is not None else [DEFAULT_CHECK] if DEFAULT_CHECK_DIR.is_dir() else []
    checks = {check_name(spec): open_dataset(spec, "test") for spec in check_specs}
    synth = open_dataset(a.synthetic, "test")
    synth_mp = MediaPipePoints(synth, KeypointOffsets.load())
    plain = RollEnsemble((0.0,))
    report: dict[str, dict[str, object]] = {}
    for checkpoint in a.checkpoints:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an older checkpoint without the visibility head
            model = load_model(checkpoint)
        row: dict[str, object] = {"keypoint_decode": model.config.keypoint_decode}
        heads = model.image_vae.encoder.keypoints
        for decode in a.decodings:
            heads.decode = decode
            row[f"real_{decode}"] = evaluate_real(model, real, a.real).to_json()
        heads.decode = model.config.keypoint_decode
        for set_name, indices in by_set.items():
            row[f"real_{set_name}"] = evaluate_real(model, [real[i] for i in indices], set_name).to_json()
        for name, data in checks.items():
            row[f"real_{name}"] = evaluate_real(model, data, name).to_json()
        for name, data in (("rig_points", synth), ("mediapipe_points", synth_mp)):
            for visible_only in (True, False):
                r = evaluate(model, data, a.synthetic, visible_only=visible_only, ensemble=plain).to_json()
                key = f"synthetic_{name}_{'visible' if visible_only else 'all'}_joints"
                row[key] = {k: r[k] for k in ("aligned", "image_vae", "keypoints_2d_px", "presence_accuracy",
                                              "visibility_auc")}
        report[str(checkpoint)] = row
    with tempfile.TemporaryDirectory() as tmp:
        if a.consistency:
            out = Path(tmp) / "consistency.json"
            _run_script(["scripts/real_photo_consistency.py", "--checkpoints", *map(str, a.checkpoints), "--out", str(out)])
            for name, numbers in json.loads(out.read_text())["checkpoints"].items():
                report[name]["turn_consistency"] = numbers
        if a.benchmark_frames:
            for checkpoint in a.checkpoints:
                out = Path(tmp) / "benchmark.json"
                _run_script(["-m", "apps.benchmark", "--checkpoint", str(checkpoint), "--frames",
                             str(a.benchmark_frames), "--backends", "onnxruntime", "--batches", "1", "--json", str(out),
                             "--plot", str(Path(tmp) / "latency.png")])
                report[str(checkpoint)]["benchmark"] = _benchmark_numbers(json.loads(out.read_text()))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(a.out, json.dumps({"real": a.real, "checks": check_specs, "synthetic": a.synthetic,
                                         "checkpoints": report}, indent=1) + "\n")
    print_table(report)
    print(f"wrote {a.out}")


def _run_script(args: list[str]) -> None:
    """Run ``python ARGS`` from the repository root; its output goes to this one's."""
    subprocess.run([sys.executable, *args], check=True, cwd=Path(__file__).resolve().parents[1])


def _benchmark_numbers(result: dict) -> dict[str, float]:
    """The headline of an apps.benchmark JSON: medians in ms and the tracked frame / MediaPipe ratio."""
    pipeline, model = result["pipelines"][0], result["models"][0]
    tracked, mediapipe = pipeline["total_steady"]["p50"], pipeline["mediapipe_video"]["p50"]
    return {"tracked_frame_ms": round(tracked, 3), "mediapipe_video_ms": round(mediapipe, 3),
            "tracked_over_mediapipe": round(tracked / mediapipe, 3),
            "model_alone_ms": round(model["latency"]["p50"], 3), "frames": result["frames"]}


def val_sets(labels: Path) -> dict[str, list[int]]:
    """{set name: indices of its hands in the validation shards}, from the labeller's log."""
    out: dict[str, list[int]] = {}
    for line in labels.read_text().splitlines():
        entry = json.loads(line)
        if entry["split"] == "val":
            out.setdefault(entry["set"], []).extend(h["split_index"] for h in entry["hands"] if "split_index" in h)
    return out


def print_table(report: dict[str, dict[str, object]]) -> None:
    """The headline numbers of each checkpoint, one row each."""
    head = (f"{'checkpoint':<34}{'decode':>7}{'2D/box':>8}{'median':>8}{'PCK.1':>7}{'PCK.2':>7}{'spread':>8}"
            f"{'PA mm':>7}{'PA vae':>8}{'3D img':>8}{'fing.off':>9}"
            f"{'AUC vis':>9}{'EPE vis':>9}{'AUC all':>9}{'AUC MP':>8}{'vis AUC':>8}")
    print(head)
    for name, row in report.items():
        for decode in ("global", "local"):
            r = row.get(f"real_{decode}")
            if not isinstance(r, dict):
                continue
            syn = {k: row[f"synthetic_{k}"] for k in ("rig_points_visible_joints", "rig_points_all_joints",
                                                       "mediapipe_points_visible_joints")}
            aligned = {k: v["aligned"] for k, v in syn.items()}  # type: ignore[index]
            print(f"{name[-34:]:<34}{decode:>7}{r['kp_error_mean']:>8.4f}{r['kp_error_median']:>8.4f}"
                  f"{r['pck_10']:>7.3f}{r['pck_20']:>7.3f}{r['spread_ratio']:>8.3f}{r['pa_mpjpe_mm']:>7.2f}"
                  f"{r['pa_mpjpe_image_vae_mm']:>8.2f}{r['pose_in_image_error']:>8.4f}{r['fingers_off']:>9.3f}"
                  f"{aligned['rig_points_visible_joints']['auc_20_50_published']:>9.3f}"
                  f"{aligned['rig_points_visible_joints']['epe_mean_mm']:>9.2f}"
                  f"{aligned['rig_points_all_joints']['auc_20_50_published']:>9.3f}"
                  f"{aligned['mediapipe_points_visible_joints']['auc_20_50_published']:>8.3f}"
                  f"{syn['rig_points_all_joints']['visibility_auc']:>8.3f}")  # type: ignore[index]
        turn, bench = row.get("turn_consistency"), row.get("benchmark")
        if isinstance(turn, dict):
            print(f"{'':<34}{'±30° turn':>16}: {turn['hands']} photos, answer moves {turn['gap_3d_mm_median']:.1f} mm "
                  f"(3D, median), {turn['gap_2d_px_median']:.1f} px (2D)")
        if isinstance(bench, dict):
            print(f"{'':<34}{'speed':>16}: tracked frame {bench['tracked_frame_ms']:.2f} ms / MediaPipe "
                  f"{bench['mediapipe_video_ms']:.2f} ms = {bench['tracked_over_mediapipe']:.2f}x; model alone "
                  f"{bench['model_alone_ms']:.2f} ms")
        for key, r in row.items():
            if key.startswith("real_") and key not in ("real_global", "real_local") and isinstance(r, dict):
                print(f"{'':<34}{key[5:]:>16}: {r['hands']} hands, 2D {r['kp_error_mean']:.4f}, spread "
                      f"{r['spread_ratio']:.3f}, PA {r['pa_mpjpe_mm']:.2f} mm (image VAE "
                      f"{r['pa_mpjpe_image_vae_mm']:.2f}), 3D in the image {r['pose_in_image_error']:.4f}, "
                      f"fingers off {r['fingers_off']:.3f}")


if __name__ == "__main__":
    main()
