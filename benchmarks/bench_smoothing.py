"""Smoothing benchmark: jitter reduction and added lag of the One Euro filter and the RTS smoother.

Two synthetic moving sequences at 30 fps, observed with Gaussian noise (default 3 mm per coordinate,
about what 3D lifting gives):

* ``still+sway``: the rig's 21 joints (mm) held still for 3 s, then swaying and bobbing
  (0.6 Hz, 120 mm / 40 mm) for 7 s;
* ``rendered clip``: the ground-truth joints of the renderer's moving-hand clip
  (``handpose.data.synth.frames.hand_sequence``: the hand moves, turns and changes gesture), 10 s.

For the raw track, the live One Euro filter and the offline RTS smoother it reports:

* jitter: RMS of the frame-to-frame acceleration error of the joints against the truth
  (mm/frame^2; for a still hand simply its acceleration), and its reduction relative to the raw track;
* RMS error against the truth (mm);
* lag: the time shift (ms, 1 ms steps, truth linearly interpolated) that best aligns output and truth.

Usage: ``python benchmarks/bench_smoothing.py [--noise-mm 3] [--json outputs/bench_smoothing.json]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from handpose.data.synth import rig
from handpose.smooth.filters import MILLIMETRE_DEFAULTS, OneEuroFilter, rts_smooth

FPS = 30.0
STILL_S, MOVING_S = 3.0, 7.0
RTS_ACCEL_MM_S2 = 3000.0


def still_then_sway(times: np.ndarray) -> np.ndarray:
    """(T, 21, 3) mm: the rig's rest hand 500 mm in front of the camera, still then moving."""
    hand = rig.load_rig("right")
    joints = rig.joints21_mm(rig.forward_kinematics(hand, np.tile(np.eye(3), (25, 1, 1))))
    joints = joints - joints.mean(axis=0) + np.array([0.0, 0.0, 500.0])
    moving = np.clip(times - STILL_S, 0.0, None)
    offset = np.stack(
        [120.0 * np.sin(2 * np.pi * 0.6 * moving), 40.0 * np.sin(2 * np.pi * 1.2 * moving), np.zeros_like(moving)],
        axis=1,
    )
    return joints[None] + offset[:, None, :]


def rendered_clip(n_frames: int) -> np.ndarray:
    """(T, 21, 3) mm ground truth of the renderer's moving-hand clip."""
    from handpose.data.synth.frames import hand_sequence

    return np.array([frame.hands[0].joints_cam_mm for frame in hand_sequence(n_frames, fps=FPS, seed=0)])


def lag_ms(times: np.ndarray, truth: np.ndarray, estimate: np.ndarray) -> float:
    """Shift d (ms) minimising the error of ``estimate(t)`` against ``truth(t - d)`` (interior frames)."""
    flat_truth = truth.reshape(len(times), -1)
    flat_est = estimate.reshape(len(times), -1)
    inner = slice(10, -10)
    best, best_err = 0.0, np.inf
    for d in np.arange(-200, 201):
        shifted = np.stack([np.interp(times - d / 1000.0, times, c) for c in flat_truth.T], axis=1)
        err = float(np.mean((shifted[inner] - flat_est[inner]) ** 2))
        if err < best_err:
            best, best_err = float(d), err
    return best


def evaluate(times: np.ndarray, truth: np.ndarray, noise_mm: float, seed: int) -> dict[str, dict[str, float]]:
    noisy = truth + np.random.default_rng(seed).normal(scale=noise_mm, size=truth.shape)
    one_euro = OneEuroFilter(MILLIMETRE_DEFAULTS)
    outputs = {
        "raw": noisy,
        "one_euro (live)": np.array([one_euro(x, t) for x, t in zip(noisy, times)]),
        "rts (offline)": rts_smooth(noisy, times, accel_std=RTS_ACCEL_MM_S2, noise_std=noise_mm),
    }
    truth_accel = np.diff(truth, n=2, axis=0)
    moves = float(np.abs(np.diff(truth, axis=0)).max()) * FPS > 1.0  # mm/s; lag is undefined when still
    results = {}
    for name, track in outputs.items():
        accel_err = np.linalg.norm(np.diff(track, n=2, axis=0) - truth_accel, axis=-1)
        results[name] = {
            "jitter_mm_per_frame2": float(np.sqrt(np.mean(accel_err**2))),
            "rms_err_mm": float(np.sqrt(np.mean((track - truth) ** 2))),
            "lag_ms": lag_ms(times, truth, track) if moves else float("nan"),
        }
    raw_jitter = results["raw"]["jitter_mm_per_frame2"]
    for values in results.values():
        values["jitter_reduction_x"] = raw_jitter / values["jitter_mm_per_frame2"]
    return results


def run(noise_mm: float = 3.0, seed: int = 0) -> dict[str, dict[str, dict[str, float]]]:
    """Both sequences -> {sequence: {method: metrics}}."""
    times = np.arange(int((STILL_S + MOVING_S) * FPS)) / FPS
    sway = still_then_sway(times)
    still = times < STILL_S
    return {
        "still (first 3 s of still+sway)": evaluate(times[still], sway[still], noise_mm, seed),
        "sway (last 7 s of still+sway)": evaluate(times[~still], sway[~still], noise_mm, seed + 1),
        "rendered clip (10 s)": evaluate(times, rendered_clip(len(times)), noise_mm, seed + 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise-mm", type=float, default=3.0)
    parser.add_argument("--json", type=Path, default=Path("outputs/bench_smoothing.json"))
    args = parser.parse_args()
    results = run(args.noise_mm)
    print(f"{FPS:.0f} fps, noise {args.noise_mm} mm per coordinate; One Euro {MILLIMETRE_DEFAULTS}; "
          f"RTS accel {RTS_ACCEL_MM_S2:.0f} mm/s^2")
    for sequence, methods in results.items():
        print(f"\n{sequence}")
        print(f"{'method':<18}{'jitter':>9}{'reduction':>11}{'rms err':>10}{'lag ms':>8}")
        for name, r in methods.items():
            print(f"{name:<18}{r['jitter_mm_per_frame2']:>9.2f}{r['jitter_reduction_x']:>10.1f}x"
                  f"{r['rms_err_mm']:>10.2f}{r['lag_ms']:>8.0f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"noise_mm": args.noise_mm, "fps": FPS, "results": results}, indent=2))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
