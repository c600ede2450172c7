"""Measure where MediaPipe's landmarks sit relative to the renderer's joint centres, and write the
per-joint offsets the training labels are moved by (``handpose.data.convention``).

    python scripts/measure_convention.py --data shards:data/synth_mix --count 4000 \
        --out handpose/data/assets/mediapipe_offsets.json --report docs/convention/report.json

MediaPipe looks at each render (crop padded by half its side on every side); where it finds the
hand, its 2D landmarks are compared with the exact labels. The fit gives one 3D offset per joint
in the hand frame; the report gives the 2D residual per joint before and after the offsets, by
view (palm towards the camera, back towards it, side on) and by pose (open, half, curled).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from handpose import skeleton
from handpose.io.atomic import write_text_atomic
from handpose.data.convention import fit_offsets, hand_frame
from handpose.data.sample import HandSample
from handpose.data.datasets import open_dataset
from handpose.geometry.crop import square_box
from handpose.detect.detector import HandDetector
from handpose.errors import one_line_errors


def view_and_pose(sample: HandSample) -> tuple[str, str]:
    """("palm" | "back" | "side", "open" | "half" | "curled") of a render."""
    right = skeleton.mirror(sample.joints_cam_mm) if sample.is_left else np.asarray(sample.joints_cam_mm, np.float64)
    normal = hand_frame(right)[:, 2]  # normal and ray both in the (mirrored for left hands) right-hand space
    ray = right[9] / np.linalg.norm(right[9])
    facing = float(normal @ ray)
    view = "side" if abs(facing) < 0.5 else ("back" if facing > 0 else "palm")
    tips = np.linalg.norm(right[[8, 12, 16, 20]] - right[0], axis=1).mean() / skeleton.bone_length(right)
    pose = "open" if tips > 3.6 else ("half" if tips > 2.8 else "curled")
    return view, pose


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="shards:data/synth_mix", help="renders with exact labels (data spec)")
    p.add_argument("--count", type=int, default=4000)
    p.add_argument("--out", type=Path, required=True, help="offsets JSON")
    p.add_argument("--report", type=Path, default=None, help="residuals by joint, view and pose (JSON)")
    a = p.parse_args(argv)
    from tqdm import tqdm

    data = open_dataset(a.data)
    samples, answers = [], []
    with HandDetector(mode="image", num_hands=1) as detector:
        for i in tqdm(range(min(a.count, len(data))), desc="MediaPipe on renders", unit="crop"):
            s = data[i]
            if not s.present or s.crop_rgb is None or s.keypoints_crop_px is None:
                continue
            pad = s.crop_rgb.shape[0] // 2
            found = detector.detect(cv2.copyMakeBorder(s.crop_rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE))
            if not found:
                continue
            kp = found[0].keypoints_px - pad
            centre, side = square_box(s.keypoints_crop_px, 0.0)
            if np.linalg.norm(square_box(kp, 0.0)[0] - centre) > 0.3 * side:  # another hand or a miss
                continue
            samples.append(s)
            answers.append(kp)
    offsets, after = fit_offsets(samples, answers)
    before = np.stack([np.linalg.norm(m - s.keypoints_crop_px, axis=1) for s, m in zip(samples, answers)])
    groups = [view_and_pose(s) for s in samples]
    by: dict[str, dict[str, float | int]] = {}
    for key in sorted({g for pair in groups for g in pair}):
        rows = np.array([key in g for g in groups])
        by[key] = {"hands": int(rows.sum()), "before_px": round(float(np.median(before[rows])), 3),
                   "after_px": round(float(np.median(after[rows])), 3)}
    report = {
        "data": a.data, "renders": min(a.count, len(data)), "found_by_mediapipe": len(samples),
        "median_2d_px_before": round(float(np.median(before)), 3), "median_2d_px_after": round(float(np.median(after)), 3),
        "per_joint": {name: {"offset_bone_units": np.round(offsets.offsets[j], 4).tolist(),
                             "median_px_before": round(float(np.median(before[:, j])), 3),
                             "median_px_after": round(float(np.median(after[:, j])), 3)}
                      for j, name in enumerate(skeleton.JOINT_NAMES)},
        "by_view_and_pose": by,
    }
    offsets.save(a.out, meta={k: report[k] for k in ("data", "renders", "found_by_mediapipe", "median_2d_px_before",
                                                      "median_2d_px_after")})
    if a.report:
        a.report.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(a.report, json.dumps(report, indent=1) + "\n")
    print(f"{len(samples)} renders found by MediaPipe; median 2D residual {report['median_2d_px_before']} px "
          f"-> {report['median_2d_px_after']} px with the offsets")
    for j, name in enumerate(skeleton.JOINT_NAMES):
        r = report["per_joint"][name]
        print(f"  {name:<12} offset {np.round(offsets.offsets[j], 3)}  {r['median_px_before']:.2f} -> "
              f"{r['median_px_after']:.2f} px")
    for key, r in by.items():
        print(f"  {key:<7} {r['hands']:>5} hands  {r['before_px']:.2f} -> {r['after_px']:.2f} px")


if __name__ == "__main__":
    main()
