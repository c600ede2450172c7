"""Backgrounds for synthetic hands: patches of real photos away from their hands, and procedural textures.

Real photos of indoor scenes are the most realistic backgrounds, but the ones this project has
(``assets/backgrounds``: the MediaPipe gesture test set, whose ``none`` class still shows people
with their hands, and the HaMeR examples) all contain hands. A background must not show an
unlabelled hand, so every photo comes with the boxes of its hands, found once by MediaPipe
(:func:`detect_hand_boxes`, whole image plus 2x-magnified overlapping tiles for small hands) and
stored in ``assets/photo_hand_boxes.json`` keyed by the file's SHA-1 (``scripts/find_photo_hands.py``
writes it). Patches are drawn only where they miss every box grown by ``box_growth`` on each side;
photos without an entry, or where no hand was found (the detector missed them: every photo of
this collection shows hands), are not used. Procedural textures (smooth noise, stripes,
checkers, gradients, clutter) are generated at construction from a fixed seed.
All images are RGB uint8.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

import cv2
import numpy as np

from handpose.errors import InputError
from handpose.io.images import list_images, read_rgb

if TYPE_CHECKING:
    from handpose.detect.detector import HandDetector

#: the background photos shipped as package data (their sources and licences: SOURCE.md there).
DEFAULT_PHOTO_DIR: Final = Path(__file__).resolve().parent / "assets" / "backgrounds"
#: hand boxes of known photos: {sha1: {"size": [w, h], "boxes": [[x0, y0, x1, y1], ...]}} in px.
HAND_BOXES_FILE: Final = Path(__file__).resolve().parent / "assets" / "photo_hand_boxes.json"
_MAX_SIDE: Final = 800
_PATCH_TRIES: Final = 20


def find_photos(root: Path = DEFAULT_PHOTO_DIR) -> list[Path]:
    """Image files under ``root`` (sorted); empty when ``root`` does not exist."""
    return list_images(root, recursive=True)


def file_key(path: Path) -> str:
    """SHA-1 of a file's bytes: the key of its entry in :data:`HAND_BOXES_FILE`."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def load_hand_boxes(path: Path = HAND_BOXES_FILE) -> dict[str, np.ndarray]:
    """{sha1: (K, 4) float64 boxes x0, y0, x1, y1 in the photo's own px}; empty if no file."""
    if not path.is_file():
        return {}
    entries = json.loads(path.read_text())
    return {key: np.asarray(entry["boxes"], np.float64).reshape(-1, 4) for key, entry in entries.items()}


def detect_hand_boxes(image_rgb: np.ndarray, detector: HandDetector) -> np.ndarray:
    """(K, 4) boxes x0, y0, x1, y1 (px) of the hands MediaPipe finds in an (H, W, 3) uint8 RGB photo.

    Runs the detector (image mode, several hands) on the whole photo and on 3 x 3 overlapping
    half-size tiles magnified 2x, which finds small hands the whole-image pass misses; duplicates
    are kept (they only grow the excluded area).
    """
    h, w = image_rgb.shape[:2]
    boxes = [b.keypoints_px for b in detector.detect(image_rgb)]
    for y0 in (0, h // 4, h // 2):
        for x0 in (0, w // 4, w // 2):
            tile = cv2.resize(np.ascontiguousarray(image_rgb[y0 : y0 + h // 2, x0 : x0 + w // 2]), (w, h))
            boxes += [b.keypoints_px / 2.0 + [x0, y0] for b in detector.detect(tile)]
    return np.array([[*k.min(axis=0), *k.max(axis=0)] for k in boxes], np.float64).reshape(-1, 4)


class BackgroundBank:
    """Random background patches.

    Args:
        photos: photo files; used only where ``hand_boxes`` has an entry with at least one box.
        hand_boxes: {sha1: (K, 4) hand boxes in the photo's px} (:func:`load_hand_boxes`).
        n_procedural: number of procedural textures made at construction.
        photo_fraction: probability that a background is a photo patch (when photos are usable).
        box_growth: each hand box is grown by this times its size on every side before patches
            are kept away from it.
        texture_seed: seed of the procedural textures (held-out sets use their own).
    """

    def __init__(self, photos: Sequence[Path] = (), hand_boxes: Mapping[str, np.ndarray] | None = None,
                 n_procedural: int = 48, photo_fraction: float = 0.6, box_growth: float = 0.75,
                 texture_seed: int = 0) -> None:
        hand_boxes = {} if hand_boxes is None else hand_boxes
        self._photos: list[np.ndarray] = []
        self._boxes: list[np.ndarray] = []
        for path in photos:
            boxes = hand_boxes.get(file_key(path))
            if boxes is None or len(boxes) == 0:
                continue
            image, scale = _read_rgb(path)
            size = boxes[:, 2:] - boxes[:, :2]
            grown = np.concatenate([boxes[:, :2] - box_growth * size, boxes[:, 2:] + box_growth * size], axis=1)
            self._photos.append(image)
            self._boxes.append(grown * scale)
        rng = np.random.default_rng(12345 + texture_seed)
        self._textures = [procedural_texture(rng, 256) for _ in range(n_procedural)]
        if not self._textures and not self._photos:
            raise InputError("a background bank needs usable photos or n_procedural > 0")
        self.photo_fraction = photo_fraction if self._photos else 0.0

    @classmethod
    def default(cls) -> BackgroundBank:
        """Photos under :data:`DEFAULT_PHOTO_DIR` with their stored hand boxes, plus procedural textures."""
        return cls(find_photos(), load_hand_boxes())

    @property
    def num_photos(self) -> int:
        """Number of usable photos."""
        return len(self._photos)

    def sample(self, rng: np.random.Generator, height: int, width: int, photo: bool | None = None) -> np.ndarray:
        """A random (height, width, 3) uint8 RGB patch: a hand-free photo region or a texture,
        random region, scale and horizontal flip. ``photo=True`` asks for a photo patch (a texture
        only when no photo is usable), ``False`` for a texture, None draws by ``photo_fraction``."""
        use_photo = rng.random() < self.photo_fraction if photo is None else (photo and bool(self._photos))
        if use_photo:
            k = int(rng.integers(len(self._photos)))
            rect = _free_rect(rng, self._photos[k].shape[:2], self._boxes[k], width / height)
            if rect is not None:
                return _cut(self._photos[k], rect, rng, height, width)
        texture = self._textures[int(rng.integers(len(self._textures)))]
        side = rng.uniform(0.3, 1.0) * texture.shape[0]
        pw, ph = (side, side * height / width) if width >= height else (side * width / height, side)
        x0, y0 = rng.uniform(0, texture.shape[1] - pw), rng.uniform(0, texture.shape[0] - ph)
        return _cut(texture, (x0, y0, pw, ph), rng, height, width)


def _free_rect(rng: np.random.Generator, shape: tuple[int, ...], boxes: np.ndarray,
               aspect: float) -> tuple[float, float, float, float] | None:
    """A random (x0, y0, w, h) of the given aspect inside ``shape`` that misses every box, or None."""
    h, w = shape[0], shape[1]
    for _ in range(_PATCH_TRIES):
        ph = rng.uniform(0.12, 0.5) * min(h, w / aspect)
        pw = ph * aspect
        x0, y0 = rng.uniform(0, w - pw), rng.uniform(0, h - ph)
        hits = (boxes[:, 0] < x0 + pw) & (boxes[:, 2] > x0) & (boxes[:, 1] < y0 + ph) & (boxes[:, 3] > y0)
        if not hits.any():
            return x0, y0, pw, ph
    return None


def _cut(src: np.ndarray, rect: tuple[float, float, float, float], rng: np.random.Generator,
         height: int, width: int) -> np.ndarray:
    """Resample ``rect`` (x0, y0, w, h) of ``src`` to (height, width), flipped half of the time."""
    x0, y0, pw, ph = rect
    sx, sy = width / pw, height / ph
    if rng.random() < 0.5:
        matrix = np.array([[-sx, 0.0, sx * (x0 + pw)], [0.0, sy, -sy * y0]])
    else:
        matrix = np.array([[sx, 0.0, -sx * x0], [0.0, sy, -sy * y0]])
    return cv2.warpAffine(src, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _read_rgb(path: Path) -> tuple[np.ndarray, float]:
    """The photo as RGB uint8, shrunk to at most ``_MAX_SIDE`` px, and the scale applied."""
    rgb = read_rgb(path)
    scale = min(1.0, _MAX_SIDE / max(rgb.shape[:2]))
    if scale < 1:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return rgb, scale


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
    else:  # clutter of rectangles, ellipses and lines on a plain ground
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
