"""Write a contact sheet of synthetic hand samples with their 2D skeletons (PNG).

    python -m apps.contact_sheet --out outputs/contact_sheet.png --count 48 --seed 0

Each tile is one training crop as the model sees it (left hands mirrored), with the labelled
skeleton; joints hidden by the hand itself or an occluder have a black centre.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

from handpose.data.contact_sheet import contact_sheet
from handpose.errors import InputError
from handpose.io.atomic import check_writable_file
from handpose.data.synth.synthetic import SyntheticConfig, SyntheticHandSource


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("outputs/contact_sheet.png"), help="PNG to write")
    parser.add_argument("--count", type=int, default=48, help="number of samples (default 48)")
    parser.add_argument("--columns", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=128, help="crop size in px (default 128)")
    parser.add_argument("--scale", type=int, default=2, help="tile upscaling (default 2)")
    parser.add_argument("--negatives", type=float, default=0.1, help="fraction of negative crops (default 0.1)")
    args = parser.parse_args(argv)
    try:
        check_writable_file(args.out)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    source = SyntheticHandSource(SyntheticConfig(crop_size=args.size, negative_fraction=args.negatives),
                                 seed=args.seed, num_samples=args.count)
    sheet = contact_sheet([source[i] for i in range(args.count)], args.columns, args.scale)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
        raise SystemExit(f"could not write {args.out}")
    print(f"wrote {args.out} ({args.count} samples, seed {args.seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
