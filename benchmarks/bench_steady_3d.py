"""Steady 3D benchmark: how much the camera-space hand trembles, before and after, side by side.

Runs ``apps.process_video`` (no, live, fixed-lag and offline smoothing) on

* the sample clip (rendered, with ground truth): 3D jitter per hand next to the ground truth's,
  EPE (palm-rooted, scale-aligned), palm position error (mm, no alignment), handedness flips per
  100 frames;
* a real video (default ``../shared/data/real_hands/asl_video/asl_hand.25fps.mp4``; skipped with a
  line when absent): frame-to-frame change of the wrist's depth (std, mm), 3D jitter (mm/s^2) and
  handedness flips per 100 frames;

and for both the lag of the live filters (the time shift that best aligns their palm track with the
unsmoothed run's) and their latency: that lag plus, for fixed-lag smoothing, the frames it waits
(``--lag-frames``, one by default: the live demo's),

once with this checkout and once with ``--baseline REV`` (a git worktree of that revision, run with
the same Python), then prints one table and writes JSON. Scores come from this checkout's code, the
sample clip's ground truth moved onto the points the model outputs (``handpose.eval.clip``).

    python benchmarks/bench_steady_3d.py --baseline db45616 --json outputs/bench_steady_3d.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handpose.eval.clip import evaluate_clip  # noqa: E402
from handpose.geometry.crop import square_box  # noqa: E402
from handpose.io.frame_record import FrameRecord  # noqa: E402
from handpose.io.jsonl_writer import read_jsonl  # noqa: E402
from handpose.skeleton import palm_root  # noqa: E402
from handpose.smooth.fixed_lag import DEFAULT_LAG_FRAMES  # noqa: E402

SAMPLE_CLIP = ROOT / "apps" / "assets" / "sample_clip.mp4"
SAMPLE_GT = ROOT / "apps" / "assets" / "sample_clip_gt.npz"
REAL_VIDEO = ROOT.parent / "shared" / "data" / "real_hands" / "asl_video" / "asl_hand.25fps.mp4"
MODES = ("none", "live", "fixed-lag", "offline")
#: modes whose output is live (causal): their lag and latency are measured
LIVE_MODES = ("live", "fixed-lag")


def process(tree: Path, video: Path, out_root: Path, smooth: str) -> list[FrameRecord] | None:
    """Run ``apps.process_video`` of ``tree`` on ``video``; its records (None: that tree has no such
    ``--smooth`` mode)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-m", "apps.process_video", str(video), "--out-root", str(out_root),
                           "--smooth", smooth, "--no-video", "--quiet"], cwd=tree, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode == 2 and "invalid choice" in done.stderr:
        return None
    if done.returncode != 0:
        raise RuntimeError(f"process_video --smooth {smooth} failed in {tree}: {done.stderr.strip()}")
    return list(read_jsonl(out_root / video.stem / "poses.jsonl"))


def flips_per_100(records: list[FrameRecord]) -> float:
    """Label changes between a hand and the nearest hand of the next frame (if within half its box)."""
    flips = 0
    for a, b in zip(records, records[1:]):
        for hand in a.hands:
            centre, side = square_box(hand.keypoints_px)
            distances = [float(np.linalg.norm(square_box(h.keypoints_px)[0] - centre)) for h in b.hands]
            if distances and min(distances) < 0.5 * side:
                if b.hands[int(np.argmin(distances))].handedness != hand.handedness:
                    flips += 1
    return 100.0 * flips / max(1, len(records))


def _runs(records: list[FrameRecord]) -> list[np.ndarray]:
    """Stretches of consecutive frames with exactly one hand: its joints (T, 21, 3) mm."""
    runs, current = [], []
    for r in records:
        if len(r.hands) == 1:
            current.append(np.asarray(r.hands[0].joints_cam_mm, np.float64))
        elif current:
            runs.append(np.array(current))
            current = []
    if current:
        runs.append(np.array(current))
    return [r for r in runs if len(r) >= 3]


def real_video_scores(records: list[FrameRecord], fps: float) -> dict[str, float]:
    runs = _runs(records)
    depth_steps = np.concatenate([np.diff(r[:, 0, 2]) for r in runs]) if runs else np.array([np.nan])
    acc = [np.linalg.norm(np.diff(r, 2, axis=0), axis=-1).mean(axis=-1) * fps * fps for r in runs]
    return {
        "frames_one_hand": int(sum(len(r) for r in runs)),
        "wrist_depth_step_std_mm": float(np.std(depth_steps)),
        "jitter_mm_s2": float(np.mean(np.concatenate(acc))) if acc else float("nan"),
        "flips_per_100_frames": flips_per_100(records),
    }


def _palm_track(records: list[FrameRecord], side: str) -> dict[int, np.ndarray]:
    tracks = {}
    for r in records:
        hands = [p for p in r.hands if p.handedness == side]
        if hands:
            tracks[r.frame] = palm_root(np.asarray(max(hands, key=lambda p: p.presence).joints_cam_mm, np.float64))
    return tracks


def live_lag_ms(live: list[FrameRecord], raw: list[FrameRecord]) -> float:
    """The live filter's lag: the time shift (ms, 0-300) that best aligns its palm tracks with
    those of the same run unsmoothed (``--smooth none``), raw interpolated in time."""
    times = {r.frame: r.timestamp_s for r in raw}
    best = (0.0, np.inf)
    for shift_ms in range(0, 301, 5):
        errors = []
        for side in ("left", "right"):
            filtered, unfiltered = _palm_track(live, side), _palm_track(raw, side)
            frames = sorted(set(filtered) & set(unfiltered))
            if len(frames) < 10:
                continue
            t = np.array([times[f] for f in frames])
            y = np.array([unfiltered[f] for f in frames])
            earlier = np.stack([np.interp(t - shift_ms / 1e3, t, y[:, k]) for k in range(3)], axis=1)
            errors.extend(np.linalg.norm(np.array([filtered[f] for f in frames]) - earlier, axis=1)[10:])
        if errors and np.mean(errors) < best[1]:
            best = (float(shift_ms), float(np.mean(errors)))
    return best[0]


def sample_clip_scores(records: list[FrameRecord]) -> dict[str, float]:
    result = evaluate_clip(records, SAMPLE_GT)
    scores = {
        "hands_found": result.detection_rate, "epe_mm": result.epe_mm,
        "palm_position_error_mm": result.palm_position_error_mm,
        "flips_per_100_frames": flips_per_100(records),
        **{f"jitter_{s}_mm_s2": v for s, v in result.jitter_mm_s2.items()},
        **{f"gt_jitter_{s}_mm_s2": v for s, v in result.gt_jitter_mm_s2.items()},
    }
    return scores


def measure(tree: Path, real_video: Path | None, work: Path) -> dict[str, dict[str, dict[str, float]]]:
    import cv2

    out: dict[str, dict[str, dict[str, float]]] = {"sample_clip": {}, "real_video": {}}
    videos = {"sample_clip": SAMPLE_CLIP, **({"real_video": real_video} if real_video is not None else {})}
    for name, video in videos.items():
        capture = cv2.VideoCapture(str(video))
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        capture.release()
        runs = {mode: process(tree, video, work / f"{name}_{mode}", mode) for mode in MODES}
        for mode, records in runs.items():
            if records is None:
                continue
            scores = sample_clip_scores(records) if name == "sample_clip" else real_video_scores(records, fps)
            if mode in LIVE_MODES:
                scores["live_lag_ms"] = live_lag_ms(records, runs["none"])
                waited = DEFAULT_LAG_FRAMES * 1000.0 / fps if mode == "fixed-lag" else 0.0
                scores["latency_ms"] = scores["live_lag_ms"] + waited
            out[name][mode] = scores
    return out


def baseline_tree(rev: str, work: Path) -> Path:
    tree = work / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    task = ROOT / "models" / "hand_landmarker.task"  # not in git: fetched by scripts/setup.sh
    if task.is_file() and not (tree / "models" / task.name).exists():
        (tree / "models" / task.name).symlink_to(task)
    return tree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=None, help="git revision to compare with (e.g. the commit before)")
    parser.add_argument("--real-video", type=Path, default=REAL_VIDEO)
    parser.add_argument("--json", type=Path, default=Path("outputs/bench_steady_3d.json"))
    args = parser.parse_args(argv)
    real_video = args.real_video if args.real_video.is_file() else None
    if real_video is None:
        print(f"real video {args.real_video} not found: sample clip only")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        trees = {"after": ROOT}
        if args.baseline:
            trees = {"before": baseline_tree(args.baseline, work), **trees}
        try:
            for label, tree in trees.items():
                results[label] = measure(tree, real_video, work / label)
        finally:
            if args.baseline:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "baseline")],
                               check=False)
    labels = list(results)
    print(f"{'video':12} {'smoothing':9} {'measure':28} " + " ".join(f"{x:>10}" for x in labels))
    for video in ("sample_clip", "real_video"):
        for mode in MODES:
            keys = results[labels[-1]][video].get(mode, {})
            for key in keys:
                values = [results[x][video].get(mode, {}).get(key, float("nan")) for x in labels]
                print(f"{video:12} {mode:9} {key:28} " + " ".join(f"{v:10.3f}" for v in values))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"baseline": args.baseline, "real_video": str(real_video), **results}, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
