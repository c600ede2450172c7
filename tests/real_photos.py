"""Real hand photos for smoke and parity tests: some of the package's background photos
(``handpose/data/synth/assets/backgrounds``, MediaPipe's gesture test data, Apache-2.0).

They have no 3D labels; tests use them to check detection, handedness, cropping and backend parity
on real pictures.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from handpose.data.synth.backgrounds import DEFAULT_PHOTO_DIR

PHOTO_DIR = DEFAULT_PHOTO_DIR

#: photos in which MediaPipe finds exactly one hand, both as given and flipped left-right
ONE_HAND_PHOTOS = (
    "mediapipe_gesture_testdata/call/0413d5c5-f5ba-476f-a921-ea5e967692a9.jpg",
    "mediapipe_gesture_testdata/call/0e022ee9-74fd-44fe-adad-60c11835e44f.jpg",
    "mediapipe_gesture_testdata/four/07fdea90-1102-4419-a3af-b394cb29531b.jpg",
    "mediapipe_gesture_testdata/four/077fa4bf-a99e-496b-b895-709afc614eec.jpg",
    "mediapipe_gesture_testdata/rock/0c6628ea-4a8c-49c9-b7cf-c30aef18dc3d.jpg",
    "mediapipe_gesture_testdata/rock/026fd791-8f64-4fae-8cb0-0e01dc4362ce.jpg",
)


def load_rgb(relative: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of one photo."""
    path = PHOTO_DIR / relative
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, f"unreadable photo {path}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def real_hand_crops(size: int) -> np.ndarray:
    """float32 (N, 3, size, size) RGB crops in [0, 1] of the hands MediaPipe finds in :data:`ONE_HAND_PHOTOS`,
    cut as the pipeline cuts them (square box around the keypoints, left-looking hands mirrored)."""
    from handpose.geometry.crop import crop_from_keypoints
    from handpose.detect.detector import HandDetector, appears_left

    crops = []
    with HandDetector(mode="image", num_hands=1) as detector:
        for photo in ONE_HAND_PHOTOS:
            rgb = load_rgb(photo)
            for box in detector.detect(rgb):
                transform = crop_from_keypoints(box.keypoints_px, size, mirrored=appears_left(box.handedness, False))
                crops.append(transform.warp(rgb).transpose(2, 0, 1).astype(np.float32) / 255.0)
    assert crops, "MediaPipe found no hand in the real photos"
    return np.ascontiguousarray(np.stack(crops))
