"""Frames/s of the video job in one process and on a local Ray with 1 and 2 workers, and Ray's overhead per video.

    python benchmarks/bench_ray.py                                    # 4 copies of the sample clip, 3 runs each
    python benchmarks/bench_ray.py --videos 4 --frames 24 --runs 2 --rolls 0 --json ray_bench.json

The batch is ``--videos`` copies of ``--video`` (distinct names), each processed up to ``--frames``
frames with the app's default outputs (annotated video, offline smoothing). Each setting runs
``--runs`` times into a fresh output folder; the table gives medians. Times exclude loading the
pipeline (one process) and starting the workers (Ray: given apart, once per worker count).
"Overhead per video" is the driver's time for a video minus the time the worker spent inside the
job: dispatch, argument and result transfer, the progress polls. Needs the 'cluster' extra (Ray).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from handpose.errors import HandposeError, InputError
from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
from handpose.infer.roll_ensemble import DEFAULT_ROLL_ANGLES_DEG
from handpose.video.cluster import LOOPBACK_ENV, RayOptions, RayVideoRunner, VideoOutcome
from handpose.video.job import VideoFailure, VideoJobOptions, process_many

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Row:
    """One setting's runs: wall seconds per run, frames per run, worker start-up, Ray's overhead per video."""

    setting: str
    runs_s: list[float]
    frames: int
    startup_s: float | None = None
    overheads_s: list[float] | None = None

    @property
    def median_s(self) -> float:
        return statistics.median(self.runs_s)

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.median_s

    @property
    def overhead_ms(self) -> float | None:
        return None if self.overheads_s is None else 1000 * statistics.median(self.overheads_s)

    def as_dict(self) -> dict[str, object]:
        return {"setting": self.setting, "median_s": round(self.median_s, 3), "frames_per_s": round(self.frames_per_s, 1),
                "runs_s": [round(t, 3) for t in self.runs_s],
                "startup_s": None if self.startup_s is None else round(self.startup_s, 2),
                "overhead_per_video_ms": None if self.overhead_ms is None else round(self.overhead_ms, 1)}  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=REPO / "apps" / "assets" / "sample_clip.mp4")
    parser.add_argument("--videos", type=int, default=4, help="copies of --video in the batch (default 4)")
    parser.add_argument("--frames", type=int, default=None, help="frames per video (default: all)")
    parser.add_argument("--runs", type=int, default=3, help="runs per setting; the table gives medians (default 3)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray worker counts (default 1 2)")
    parser.add_argument("--rolls", type=float, nargs="+", default=list(DEFAULT_ROLL_ANGLES_DEG),
                        help="test-time crop turns, as handpose-video --rolls")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    if not args.video.is_file():
        parser.error(f"--video {args.video} does not exist")
    if min(args.videos, args.runs, *args.workers) < 1 or (args.frames is not None and args.frames < 1):
        parser.error("--videos, --frames, --runs and --workers take numbers >= 1")
    return args


def single_process(videos: list[Path], config: PipelineConfig, options: VideoJobOptions, out: Path) -> float:
    """Seconds the one-process job takes for the batch, the pipeline's loading left out."""
    loaded: list[float] = []

    def make_pipeline() -> HandPosePipeline:
        started = time.perf_counter()
        pipeline = HandPosePipeline(config)
        loaded.append(time.perf_counter() - started)
        return pipeline

    started = time.perf_counter()
    results = process_many(videos, make_pipeline, out, options)
    failed = [r.error for r in results if isinstance(r, VideoFailure)]
    if failed:
        raise InputError(f"the single-process run failed: {failed[0]}")
    return time.perf_counter() - started - loaded[0]


def on_ray(runner: RayVideoRunner, videos: list[Path], options: VideoJobOptions, out: Path) -> tuple[float, list[VideoOutcome]]:
    started = time.perf_counter()
    outcomes = runner.run(videos, out, options)
    failed = [o.error for o in outcomes if o.status == "failed"]
    if failed:
        raise InputError(f"the Ray run failed: {failed[0]}")
    return time.perf_counter() - started, outcomes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault(LOOPBACK_ENV, "0")  # before Ray is imported: the local Ray listens on 127.0.0.1 only
    try:
        import ray
    except ImportError:
        print("error: the benchmark needs Ray: pip install -e '.[cluster]'", file=sys.stderr)
        return 2

    config = PipelineConfig(smoothing=False, roll_angles_deg=tuple(args.rolls))
    options = VideoJobOptions(smoothing="offline", max_frames=args.frames, progress=False, settings_id="bench")
    with tempfile.TemporaryDirectory(prefix="bench_ray.") as tmp:
        root = Path(tmp)
        videos = []
        for i in range(args.videos):
            videos.append(root / "videos" / f"clip{i}{args.video.suffix}")
            videos[-1].parent.mkdir(exist_ok=True)
            shutil.copyfile(args.video, videos[-1])

        def fresh(name: str) -> Path:
            shutil.rmtree(root / name, ignore_errors=True)
            return root / name

        seconds: dict[str, list[float]] = {"1 process": []}
        startup: dict[str, float] = {}
        overhead: dict[str, list[float]] = {}
        frames = 0
        try:
            for _ in range(args.runs):
                seconds["1 process"].append(single_process(videos, config, options, fresh("single")))
            frames = sum(json.loads((root / "single" / v.stem / "summary.json").read_text())["frames_processed"]
                         for v in videos)  # fmt: skip
            ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False, logging_level=logging.WARNING)
            for count in args.workers:
                name = f"Ray, {count} worker{'s' if count > 1 else ''}"
                started = time.perf_counter()
                with RayVideoRunner(config, RayOptions(num_workers=count, progress=False)) as runner:
                    startup[name] = time.perf_counter() - started
                    seconds[name], overhead[name] = [], []
                    for _ in range(args.runs):
                        wall, outcomes = on_ray(runner, videos, options, fresh("ray"))
                        seconds[name].append(wall)
                        overhead[name].extend(o.seconds - o.job_seconds for o in outcomes)
        except HandposeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        finally:
            ray.shutdown()
    rows = [Row(name, times, frames, startup.get(name), overhead.get(name)) for name, times in seconds.items()]
    print(f"{args.videos} videos, {frames} frames in all, {args.runs} runs each, rolls {args.rolls}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'setting':<16} {'median s':>9} {'frames/s':>9} {'vs 1 process':>13} {'start-up s':>11} {'overhead/video ms':>18}")
    for row in rows:
        start = "-" if row.startup_s is None else f"{row.startup_s:.1f}"
        over = "-" if row.overhead_ms is None else f"{row.overhead_ms:.1f}"
        print(f"{row.setting:<16} {row.median_s:>9.2f} {row.frames_per_s:>9.1f} "
              f"{rows[0].median_s / row.median_s:>12.2f}x {start:>11} {over:>18}")  # fmt: skip
    if args.json is not None:
        doc = {"command": "python benchmarks/bench_ray.py " + " ".join(sys.argv[1:] if argv is None else argv),
               "videos": args.videos, "frames": frames, "runs": args.runs, "rolls": args.rolls,
               "cpus": os.cpu_count(), "rows": [row.as_dict() for row in rows]}  # fmt: skip
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
