"""Image files: which suffixes count as images, how a folder's images are listed and how one is
read. Every stage that reads image files (image-folder and RGB-D sources, chessboard calibration,
the datasets, the background photos, the apps) goes through here."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

import cv2
import numpy as np

from handpose.errors import InputError

#: file endings read as images (compared in lower case)
IMAGE_SUFFIXES: Final = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def natural_key(path: Path) -> list[int | str]:
    """Sort key that orders embedded numbers by value: frame2.png < frame10.png."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_images(folder: str | os.PathLike[str], recursive: bool = False) -> list[Path]:
    """Image files (by suffix) in ``folder`` (and below it when ``recursive``), sorted by path; empty
    when ``folder`` is not a folder."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file (grey and alpha images converted); InputError naming the
    file when it is missing or cannot be decoded."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"an image file expected at {path}, which does not exist")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"{path}: not a decodable image (one of {', '.join(sorted(IMAGE_SUFFIXES))} expected)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
