"""Calibrate a camera from chessboard images or a video: writes intrinsics + distortion as JSON.

    python -m apps.calibrate --images shots/ --board 9x6 --square-mm 25 --out calibration/webcam.json
    python -m apps.calibrate --video board.mp4 --every 15 --out calibration/webcam.json

``--board`` counts INNER corners (a board of 10 x 7 squares is 9x6). The file format is in
``calibration/README.md``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from handpose.geometry.chessboard import MIN_VIEWS, Chessboard, calibrate, images_in_folder, video_frames
from handpose.errors import InputError
from handpose.io.atomic import check_writable_file


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", metavar="DIR", help="folder of chessboard photos")
    source.add_argument("--video", metavar="FILE", help="video of a chessboard moved in front of the camera")
    parser.add_argument("--every", type=int, default=10, help="with --video: use every k-th frame (default 10)")
    parser.add_argument("--board", default="9x6", help="inner corners COLSxROWS (default 9x6)")
    parser.add_argument("--square-mm", type=float, default=25.0, help="square side in mm (default 25)")
    parser.add_argument("--min-views", type=int, default=MIN_VIEWS, help=f"boards needed (default {MIN_VIEWS})")
    parser.add_argument("--wide-angle", action="store_true", help="also fit the k3 radial term")
    parser.add_argument("--out", required=True, help="output JSON, e.g. calibration/webcam.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_writable_file(args.out)  # before the search: the work would be lost
        board = Chessboard.parse(args.board, args.square_mm)
        views = images_in_folder(args.images) if args.images else video_frames(args.video, args.every)
        result = calibrate(views, board, min_views=args.min_views, fix_k3=not args.wide_angle)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cam = result.intrinsics
    cam.save(args.out)
    with np.printoptions(precision=3, suppress=True):
        print(f"board found in {len(result.used)} of {result.views_total} views")
        print(f"image size {cam.width}x{cam.height} px, RMS reprojection error {cam.rms_px:.3f} px")
        print(f"K =\n{cam.K}")
        print(f"dist (k1, k2, p1, p2, k3...) = {cam.dist}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
