"""Smoothing benchmark: jitter reduction and added lag of the One Euro filter and the RTS smoother.

A synthetic moving hand: the rig's 21 joints (mm) held still for 3 s, then swaying and bobbing
(0.6 Hz, 120 mm / 40 mm) for 7 s, observed at 30 fps with Gaussian noise (default 3 mm per
coordinate, about what 3D lifting gives). For the raw track, the live One Euro filter and the offline
RTS smoother it reports:

* jitter: RMS of the frame-to-frame acceleration of the joints while the hand is still (mm/frame^2),
  and its reduction relative to the raw track;
* RMS error against the truth while still and while moving (mm);
* lag: the time shift (ms, 1 ms steps) that best aligns the output with the truth while moving.

Usage: ``python benchmarks/bench_smoothing.py [--noise-mm 3] [--json outputs/bench_smoothing.json]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from handpose.data import rig
from handpose.filters import MILLIMETRE_DEFAULTS, OneEuroFilter, rts_smooth

FPS = 30.0
STILL_S, MOVING_S = 3.0, 7.0


def truth_track(times: np.ndarray) -> np.ndarray:
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


def lag_ms(truth_fn, times: np.ndarray, estimate: np.ndarray) -> float:
    """Shift (ms) d minimising the error of ``estimate(t)`` against ``truth(t - d)``."""
    shifts = np.arange(-200, 201)
    errors = [np.mean((truth_fn(times - d / 1000.0) - estimate) ** 2) for d in shifts]
    return float(shifts[int(np.argmin(errors))])


def run(noise_mm: float = 3.0, seed: int = 0) -> dict[str, dict[str, float]]:
    times = np.arange(int((STILL_S + MOVING_S) * FPS)) / FPS
    truth = truth_track(times)
    noisy = truth + np.random.default_rng(seed).normal(scale=noise_mm, size=truth.shape)
    one_euro = OneEuroFilter(MILLIMETRE_DEFAULTS)
    outputs = {
        "raw": noisy,
        "one_euro (live)": np.array([one_euro(x, t) for x, t in zip(noisy, times)]),
        "rts (offline)": rts_smooth(noisy, times, accel_std=3000.0, noise_std=noise_mm),
    }
    still = (times > 0.5) & (times < STILL_S - 0.1)
    moving = times > STILL_S + 0.5
    results = {}
    for name, track in outputs.items():
        accel = np.linalg.norm(np.diff(track[still], n=2, axis=0), axis=-1)
        results[name] = {
            "jitter_mm_per_frame2": float(np.sqrt(np.mean(accel**2))),
            "rms_err_still_mm": float(np.sqrt(np.mean((track[still] - truth[still]) ** 2))),
            "rms_err_moving_mm": float(np.sqrt(np.mean((track[moving] - truth[moving]) ** 2))),
            "lag_ms": lag_ms(lambda t: truth_track(t)[:, :, :2], times[moving], track[moving][:, :, :2]),
        }
    raw_jitter = results["raw"]["jitter_mm_per_frame2"]
    for values in results.values():
        values["jitter_reduction_x"] = raw_jitter / values["jitter_mm_per_frame2"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise-mm", type=float, default=3.0)
    parser.add_argument("--json", type=Path, default=Path("outputs/bench_smoothing.json"))
    args = parser.parse_args()
    results = run(args.noise_mm)
    print(f"synthetic hand, {FPS:.0f} fps, noise {args.noise_mm} mm; One Euro {MILLIMETRE_DEFAULTS}")
    print(f"{'method':<18}{'jitter':>10}{'reduction':>11}{'err still':>11}{'err moving':>12}{'lag ms':>8}")
    for name, r in results.items():
        print(f"{name:<18}{r['jitter_mm_per_frame2']:>10.2f}{r['jitter_reduction_x']:>10.1f}x"
              f"{r['rms_err_still_mm']:>11.2f}{r['rms_err_moving_mm']:>12.2f}{r['lag_ms']:>8.0f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"noise_mm": args.noise_mm, "fps": FPS, "results": results}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
