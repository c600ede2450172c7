"""A contact sheet: a grid of hand samples' crops with their 2D skeletons drawn over them."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from handpose.data.sample import HandSample
from handpose.errors import InputError
from handpose.viz.draw import draw_skeleton

_HIDDEN_RGB = (0, 0, 0)
_NO_HAND_RGB = (255, 80, 80)


def contact_sheet(samples: Sequence[HandSample], columns: int = 8, scale: int = 2) -> np.ndarray:
    """Grid (rows * S * scale, columns * S * scale, 3) uint8 RGB of the samples' crops, upscaled by
    ``scale``, each with its skeleton (``keypoints_crop_px``); joints labelled not visible get a
    black centre; negative crops are marked "no hand"."""
    if not samples or columns < 1 or scale < 1:
        raise InputError(f"samples, columns >= 1 and scale >= 1 expected, got {len(samples)}, {columns}, {scale}")
    if any(s.crop_rgb is None or s.keypoints_crop_px is None for s in samples):
        raise InputError("samples with crop_rgb and keypoints_crop_px expected (not pose-only samples)")
    size = samples[0].crop_rgb.shape[0] * scale  # type: ignore[union-attr]
    rows = -(-len(samples) // columns)
    sheet = np.zeros((rows * size, columns * size, 3), np.uint8)
    for k, sample in enumerate(samples):
        tile = cv2.resize(sample.crop_rgb, (size, size), interpolation=cv2.INTER_NEAREST)  # type: ignore[arg-type]
        points = (np.asarray(sample.keypoints_crop_px, np.float64) + 0.5) * scale - 0.5
        if sample.present:
            tile = draw_skeleton(tile, points, thickness=max(1, scale // 2), radius=scale + 1)
            for x, y in points[~sample.visibility]:
                cv2.circle(tile, (int(round(x)), int(round(y))), max(1, scale // 2), _HIDDEN_RGB, -1)
        else:
            cv2.putText(tile, "no hand", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, _NO_HAND_RGB, 1, cv2.LINE_AA)
        r, c = divmod(k, columns)
        sheet[r * size : (r + 1) * size, c * size : (c + 1) * size] = tile
    return sheet
