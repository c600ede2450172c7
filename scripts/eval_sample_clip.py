"""Accuracy of ``apps/process_video`` on the sample clip against the clip's ground truth.

    python -m apps.process_video                      # writes outputs/sample_clip/poses.jsonl
    python scripts/eval_sample_clip.py                # compares it with apps/assets/sample_clip_gt.npz
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from handpose.eval.clip import evaluate_clip
from handpose.errors import HandposeError
from handpose.io.jsonl_writer import read_jsonl

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("poses", type=Path, nargs="?", default=Path("outputs/sample_clip/poses.jsonl"))
    parser.add_argument("--gt", type=Path, default=ROOT / "apps" / "assets" / "sample_clip_gt.npz")
    args = parser.parse_args(argv)
    try:
        result = evaluate_clip(list(read_jsonl(args.poses)), args.gt)
    except (HandposeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({**asdict(result), "detection_rate": result.detection_rate}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
