"""Find the hands in recorded videos: annotated mp4 + per-frame JSON Lines + CSV (+ COCO-WholeBody).

    python -m apps.process_video                                  # the sample clip
    python -m apps.process_video my_clip.mp4 --smooth offline --coco
    python -m apps.process_video videos/ --out-root results        # every video in a folder
    python -m apps.process_video my_clip.mp4 --resume              # continue an interrupted run
    python -m apps.process_video videos/ --ray                     # on a local Ray, one worker per CPU
    python -m apps.process_video videos/ --ray HEAD:6379 --num-workers 8   # on a Ray cluster

Each video's outputs go to ``<out-root>/<name>/`` (default ``outputs/``; the name is the video's
stem made safe), one run per folder at a time:
``annotated.mp4``, ``poses.jsonl``, ``poses.csv``, ``summary.json`` and with ``--coco``
``coco_wholebody.json``. Progress is checkpointed every ``--checkpoint-every`` frames; after an
interruption (Ctrl-C, a crash, a reboot) ``--resume`` continues and ends with the same files an
uninterrupted run writes. Unreadable frames are skipped, counted and listed in ``summary.json``.
A video of a batch that cannot be processed is reported and the others still run. Exit status: 0
all done, 1 some videos failed or were incomplete (far fewer readable frames than the container
announces; their outputs are still written), 2 bad arguments, 130 interrupted (Ctrl-C), 143 stopped
by SIGTERM; after either the run resumes with ``--resume``.

With ``--ray`` the videos are spread over Ray workers, each holding a loaded pipeline, with the same
outputs per video (docs/ray.md; ``pip install -e '.[cluster]'``): a failed video is tried once more,
``--resume`` also skips videos whose outputs are complete, and a table of the videos ends the run.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path

from handpose.capture.open_source import is_stream_url
from handpose.capture.video_file import VIDEO_SUFFIXES
from handpose.errors import HandposeError, InputError
from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
from handpose.infer.roll_ensemble import DEFAULT_ROLL_ANGLES_DEG
from handpose.smooth.fixed_lag import DEFAULT_LAG_FRAMES
from handpose.video.interrupts import Terminated, raise_terminated
from handpose.video.job import VideoFailure, VideoJobOptions, process_many
from handpose.detect.detector import add_verbose_flag

SAMPLE_CLIP = Path(__file__).resolve().parent / "assets" / "sample_clip.mp4"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", type=Path, default=[SAMPLE_CLIP],
                        help="video files and/or folders of videos (default: the sample clip)")  # fmt: skip
    parser.add_argument("--out-root", type=Path, default=Path("outputs"), help="outputs go to OUT_ROOT/<name>/ (the video's stem, made safe)")
    parser.add_argument("--smooth", choices=("none", "live", "fixed-lag", "offline"), default="offline",
                        help="offline: zero-lag smoothing over the whole video (default); fixed-lag: what the live demo "
                             "shows, smoothed with --lag-frames frames of look-ahead; live: the pipeline's causal "
                             "filters (One Euro, Kalman on the position); none: raw per-frame output")  # fmt: skip
    parser.add_argument("--lag-frames", type=int, default=DEFAULT_LAG_FRAMES,
                        help=f"look-ahead of --smooth fixed-lag in frames (default {DEFAULT_LAG_FRAMES})")
    parser.add_argument("--coco", action="store_true", help="also write coco_wholebody.json")
    parser.add_argument("--no-video", action="store_true", help="do not write annotated.mp4")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    parser.add_argument("--checkpoint-every", type=int, default=100, help="frames per checkpoint (default 100)")
    parser.add_argument("--max-frames", type=int, default=None, help="process only the first N frames")
    parser.add_argument("--backend", choices=("onnxruntime", "torch", "tensorrt"), default="onnxruntime")
    parser.add_argument("--checkpoint", type=Path, default=None, help="model weights (default: models/ default)")
    parser.add_argument("--calibration", type=Path, default=None, help="camera intrinsics JSON (handpose.geometry.camera)")
    parser.add_argument("--num-hands", type=int, default=2)
    parser.add_argument("--hand-size-mm", type=float, default=None, help="middle-finger MCP->PIP length of the hand")
    parser.add_argument("--mirrored", action="store_true", help="the video is selfie-mirrored")
    parser.add_argument("--rolls", type=float, nargs="+", default=list(DEFAULT_ROLL_ANGLES_DEG),
                        help="test-time turns of each hand's crop in degrees "
                             f"(default {' '.join(map(str, DEFAULT_ROLL_ANGLES_DEG))}; 0 = one plain crop)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run on Ray: alone, a new local Ray (127.0.0.1 only); ADDRESS joins a cluster: 'auto', "
                             "HOST:PORT of the head, ray://HOST:PORT (put the videos before --ray)")  # fmt: skip
    parser.add_argument("--num-workers", type=int, default=None,
                        help="with --ray: workers, each with a loaded pipeline (default: one per CPU of the cluster)")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0, help="with --ray: Ray CPUs per worker (default 1)")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if args.ray is None and (args.num_workers is not None or args.cpus_per_worker != 1.0):
        parser.error("--num-workers and --cpus-per-worker need --ray")
    return args


def find_videos(inputs: list[Path]) -> list[Path]:
    """The video files named, and those directly inside the folders named, in order."""
    videos: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise InputError(f"folder {path} holds no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
            videos.extend(found)
        elif path.is_file():
            videos.append(path)
        elif is_stream_url(path):
            raise InputError(f"{path} is a live stream, not a recorded video: handpose-video reads video files and "
                             "folders of them (handpose-demo --source URL shows a stream)")
        else:
            raise InputError(f"{path} does not exist (expected a video file or a folder of videos)")
    return videos


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM stops like Ctrl-C (the checkpoint stays resumable); Python sets handlers in the main thread only
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, raise_terminated) if in_main else None
    try:
        videos = find_videos(args.inputs)
        extra = {} if args.hand_size_mm is None else {"hand_size_mm": args.hand_size_mm}
        config = PipelineConfig(backend=args.backend, checkpoint=args.checkpoint, calibration=args.calibration,
                                num_hands=args.num_hands, smoothing=args.smooth == "live",
                                mirrored_input=args.mirrored, roll_angles_deg=tuple(args.rolls), **extra)  # fmt: skip
        options = VideoJobOptions(
            smoothing="none" if args.smooth == "live" else args.smooth, lag_frames=args.lag_frames,
            coco=args.coco, annotate=not args.no_video,
            resume=args.resume, checkpoint_every=args.checkpoint_every, max_frames=args.max_frames,
            progress=not args.quiet, settings_id=json.dumps(asdict(config), default=str, sort_keys=True),
        )  # fmt: skip
        if args.ray is not None:
            return _run_on_ray(args, videos, config, options)
        results = process_many(videos, lambda: HandPosePipeline(config), args.out_root, options)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated)
        print("\ninterrupted: progress up to the last checkpoint is kept; run again with --resume", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except HandposeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    failed = [r for r in results if isinstance(r, VideoFailure) or r.incomplete]
    for result in results:
        if isinstance(result, VideoFailure):
            print(f"{result.video}: FAILED: {result.error}")
            continue
        skipped = len(result.skipped_frames)
        print(f"{result.video}: {result.frames_processed} frames, hands in {result.frames_with_hands}, "
              f"{skipped} unreadable frame{'s' if skipped != 1 else ''} skipped")  # fmt: skip
        for warning in result.warnings:
            print(f"  warning: {warning}", file=sys.stderr)
        for name, path in result.outputs.items():
            print(f"  {name:<7} {path}")
    if len(results) > 1:
        print(f"{len(results) - len(failed)} of {len(results)} videos done, {len(failed)} failed or incomplete")
    return 1 if failed else 0


def _run_on_ray(args: argparse.Namespace, videos: list[Path], config: PipelineConfig, options: VideoJobOptions) -> int:
    """The batch on Ray; the table of the videos; exit status 1 when any failed or is incomplete."""
    from handpose.video.cluster import RayOptions, run_on_ray, summary_table

    ray_options = RayOptions(address=args.ray or None, num_workers=args.num_workers,
                             cpus_per_worker=args.cpus_per_worker, progress=not args.quiet)  # fmt: skip
    outcomes = run_on_ray(videos, config, args.out_root, options, ray_options)
    for outcome in outcomes:
        for warning in outcome.result.warnings if outcome.result else ():
            print(f"{outcome.video}: warning: {warning}", file=sys.stderr)
    print(summary_table(outcomes))
    bad = sum(o.status in ("failed", "incomplete") for o in outcomes)
    print(f"{len(outcomes) - bad} of {len(outcomes)} videos done, {bad} failed or incomplete; outputs in {args.out_root}/")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
