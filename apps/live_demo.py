"""Live 3D hand pose: camera (or any source) -> pipeline -> Qt window or Open3D window.

    python -m apps.live_demo                                  # webcam 0, Qt window
    python -m apps.live_demo --source clip.mp4 --viewer open3d
    python -m apps.live_demo --source recording.bag           # RealSense recording (depth used)
    xvfb-run -a python -m apps.live_demo --source apps/assets/sample_clip.mp4 --max-frames 60 \\
        --screenshot docs/demo_screenshot.png                 # headless: run, save a screenshot, exit
    python -m apps.live_demo --record-adaptation 20s          # record 20 s of your hand (a preview window
                                                              # shows it; Q/Esc cancels), adapt the model
                                                              # to it (handpose-adapt), then show it live

Sources: 'webcam[:N]', 'realsense', a .bag/.db3 recording, a video file, a folder of images or an
RGB-D folder (see handpose.capture.open_source). Keys: S smoothing, M mirroring (selfie view),
B backend, Space pause, Q/Esc quit. Webcams start mirrored; other sources do not.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from handpose.adapt.finetune import AdaptConfig
from handpose.adapt.record import RecordingCancelled
from handpose.capture import open_source
from handpose.errors import HandposeError, LoopError
from handpose.infer.pipeline import PipelineConfig
from handpose.live.session import LiveSession
from handpose.smooth.fixed_lag import DEFAULT_LAG_FRAMES
from handpose.detect.detector import add_verbose_flag
from handpose.io.atomic import check_writable_file


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="webcam:0", help="frame source (default webcam:0)")
    parser.add_argument("--viewer", choices=("qt", "open3d"), default="qt")
    parser.add_argument("--backend", choices=("onnxruntime", "torch", "tensorrt"), default="onnxruntime")
    parser.add_argument("--checkpoint", type=Path, default=None, help="model weights (default: models/ default)")
    parser.add_argument("--calibration", type=Path, default=None, help="camera intrinsics JSON")
    parser.add_argument("--num-hands", type=int, default=2)
    parser.add_argument("--no-smoothing", action="store_true", help="start with smoothing off")
    parser.add_argument("--lag-frames", type=int, default=DEFAULT_LAG_FRAMES,
                        help="show each frame this many frames late, its hands smoothed with the frames after it "
                             f"(default {DEFAULT_LAG_FRAMES}: steadier; 0: no delay, the causal filters)")  # fmt: skip
    parser.add_argument("--mirror", choices=("auto", "on", "off"), default="auto",
                        help="selfie view (auto: on for webcams)")  # fmt: skip
    parser.add_argument("--detect-every-frame", action="store_true",
                        help="run MediaPipe on every frame instead of tracking (for folders of unrelated stills)")  # fmt: skip
    parser.add_argument("--max-frames", type=int, default=None, help="quit after N frames")
    parser.add_argument("--screenshot", type=Path, default=None, help="save a PNG (+ .json) of the window at the end")
    parser.add_argument("--headless", action="store_true", help="open3d viewer: render offscreen, no window")
    parser.add_argument("--no-pace", action="store_true", help="process files as fast as possible")
    parser.add_argument("--record-adaptation", default=None, metavar="DURATION",
                        help="first record DURATION (e.g. 20s) of the source, adapt the model to it and run with "
                             "the result (see handpose-adapt)")
    parser.add_argument("--adapt-out", type=Path, default=Path("models/my_hand.pt"),
                        help="the adapted checkpoint --record-adaptation writes (the clip goes next to it)")
    parser.add_argument("--adapt-minutes", type=float, default=AdaptConfig.minutes,
                        help="fine-tuning budget of --record-adaptation")
    add_verbose_flag(parser)
    return parser.parse_args(argv)


def record_and_adapt(args: argparse.Namespace) -> Path:
    """Record ``--record-adaptation`` of the source next to ``--adapt-out`` (with the Qt viewer a preview
    window shows it; Q/Esc there cancels: RecordingCancelled), say how many frames had a hand, adapt to
    it; the checkpoint."""
    from handpose.adapt.job import AdaptRequest, run_adaptation
    from handpose.adapt.record import HandCounter, parse_duration_s, record_clip

    seconds = parse_duration_s(args.record_adaptation)
    check_writable_file(args.adapt_out)
    clip_path = args.adapt_out.with_suffix(".clip.mp4")
    print(f"recording {seconds:g} s for the adaptation: show your hand, turn it, open and close it ...")
    with HandCounter() as counter, open_source(args.source) as source:
        if args.viewer == "qt":
            from handpose.viz.record_preview import RecordPreview

            with RecordPreview(counter, mirror=mirrored(args)) as preview:
                clip = record_clip(source, seconds, clip_path, on_frame=preview)
        else:  # no window (open3d viewer, maybe headless): blind, the hands still counted
            clip = record_clip(source, seconds, clip_path, on_frame=counter)
    print(f"recorded {clip.frames} frames ({clip.seconds:.1f} s) to {clip.path}; {counter.summary()}")
    warning = counter.warning()
    if warning is not None:
        print(warning)
    print(f"adapting (about {args.adapt_minutes:g} min of fine-tuning)")
    report = run_adaptation(AdaptRequest((str(clip.path),), args.adapt_out, AdaptConfig(minutes=args.adapt_minutes),
                                         base=args.checkpoint))
    print(report.text())
    return args.adapt_out


def mirrored(args: argparse.Namespace) -> bool:
    """Whether the frames are shown mirrored (selfie view): ``--mirror``, auto = on for webcams."""
    return args.source.startswith("webcam") if args.mirror == "auto" else args.mirror == "on"


def run(args: argparse.Namespace, scratch: Path) -> int:
    """Open the source, build the session, run the chosen viewer; return the frames shown."""
    source = open_source(args.source)
    try:
        calibration = args.calibration
        if calibration is None and source.intrinsics is not None:  # depth cameras and RGB-D folders know theirs
            calibration = scratch / "source_intrinsics.json"
            source.intrinsics.save(calibration)
        mirror = mirrored(args)
        config = PipelineConfig(backend=args.backend, checkpoint=args.checkpoint, calibration=calibration,
                                num_hands=args.num_hands, smoothing=not args.no_smoothing, mirrored_input=mirror,
                                detector_mode="image" if args.detect_every_frame else "video")  # fmt: skip
        session = LiveSession(source, config, pace=not args.no_pace, lag_frames=args.lag_frames)
    except BaseException:
        source.close()
        raise
    try:
        if args.viewer == "qt":
            from handpose.viz.qt_window import run_qt

            return run_qt(session, args.max_frames, args.screenshot)
        from handpose.viz.open3d_viewer import run_open3d

        return run_open3d(session, not args.headless, args.max_frames, args.screenshot)
    except (HandposeError, KeyboardInterrupt):
        raise
    except Exception as exc:  # anything else in the loop: one line and a non-zero exit, not a traceback
        raise LoopError(f"the live demo stopped: {type(exc).__name__}: {exc}") from exc
    finally:
        session.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.viewer == "qt" and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        print("error: the Qt viewer needs a display: run under `xvfb-run -a`, or use --viewer open3d --headless",
              file=sys.stderr)  # fmt: skip
        return 2
    with tempfile.TemporaryDirectory(prefix="handpose-") as scratch:
        try:
            if args.screenshot is not None:
                check_writable_file(args.screenshot)  # before the camera opens and the model loads
            if args.record_adaptation is not None:
                args.checkpoint = record_and_adapt(args)
            shown = run(args, Path(scratch))
        except RecordingCancelled as exc:
            print(f"{exc}; the model was not adapted", file=sys.stderr)
            return 1
        except HandposeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(f"{shown} frames shown" + (f"; screenshot {args.screenshot}" if args.screenshot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
