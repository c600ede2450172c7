"""Hand-likeness of the synthetic renders: how often a real detector (MediaPipe) finds the hand.

Renders ``--frames`` random 640x480 frames (one hand each, drawn from the training distribution:
any pose, side, viewpoint, skin tone, sleeve, light, background; with forearm) and the same number
of frames of the smooth moving-hand sequence, runs MediaPipe's HandLandmarker in image mode on
each, and reports the detection rate (overall, by gesture family, viewpoint and skin tone) and
the median distance between MediaPipe's landmarks and our labels (px).

Usage: ``python benchmarks/bench_hand_likeness.py [--frames 100] [--json outputs/bench_hand_likeness.json]``
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from handpose.data.synth.frames import FrameRenderer, SyntheticFrame, hand_sequence, random_frame

MODEL = Path(__file__).resolve().parents[1] / "models" / "hand_landmarker.task"


def _view(frame: SyntheticFrame) -> str:
    """palm / back / side: which face of the hand looks at the camera."""
    spec = frame.hands[0].spec
    back = spec.rotation[:, 1]  # wrist-local +Y (out of the back of the hand) in the camera frame
    towards = -frame.hands[0].joints_cam_mm[9] / np.linalg.norm(frame.hands[0].joints_cam_mm[9])
    c = float(back @ towards)
    return "back" if c > 0.5 else "palm" if c < -0.5 else "side"


def _curl(frame: SyntheticFrame) -> str:
    """open / half / closed from the mean flexion of the four fingers' MCP+PIP."""
    a = frame.hands[0].spec.articulation
    mean = np.degrees(np.mean([a[4 * k] + a[4 * k + 2] for k in range(4)]))
    return "open" if mean < 50 else "closed" if mean > 120 else "half"


def _tone(frame: SyntheticFrame) -> str:
    lum = float(frame.hands[0].spec.appearance.skin @ [0.2126, 0.7152, 0.0722])
    return "light" if lum > 0.3 else "dark" if lum < 0.08 else "medium"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", type=Path, default=MODEL, help="hand_landmarker.task")
    parser.add_argument("--json", type=Path, default=Path("outputs/bench_hand_likeness.json"))
    args = parser.parse_args(argv)

    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.HandLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(args.model)),
                                           running_mode=vision.RunningMode.IMAGE, num_hands=1)
    landmarker = vision.HandLandmarker.create_from_options(options)
    renderer = FrameRenderer(640, 480)

    def detect(frame: SyntheticFrame) -> float | None:
        result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.rgb))
        if not result.hand_landmarks:
            return None
        points = np.array([[p.x * frame.rgb.shape[1], p.y * frame.rgb.shape[0]] for p in result.hand_landmarks[0]])
        return float(np.median(np.linalg.norm(points - frame.hands[0].keypoints_px, axis=1)))

    groups: dict[str, list[bool]] = defaultdict(list)
    errors = []
    for i in range(args.frames):
        frame = random_frame(renderer, np.random.default_rng([args.seed, i]))
        error = detect(frame)
        found = error is not None
        for key in ("all", f"view {_view(frame)}", f"fingers {_curl(frame)}", f"skin {_tone(frame)}",
                    f"side {frame.hands[0].side}"):
            groups[key].append(found)
        if found:
            errors.append(error)
    sequence = [detect(f) for f in hand_sequence(args.frames, fps=10.0, seed=args.seed, renderer=renderer)]
    landmarker.close()
    groups["sequence"] = [e is not None for e in sequence]

    rows = {k: {"frames": len(v), "detected": float(np.mean(v))} for k, v in sorted(groups.items())}
    print(f"{'group':<18} {'frames':>6} {'detected':>9}")
    for key, row in rows.items():
        print(f"{key:<18} {row['frames']:>6} {100 * row['detected']:>8.0f}%")
    seq_errors = [e for e in sequence if e is not None]
    summary = {
        "random_frames_detection_rate": rows["all"]["detected"],
        "sequence_detection_rate": rows["sequence"]["detected"],
        "median_landmark_error_px_random": float(np.median(errors)) if errors else None,
        "median_landmark_error_px_sequence": float(np.median(seq_errors)) if seq_errors else None,
    }
    print(json.dumps(summary, indent=1))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"summary": summary, "groups": rows}, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
