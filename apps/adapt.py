"""Fine-tune the default model on your own hand: a short clip in, a personal checkpoint out.

    handpose-adapt MY_VIDEO.mp4 [MORE ...] --out models/my_hand.pt           # ~10 minutes on a CPU
    handpose-adapt clip.mp4 --out models/my_hand.pt --replay shards:data/real/train --real-check shards:data/real/val
    handpose-adapt clip.mp4 --out models/my_hand.pt --resume                  # continue an interrupted run
    handpose-demo --checkpoint models/my_hand.pt                              # use it (any app takes --checkpoint)

MediaPipe labels every frame (photo and mirrored copy must agree; labels that jump away from both
time neighbours are refused); the last --check-fraction of each input is never trained on and
scores the model before and after. The fine-tuning replays renders from the built-in renderer
(and --replay real photo shards) so the model keeps working on other hands, views and light.
Inputs: video files, folders of frames (time order = file-name order), RGB-D folders (color/ +
depth/: the hand's size is measured on them and stored with the checkpoint, so metric 3D needs no
--hand-size-mm; or give --hand-size-mm yourself).

Writes OUT, OUT's .report.json and .report.png (before/after on the check frames) and an entry in
MANIFEST.json next to OUT (the footage's sha256, not its frames). Work folder: OUT with .adapt.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from handpose.adapt.finetune import AUGMENTS, TRAIN_PARTS, AdaptConfig
from handpose.detect.detector import add_verbose_flag
from handpose.errors import HandposeError
from handpose.io.atomic import check_writable_file
from handpose.video.interrupts import Terminated, raise_terminated


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    d = AdaptConfig()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", help="video files, image folders or RGB-D folders of your hand, in time order")
    p.add_argument("--out", type=Path, required=True, help="the adapted checkpoint (.pt)")
    p.add_argument("--minutes", type=float, default=d.minutes, help="fine-tuning time budget on this machine")
    p.add_argument("--max-steps", type=int, default=d.max_steps, help="most fine-tuning steps")
    p.add_argument("--min-steps", type=int, default=d.min_steps, help="fewest fine-tuning steps")
    p.add_argument("--train", choices=sorted(TRAIN_PARTS), default=d.train,
                   help="what trains: the backbone's last stages and the heads (last), the same without the 3D decoders (encoder), the heads, or all")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--user-share", type=float, default=d.user_share, help="share of your frames in each batch")
    p.add_argument("--renders", type=int, default=d.renders, help="renders in the synthetic replay pool")
    p.add_argument("--check-fraction", type=float, default=d.check_fraction,
                   help="the last part of each input kept for the before/after check")
    p.add_argument("--augment", choices=sorted(AUGMENTS), default=d.augment,
                   help="how frames are re-viewed when drawn: the default model's recipe (full) or mild")
    p.add_argument("--teacher-3d", type=float, default=d.teacher_3d,
                   help="weight of the 3D term against MediaPipe's world landmarks of your frames")
    p.add_argument("--image-plane", type=float, default=d.image_plane,
                   help="weight of the 3D pose's bones against your frames' 2D landmarks in the image")
    p.add_argument("--blend", type=float, default=d.blend,
                   help="share of the fine-tuning's change kept (1: all; less forgets less of other hands)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--replay", nargs="+", default=[], metavar="SPEC",
                   help="real photo shards replayed with the renders (e.g. shards:data/real/train)")
    p.add_argument("--real-check", default=None, metavar="SPEC",
                   help="also score this data before and after (e.g. shards:data/real/val)")
    p.add_argument("--base", type=Path, default=None, help="checkpoint to adapt (default: the default model)")
    p.add_argument("--calibration", type=Path, default=None,
                   help="camera intrinsics JSON, for depth footage whose source does not carry its own")
    p.add_argument("--hand-size-mm", type=float, default=None,
                   help="your middle-finger MCP->PIP length, when known (stored with the checkpoint)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run of the same footage")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_verbose_flag(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, raise_terminated) if in_main else None
    try:
        from handpose.adapt.footage import check_footage
        from handpose.adapt.job import AdaptRequest, run_adaptation

        config = AdaptConfig(minutes=a.minutes, max_steps=a.max_steps, min_steps=a.min_steps, batch_size=a.batch_size,
                             lr=a.lr, train=a.train, user_share=a.user_share, renders=a.renders,
                             check_fraction=a.check_fraction, augment=a.augment, teacher_3d=a.teacher_3d,
                             image_plane=a.image_plane, blend=a.blend, seed=a.seed)
        request = AdaptRequest(tuple(dict.fromkeys(a.inputs)), a.out, config, a.base, tuple(a.replay), a.real_check,
                               a.calibration, a.hand_size_mm, a.resume, not a.quiet)
        check_footage(request.inputs)
        check_writable_file(a.out)  # before MediaPipe and the model load
        report = run_adaptation(request)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated)
        print("\ninterrupted: the work so far is kept; run again with --resume", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except HandposeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print(report.text())
    print(f"wrote {a.out}, {request.report_json.name}, {request.report_png.name}; hand size "
          f"{report.summary['hand_size']}; {report.summary['steps']} steps, {report.summary['wall_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
