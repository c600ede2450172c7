"""Colour changes of an 8-bit RGB image, shared by the renderer's camera effects
(:func:`handpose.data.synth.synthetic.degrade`) and training augmentation (:mod:`handpose.data.augment`).
Callers draw the amounts; this applies them."""

from __future__ import annotations

import numpy as np


def jitter_colour(rgb: np.ndarray, gains: np.ndarray, contrast: float, saturation: float = 1.0, offset: float = 0.0,
                  noise: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> uint8 RGB: contrast about the image's mean, saturation about each
    pixel's grey, a gain per channel (3,), an offset in 8-bit levels, additive ``noise`` of the
    image's shape; clipped to [0, 255]."""
    x = rgb.astype(np.float32)
    mean = x.mean()
    x = (x - mean) * contrast + mean
    if saturation != 1.0:
        grey = x.mean(axis=2, keepdims=True)
        x = grey + (x - grey) * saturation
    x = x * gains + offset
    if noise is not None:
        x = x + noise
    return np.clip(x, 0, 255).astype(np.uint8)
