"""Save a demo screenshot (PNG) with a JSON sidecar saying where things are in it.

The sidecar (``<name>.json`` next to ``<name>.png``) holds the frame index, each hand's
handedness and its 2D joints in screenshot pixels, where the camera view is (``camera_rect``
x, y, w, h and ``camera_scale``, screenshot px per frame px), the 3D view's rectangle and the
settings, so a headless run can be checked automatically (skeleton colours at the joints, a
non-empty 3D view).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from handpose.io.atomic import atomic_path, write_text_atomic
from handpose.errors import InputError


def save_screenshot(path: str | Path, image_rgb: np.ndarray, info: dict[str, Any]) -> Path:
    """Write (H, W, 3) uint8 RGB ``image_rgb`` to ``path`` (.png) and ``info`` to ``path`` with .json; atomically."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InputError(f"a screenshot path ending in .png expected, got {path.name}")
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise InputError(f"could not encode a PNG of shape {image_rgb.shape}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(encoded.tobytes())
    write_text_atomic(path.with_suffix(".json"), json.dumps(info, indent=1) + "\n")
    return path
