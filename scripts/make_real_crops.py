"""Write ``handpose/infer/assets/real_crops.npz``: real hand crops for GPU parity checks that need
neither MediaPipe nor the photos on the GPU machine (``scripts/gpu_check.sh``).

The crops are cut as the pipeline cuts them (MediaPipe's keypoints, square box, left-looking hands
mirrored) from the first photos of each gesture folder of
``../shared/data/real_hand_photos/mediapipe_gesture_testdata`` (Apache-2.0, google/mediapipe),
:data:`PER_FOLDER` hands from each: uint8 (N, S, S, 3) RGB.

    python scripts/make_real_crops.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from handpose.geometry.crop import crop_from_keypoints
from handpose.detect.detector import HandDetector, appears_left
from handpose.infer.gpu_bench import REAL_CROPS
from handpose.errors import one_line_errors

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "real_hand_photos" / "mediapipe_gesture_testdata"
PER_FOLDER = 2
SIZE = 128


@one_line_errors
def main() -> int:
    crops, sources = [], []
    with HandDetector(mode="image", num_hands=1) as detector:
        for folder in sorted(p for p in PHOTOS.iterdir() if p.is_dir()):
            found = 0
            for path in sorted(folder.glob("*.jpg")):
                rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
                for box in detector.detect(rgb)[:1]:
                    t = crop_from_keypoints(box.keypoints_px, SIZE, mirrored=appears_left(box.handedness, False))
                    crops.append(t.warp(rgb))
                    sources.append(str(path.relative_to(PHOTOS)))
                    found += 1
                if found == PER_FOLDER:
                    break
    REAL_CROPS.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(REAL_CROPS, crops_rgb=np.stack(crops), sources=np.array(sources))
    print(f"wrote {len(crops)} crops to {REAL_CROPS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
