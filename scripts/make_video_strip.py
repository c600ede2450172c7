"""A strip of evenly spaced frames of a video, side by side, as one PNG (for the README).

    python scripts/make_video_strip.py outputs/sample_clip/annotated.mp4 docs/video_strip.png --frames 4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from handpose.io.atomic import atomic_path
from handpose.capture.video_file import VideoFileSource
from handpose.errors import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--frames", type=int, default=4, help="number of frames in the strip")
    parser.add_argument("--tile-width", type=int, default=320, help="width of each frame in the strip, px")
    args = parser.parse_args(argv)
    with VideoFileSource(args.video) as source:
        count = source.num_frames or 0
        if count < args.frames:
            print(f"error: {args.video} has {count} frames, fewer than {args.frames}", file=sys.stderr)
            return 2
        wanted = set(np.linspace(0, count - 1, args.frames + 2).round().astype(int)[1:-1])
        width, height = source.size
        tile = (args.tile_width, round(height * args.tile_width / width))
        tiles = [cv2.resize(f.rgb, tile, interpolation=cv2.INTER_AREA) for f in source if f.index in wanted]
    strip = np.concatenate(tiles, axis=1)
    with atomic_path(args.out) as tmp:
        ok, png = cv2.imencode(".png", cv2.cvtColor(strip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        tmp.write_bytes(png.tobytes())
    print(f"{args.out}: {len(tiles)} frames, {strip.shape[1]}x{strip.shape[0]}, {args.out.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
