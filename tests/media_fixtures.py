"""Short real videos, image folders and RGB-D folders made from a real hand photo, for the app tests.

The clip is a slow pan and zoom over a real photo (MediaPipe finds its hand in every frame), written
with a real ``cv2.VideoWriter``; :func:`corrupt_mjpg_frames` overwrites the JPEG data of chosen
frames of an MJPG .avi with random bytes, the way a damaged file looks to a decoder.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from tests.real_photos import ONE_HAND_PHOTOS, load_rgb

CLIP_PHOTO = ONE_HAND_PHOTOS[2]


def pan_frames(n: int, size: tuple[int, int] = (320, 240), photo: str = CLIP_PHOTO) -> list[np.ndarray]:
    """``n`` (H, W, 3) uint8 RGB frames of ``size`` (W, H): the photo fitted to the frame, slowly panned and zoomed."""
    rgb = load_rgb(photo)
    width, height = size
    base = min(width / rgb.shape[1], height / rgb.shape[0])
    frames = []
    for i in range(n):
        t = i / max(1, n - 1)
        scale = base * (1.0 + 0.15 * t)
        dx = (width - rgb.shape[1] * scale) / 2 + 20 * np.sin(2 * np.pi * t)
        dy = (height - rgb.shape[0] * scale) / 2 + 8 * t
        matrix = np.array([[scale, 0.0, dx], [0.0, scale, dy]])
        frames.append(cv2.warpAffine(rgb, matrix, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE))
    return frames


def write_video(path: Path, frames_rgb: Sequence[np.ndarray], fps: float = 15.0, fourcc: str = "mp4v") -> Path:
    """Write RGB frames to ``path`` with a real VideoWriter (``mp4v`` for .mp4, ``MJPG`` for .avi)."""
    height, width = frames_rgb[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f"VideoWriter could not open {path}"
    for rgb in frames_rgb:
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def corrupt_mjpg_frames(path: Path, indices: Sequence[int], seed: int = 0) -> None:
    """Overwrite the first 400 bytes of the JPEG data of frames ``indices`` of an MJPG .avi."""
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    rng = np.random.default_rng(seed)
    for index in indices:
        start = starts[index]
        data[start : start + 400] = rng.integers(0, 256, 400, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def _riff_chunks(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(fourcc, offset, payload size) of the RIFF chunks in ``data[start:end]``."""
    found, pos = [], start
    while pos + 8 <= end:
        size = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        found.append((data[pos : pos + 4], pos, size))
        pos += 8 + size + (size & 1)
    return found


def drop_avi_frames(path: Path, dropped: Sequence[int]) -> None:
    """Rewrite an AVI (as cv2.VideoWriter writes MJPG) the way a recorder that drops frames does:
    the video chunks of frames ``dropped`` become empty, in the 'movi' list and in the idx1 index,
    so a demuxer returns no picture for them while the frames after keep their place in time."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"AVI ", f"{path} is not an AVI"
    top = _riff_chunks(data, 12, len(data))
    movi_at, movi_size = next((p, s) for c, p, s in top if c == b"LIST" and data[p + 8 : p + 12] == b"movi")
    body, index, frame = bytearray(), bytearray(), 0
    for fourcc, pos, size in _riff_chunks(data, movi_at + 12, movi_at + 8 + movi_size):
        payload = data[pos + 8 : pos + 8 + size]
        if fourcc.endswith(b"dc"):
            payload = b"" if frame in dropped else payload
            frame += 1
        index += fourcc + struct.pack("<III", 0x10 if payload else 0, 4 + len(body), len(payload))
        body += fourcc + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)
    out = bytearray()
    for fourcc, pos, size in top:
        if pos == movi_at:
            out += b"LIST" + struct.pack("<I", 4 + len(body)) + b"movi" + body
        elif fourcc == b"idx1":
            out += b"idx1" + struct.pack("<I", len(index)) + index
        else:
            out += data[pos : pos + 8 + size + (size & 1)]
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(out)) + b"AVI " + bytes(out))


def model_checkpoint(folder: Path) -> Path:
    """The trained default model when it exists, else a seeded untrained one saved in ``folder`` (deterministic)."""
    import torch

    from handpose.model import build_model
    from handpose.model.checkpoint import DEFAULT_CHECKPOINT, save_model

    if DEFAULT_CHECKPOINT.is_file():
        return DEFAULT_CHECKPOINT
    torch.manual_seed(0)
    path = folder / "seeded.pt"
    save_model(build_model(), path)
    return path
