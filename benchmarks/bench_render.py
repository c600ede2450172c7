"""Synthetic data speed: rendered crop samples per second (one process), full frames, pose-only.

Each case renders ``--warmup`` samples (GL context, background bank, caches) and then times
``--repeats`` runs of ``--samples`` samples each, reporting the median rate. Target (issue 3):
at least 150 samples/s at 128x128 in one process on the project's 2-core CPU machine.

Usage: ``python benchmarks/bench_render.py [--samples 300] [--json outputs/bench_render.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from handpose.data.synth import hand_poses
from handpose.data.synth.backgrounds import BackgroundBank
from handpose.data.synth.frames import FrameRenderer, default_intrinsics, hand_spec
from handpose.data.synth.pose_source import PoseSource
from handpose.data.synth.synthetic import SyntheticConfig, SyntheticHandSource

TARGET_128 = 150.0


def _rate(fn: Callable[[int], object], count: int, repeats: int, offset: int) -> tuple[float, list[float]]:
    rates = []
    for r in range(repeats):
        start = time.perf_counter()
        for i in range(count):
            fn(offset + r * count + i)
        rates.append(count / (time.perf_counter() - start))
    return float(np.median(rates)), rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300, help="samples per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (median reported)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", type=Path, default=Path("outputs/bench_render.json"))
    args = parser.parse_args(argv)

    bank = BackgroundBank.default()
    cases: dict[str, Callable[[int], object]] = {}
    for size in (128, 256):
        source = SyntheticHandSource(SyntheticConfig(crop_size=size), seed=0, backgrounds=bank)
        cases[f"crop {size}x{size}"] = source.sample
    renderer = FrameRenderer(640, 480, backgrounds=bank)
    K = default_intrinsics(640, 480)
    rng = np.random.default_rng(0)
    background = renderer.background(rng)

    def frame(i: int) -> object:
        articulation = hand_poses.GESTURES[hand_poses.GESTURE_NAMES[i % len(hand_poses.GESTURE_NAMES)]]
        return renderer.render([hand_spec("right", articulation, [0.0, 60.0, 450.0], yaw_deg=i % 90)], K, background)

    cases["frame 640x480"] = frame
    poses = PoseSource(seed=0)
    cases["pose only"] = poses.__getitem__

    rows = []
    for name, fn in cases.items():
        for i in range(args.warmup):
            fn(i)
        median, rates = _rate(fn, args.samples, args.repeats, args.warmup)
        rows.append({"case": name, "samples_per_s": median, "ms_per_sample": 1000.0 / median, "runs": rates})

    print(f"{'case':<16} {'samples/s':>10} {'ms/sample':>10}")
    for row in rows:
        print(f"{row['case']:<16} {row['samples_per_s']:>10.1f} {row['ms_per_sample']:>10.2f}")
    rate_128 = rows[0]["samples_per_s"]
    verdict = "meets" if rate_128 >= TARGET_128 else "MISSES"
    print(f"128x128 crops: {rate_128:.0f}/s {verdict} the target of {TARGET_128:.0f}/s (one process)")
    report = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "samples_per_run": args.samples,
        "repeats": args.repeats,
        "target_128_per_s": TARGET_128,
        "results": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
