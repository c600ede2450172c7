"""Metric-3D accuracy of the whole pipeline on rendered video with known answers.

Runs :class:`HandPosePipeline` (MediaPipe + tracking + the model + lifting) on the renderer's
moving-hand clip (``handpose.data.synth.frames.hand_sequence``: known camera-frame joints in mm, 2D in px,
intrinsics = the pipeline's default for 640x480) twice: lifting from the 2D keypoints alone, and with
the rendered depth image. Reports per frame, over the frames where a hand was reported:

* root (wrist) translation error in mm, and its depth (z) part;
* mean 3D joint error in the camera frame (mm) and after aligning the roots (mm);
* mean 2D keypoint error (px).

With an untrained model (no default checkpoint yet) the numbers only show the plumbing works.
Usage: ``python benchmarks/bench_metric3d.py [--frames 90] [--checkpoint PATH] [--json outputs/bench_metric3d.json]``
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

from handpose.data.synth.frames import hand_sequence
from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
from handpose.model.checkpoint import DEFAULT_CHECKPOINT
from handpose.types import Frame


def measure(frames: list, checkpoint: Path | None, use_depth: bool) -> dict[str, float]:
    root, root_z, cam, rel, px = [], [], [], [], []
    config = PipelineConfig(checkpoint=checkpoint, num_hands=1, use_depth=use_depth)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pipeline = HandPosePipeline(config)
    with pipeline:
        for frame in frames:
            depth = np.rint(np.nan_to_num(frame.depth_mm, posinf=0.0)).astype(np.uint16)
            hands = pipeline(Frame(frame.rgb, frame.index, frame.timestamp_s, depth_mm=depth)).hands
            if not hands:
                continue
            truth = frame.hands[0]
            hand = hands[0]
            root.append(np.linalg.norm(hand.joints_cam_mm[0] - truth.joints_cam_mm[0]))
            root_z.append(abs(hand.joints_cam_mm[0, 2] - truth.joints_cam_mm[0, 2]))
            cam.append(np.linalg.norm(hand.joints_cam_mm - truth.joints_cam_mm, axis=1).mean())
            rel.append(np.linalg.norm((hand.joints_cam_mm - hand.joints_cam_mm[0])
                                      - (truth.joints_cam_mm - truth.joints_cam_mm[0]), axis=1).mean())
            px.append(np.linalg.norm(hand.keypoints_px - truth.keypoints_px, axis=1).mean())
    return {
        "frames_with_hand": len(root),
        "frames": len(frames),
        "root_err_mm_median": float(np.median(root)) if root else float("nan"),
        "root_z_err_mm_median": float(np.median(root_z)) if root else float("nan"),
        "joint_err_cam_mm_mean": float(np.mean(cam)) if cam else float("nan"),
        "joint_err_root_aligned_mm_mean": float(np.mean(rel)) if rel else float("nan"),
        "keypoint_err_px_mean": float(np.mean(px)) if px else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=Path("outputs/bench_metric3d.json"))
    args = parser.parse_args()
    frames = list(hand_sequence(args.frames, fps=30.0, seed=0))
    trained = args.checkpoint is not None or DEFAULT_CHECKPOINT.is_file()
    results = {name: measure(frames, args.checkpoint, depth) for name, depth in (("2d", False), ("depth", True))}
    print(f"rendered clip, {args.frames} frames at 640x480, {'trained' if trained else 'UNTRAINED'} model")
    print(f"{'lift from':<10}{'hands':>7}{'root mm':>9}{'root z':>8}{'3D mm':>8}{'rel mm':>8}{'2D px':>8}")
    for name, r in results.items():
        print(f"{name:<10}{r['frames_with_hand']:>7}{r['root_err_mm_median']:>9.1f}{r['root_z_err_mm_median']:>8.1f}"
              f"{r['joint_err_cam_mm_mean']:>8.1f}{r['joint_err_root_aligned_mm_mean']:>8.1f}"
              f"{r['keypoint_err_px_mean']:>8.1f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"trained_model": trained, "results": results}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
