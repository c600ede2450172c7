"""Backgrounds for synthetic hands: real photo patches without hands, and procedural textures.

Photos come from a folder of pictures with no hands (e.g. the ``none`` class of the MediaPipe
gesture test data) used whole, and optionally from pictures that do show hands, of which only
the left and right border strips (``border_fraction`` of the width each) are used — the hands in
those photos are near the centre. Procedural textures (smooth noise, stripes, checkers, clutter,
gradients) are generated once at construction from a fixed seed. All images are RGB uint8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Sequence

import cv2
import numpy as np

from handpose.errors import InputError

#: where this workplace keeps the shared real photos (outside the repository).
DEFAULT_PHOTO_DIR: Final = Path(__file__).resolve().parents[3] / "shared" / "data" / "real_hand_photos"
_PHOTO_SUFFIXES: Final = (".jpg", ".jpeg", ".png")
_MAX_SIDE: Final = 640


def find_photos(root: Path = DEFAULT_PHOTO_DIR) -> tuple[list[Path], list[Path]]:
    """``(hand-free photos, photos with hands)`` under ``root``: files in folders named ``none``
    are hand-free; every other image has hands. Empty lists when ``root`` does not exist."""
    if not root.is_dir():
        return [], []
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in _PHOTO_SUFFIXES)
    return [p for p in files if p.parent.name == "none"], [p for p in files if p.parent.name != "none"]


class BackgroundBank:
    """Random background patches.

    Args:
        hand_free: photos without hands, used whole.
        with_hands: photos with hands; only their border strips are used.
        n_procedural: number of procedural textures made at construction.
        photo_fraction: probability that a background is a photo patch (when photos exist).
        border_fraction: width fraction of each border strip taken from ``with_hands`` photos.
    """

    def __init__(self, hand_free: Sequence[Path] = (), with_hands: Sequence[Path] = (), n_procedural: int = 48,
                 photo_fraction: float = 0.6, border_fraction: float = 0.2) -> None:
        self._photos: list[np.ndarray] = [_read_rgb(p) for p in hand_free]
        for path in with_hands:
            image = _read_rgb(path)
            strip = max(int(image.shape[1] * border_fraction), 8)
            self._photos += [image[:, :strip], image[:, -strip:]]
        rng = np.random.default_rng(12345)
        self._textures = [procedural_texture(rng, 256) for _ in range(n_procedural)]
        if not self._textures and not self._photos:
            raise InputError("a background bank needs photos or n_procedural > 0")
        self.photo_fraction = photo_fraction if self._photos else 0.0

    @classmethod
    def default(cls) -> BackgroundBank:
        """Photos from :data:`DEFAULT_PHOTO_DIR` when present, plus procedural textures."""
        return cls(*find_photos())

    @property
    def num_photos(self) -> int:
        return len(self._photos)

    def sample(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        """A random (height, width, 3) uint8 RGB patch (random source, region, scale and flip)."""
        pool = self._photos if (rng.random() < self.photo_fraction or not self._textures) else self._textures
        src = pool[rng.integers(len(pool))]
        h, w = src.shape[:2]
        aspect = width / height
        ph = rng.uniform(0.3, 1.0) * min(h, w / aspect)
        pw = ph * aspect
        y0, x0 = rng.uniform(0, h - ph), rng.uniform(0, w - pw)
        sx, sy = width / pw, height / ph
        flip = rng.random() < 0.5
        matrix = np.array([[-sx if flip else sx, 0.0, 0.0], [0.0, sy, -sy * y0]])
        matrix[0, 2] = sx * (x0 + pw) if flip else -sx * x0
        return cv2.warpAffine(src, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"{path}: a readable image expected")
    scale = _MAX_SIDE / max(bgr.shape[:2])
    if scale < 1:
        bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def procedural_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A (size, size, 3) uint8 RGB texture: smooth noise, stripes, checker, clutter or gradient."""
    kind = rng.integers(5)
    c1, c2 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if kind == 0:  # multi-octave smooth noise
        t = np.zeros((size, size), np.float32)
        for octave in (4, 8, 16, 32):
            grid = rng.random((octave, octave)).astype(np.float32)
            t += cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC) * (8.0 / octave)
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    elif kind == 1:  # stripes at a random angle and frequency
        angle, freq = rng.uniform(0, np.pi), rng.uniform(3, 25)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (np.cos(angle) * xx + np.sin(angle) * yy))
    elif kind == 2:  # checker
        n = rng.integers(3, 16)
        t = ((np.floor(xx * n) + np.floor(yy * n)) % 2).astype(np.float32)
    elif kind == 3:  # gradient
        angle = rng.uniform(0, 2 * np.pi)
        t = np.clip(0.5 + np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5), 0, 1)
    else:  # clutter of rectangles, ellipses and lines over noise-free ground
        t = np.zeros((size, size), np.float32)
    image = (c1 * (1 - t[..., None]) + c2 * t[..., None]).astype(np.uint8)
    if kind == 4:
        for _ in range(rng.integers(8, 30)):
            color = tuple(int(c) for c in rng.integers(0, 256, 3))
            p, q = rng.integers(0, size, 2), rng.integers(0, size, 2)
            shape = rng.integers(3)
            if shape == 0:
                cv2.rectangle(image, tuple(int(v) for v in p), tuple(int(v) for v in q), color, -1)
            elif shape == 1:
                axes = tuple(int(v) for v in rng.integers(4, size // 3, 2))
                cv2.ellipse(image, tuple(int(v) for v in p), axes, float(rng.uniform(0, 180)), 0, 360, color, -1)
            else:
                cv2.line(image, tuple(int(v) for v in p), tuple(int(v) for v in q), color, int(rng.integers(1, 8)))
    return image
