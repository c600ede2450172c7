"""Soak benchmark of the video job: memory through a long run, the finishing pass included.

A video of ``--frames`` frames (default 10,000) is made by looping the sample clip; ``handpose-video``
(default settings: offline smoothing, annotated video, JSONL, CSV) runs on it in a child process
while this script samples the child's resident memory (VmRSS) every ``--every`` seconds. The
frame loop is over when the job's checkpoint says all frames are done; what follows is the
finishing pass (smoothing, writing the outputs, the annotated video).

Reported (table + JSON):

* RSS at 10% of the frames, at the end of the frame loop, and its slope over the loop (least
  squares, MB per 1,000 frames);
* the finishing pass's peak above the loop's end, and the overall peak;
* for comparison, measured in the same run: how much memory holding all of the run's records at
  once takes (``list(read_jsonl(poses.jsonl))`` in a fresh process), which is what the finishing
  pass held before it streamed.

Usage: ``python benchmarks/bench_soak.py [--frames 10000] [--json docs/soak.json]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CLIP = REPO / "apps" / "assets" / "sample_clip.mp4"


def make_long_video(path: Path, frames: int) -> None:
    """``frames`` frames of the sample clip played over and over (mp4v, its size and frame rate)."""
    capture = cv2.VideoCapture(str(SAMPLE_CLIP))
    fps = capture.get(cv2.CAP_PROP_FPS)
    clip = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        clip.append(image)
    capture.release()
    height, width = clip[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for i in range(frames):
        writer.write(clip[i % len(clip)])
    writer.release()


def rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MB, None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def frames_done(out_dir: Path) -> int:
    """Frames the job's checkpoint says are done (0 before the first checkpoint)."""
    try:
        return int(json.loads((out_dir / ".partial" / "progress.json").read_text())["next_frame"])
    except (FileNotFoundError, ValueError, KeyError):
        return 0


def soak(video: Path, out_root: Path, frames: int, every_s: float) -> dict[str, float]:
    out_dir = out_root / video.stem
    child = subprocess.Popen([sys.executable, "-m", "apps.process_video", str(video), "--out-root", str(out_root),
                              "--quiet"], cwd=REPO, stdout=subprocess.DEVNULL)
    samples: list[tuple[float, float, int]] = []  # (seconds, RSS MB, frames done)
    start = time.monotonic()
    loop_end: float | None = None
    while child.poll() is None:
        rss = rss_mb(child.pid)
        done = frames_done(out_dir) if loop_end is None else frames
        now = time.monotonic() - start
        if rss is not None:
            samples.append((now, rss, done))
        if loop_end is None and done >= frames:
            loop_end = now
        time.sleep(every_s)
    if child.returncode != 0:
        raise SystemExit(f"handpose-video exited with {child.returncode}")
    t, rss, done = (np.array(c, np.float64) for c in zip(*samples, strict=True))
    loop_end = t[-1] if loop_end is None else loop_end
    in_loop = (done >= 0.1 * frames) & (t <= loop_end)
    slope = np.polyfit(done[in_loop], rss[in_loop], 1)[0] * 1000.0 if in_loop.sum() >= 3 else float("nan")
    at_loop_end = float(rss[t <= loop_end][-1])
    return {
        "frames": frames,
        "seconds": float(t[-1]),
        "frame_loop_seconds": float(loop_end),
        "rss_at_10pct_mb": float(rss[in_loop][0]) if in_loop.any() else float("nan"),
        "rss_at_loop_end_mb": at_loop_end,
        "loop_slope_mb_per_1000_frames": float(slope),
        "finishing_peak_above_loop_end_mb": float(rss[t > loop_end].max() - at_loop_end) if (t > loop_end).any() else 0.0,
        "peak_mb": float(rss.max()),
        "samples": len(samples),
    }


def records_in_memory_mb(poses: Path) -> float:
    """RSS growth of a fresh process that reads all of ``poses`` into a list of records."""
    code = (
        "import sys\n"
        "from handpose.io.jsonl_writer import read_jsonl\n"
        "def rss():\n"
        "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:')) / 1024\n"
        "before = rss()\n"
        f"records = list(read_jsonl({str(poses)!r}))\n"
        "print(rss() - before, len(records))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--every", type=float, default=0.25, help="seconds between RSS samples")
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here too")
    args = parser.parse_args(argv)
    if args.frames < 100:
        raise SystemExit(f"error: --frames of at least 100 expected, got {args.frames}")
    with tempfile.TemporaryDirectory(prefix="handpose-soak-") as work:
        video = Path(work) / "soak.mp4"
        make_long_video(video, args.frames)
        result = soak(video, Path(work) / "out", args.frames, args.every)
        result["all_records_in_memory_mb"] = records_in_memory_mb(Path(work) / "out" / "soak" / "poses.jsonl")
    rows = [
        ("frames", f"{result['frames']}"),
        ("wall time (frame loop)", f"{result['seconds']:.0f} s ({result['frame_loop_seconds']:.0f} s)"),
        ("RSS at 10% of the frames", f"{result['rss_at_10pct_mb']:.0f} MB"),
        ("RSS at the end of the frame loop", f"{result['rss_at_loop_end_mb']:.0f} MB"),
        ("slope over the frame loop", f"{result['loop_slope_mb_per_1000_frames']:.2f} MB per 1,000 frames"),
        ("finishing pass, peak above the loop's end", f"{result['finishing_peak_above_loop_end_mb']:.0f} MB"),
        ("peak RSS", f"{result['peak_mb']:.0f} MB"),
        ("all records held at once (what the finishing pass held before)", f"{result['all_records_in_memory_mb']:.0f} MB"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
