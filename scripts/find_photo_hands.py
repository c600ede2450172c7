"""Find the hands in background photos once, so synthetic backgrounds can avoid them.

    python scripts/find_photo_hands.py [--photos DIR] [--out handpose/data/synth/assets/photo_hand_boxes.json]

Runs MediaPipe (whole photo + magnified tiles) on every image under ``--photos`` and writes
{sha1: {"file", "size": [w, h], "boxes": [[x0, y0, x1, y1], ...]}} (px), merged into ``--out``.
The synthetic data (``handpose.data.synth.backgrounds``) uses a photo only if it has an entry with
at least one box, and only its regions away from those boxes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from handpose.data.synth.backgrounds import DEFAULT_PHOTO_DIR, HAND_BOXES_FILE, detect_hand_boxes, file_key, find_photos
from handpose.detect.detector import HandDetector
from handpose.errors import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTO_DIR, help="folder searched recursively")
    parser.add_argument("--out", type=Path, default=HAND_BOXES_FILE)
    args = parser.parse_args(argv)
    photos = find_photos(args.photos)
    if not photos:
        raise SystemExit(f"no .jpg/.jpeg/.png images under {args.photos}")
    entries = json.loads(args.out.read_text()) if args.out.is_file() else {}
    with HandDetector(mode="image", num_hands=6, min_confidence=0.2) as detector:
        for path in photos:
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                print(f"skipped unreadable {path}")
                continue
            boxes = detect_hand_boxes(np.ascontiguousarray(bgr[:, :, ::-1]), detector)
            entries[file_key(path)] = {
                "file": str(path.relative_to(args.photos)),
                "size": [bgr.shape[1], bgr.shape[0]],
                "boxes": [[round(float(v), 1) for v in box] for box in boxes],
            }
            print(f"{len(boxes):2d} hand boxes  {path.relative_to(args.photos)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n")
    found = sum(1 for e in entries.values() if e["boxes"])
    print(f"wrote {args.out}: {len(entries)} photos, {found} with hands found (only those are used)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
