"""Render the project's sample clip: two moving, gesturing hands (the project's own renderer).

    python scripts/make_sample_clip.py                 # -> apps/assets/sample_clip.mp4 + sample_clip_gt.npz

The clip is 640x480 (``--fps`` 24, ``--seconds`` 5, mp4v). Its ground truth (npz) holds, per frame
``t`` and hand ``h`` (0 = right, 1 = left): ``joints_cam_mm`` (T, 2, 21, 3) camera-frame joints in mm,
``keypoints_px`` (T, 2, 21, 2), ``visible`` (T, 2, 21), ``K`` (T, 3, 3), ``timestamps_s`` (T,) and
``sides`` (2,). Deterministic per ``--seed``; both files are written atomically.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from handpose.io.atomic import atomic_path
from handpose.data.synth.frames import hand_sequence
from handpose.errors import one_line_errors

ASSETS = Path(__file__).resolve().parents[1] / "apps" / "assets"


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ASSETS / "sample_clip.mp4")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--fps", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    n_frames = int(round(args.seconds * args.fps))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{args.out.stem}.", suffix=".mp4", dir=args.out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    joints, keypoints, visible, intrinsics, stamps = [], [], [], [], []
    try:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), args.fps, (width, height))
        for frame in hand_sequence(n_frames, fps=args.fps, seed=args.seed, width=width, height=height, two_hands=True):
            writer.write(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
            joints.append([h.joints_cam_mm for h in frame.hands])
            keypoints.append([h.keypoints_px for h in frame.hands])
            visible.append([h.visible for h in frame.hands])
            intrinsics.append(frame.intrinsics)
            stamps.append(frame.timestamp_s)
            print(f"\rframe {frame.index + 1}/{n_frames}", end="", file=sys.stderr)
        writer.release()
        tmp.chmod(0o644)
        os.replace(tmp, args.out)
    finally:
        tmp.unlink(missing_ok=True)
    gt_path = args.out.with_name(args.out.stem + "_gt.npz")
    with atomic_path(gt_path) as tmp_gt, open(tmp_gt, "wb") as file:
        np.savez_compressed(file, joints_cam_mm=np.asarray(joints, np.float32), keypoints_px=np.asarray(keypoints, np.float32),
                            visible=np.asarray(visible), K=np.asarray(intrinsics), timestamps_s=np.asarray(stamps),
                            sides=np.array(["right", "left"]))  # fmt: skip
    print(f"\n{args.out} ({args.out.stat().st_size / 1e6:.2f} MB, {n_frames} frames) and {gt_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
