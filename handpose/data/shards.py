"""Pre-rendered sample shards: many :class:`HandSample` in one uncompressed ``.npz`` file.

Rendering or decoding images on the fly can be slower than training; a shard holds finished
crops and labels. Arrays in a shard (N samples, crop side S)::

    format_version  ()            int64, 2 (version 1 shards, without the last three arrays, still read)
    crops           (N, S, S, 3)  uint8 RGB (mirrored for left hands, as HandSample.crop_rgb)
    joints_cam_mm   (N, 21, 3)    float32, camera frame, mm, our joint order
    kp_crop_px      (N, 21, 2)    float32 crop px (NaN where a sample has none)
    kp_px           (N, 21, 2)    float32 image px (NaN where a sample has none)
    intrinsics      (N, 3, 3)     float64 (NaN where a sample has none)
    crop_matrix     (N, 2, 3)     float64 frame px -> crop px (NaN where a sample has none)
    crop_mirrored   (N,)          bool
    is_left         (N,)          bool
    visible         (N, 21)       bool (all True where the source gave no visibility)
    present         (N,)          bool (False: a negative crop without a hand)
    exact_3d        (N,)          bool (False: joints_cam_mm is NaN, a teacher-labelled real photo)
    world_mm        (N, 21, 3)    float32 teacher 3D shape, mm (NaN where a sample has none)
    visible_known   (N,)          bool (False: the source gave no visibility)

The file is written uncompressed (``np.savez``), so each array lies as a plain ``.npy`` block
inside the zip and is memory-mapped on reading: opening a shard reads only the headers, a
sample reads only its own bytes, and DataLoader worker processes share the page cache.
Reading restores ``None`` for the optional fields stored as NaN, so ``write`` -> ``read`` gives
back equal samples (``visible=None`` comes back as all True, which means the same).
"""

from __future__ import annotations

import bisect
import os
import struct
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final

import numpy as np

from handpose.io.atomic import atomic_path
from handpose.data.sample import HandSample
from handpose.geometry.crop import CropTransform
from handpose.errors import InputError
from handpose.skeleton import NUM_JOINTS

FORMAT_VERSION: Final = 2
SHARD_SUFFIX: Final = ".npz"
_ARRAYS_V1: Final = (
    "format_version", "crops", "joints_cam_mm", "kp_crop_px", "kp_px", "intrinsics",
    "crop_matrix", "crop_mirrored", "is_left", "visible", "present",
)  # fmt: skip
_ARRAYS: Final = (*_ARRAYS_V1, "exact_3d", "world_mm", "visible_known")
_LOCAL_HEADER: Final = struct.Struct("<4s5H3I2H")  # zip local file header, 30 bytes


def write_shard(path: str | os.PathLike[str], samples: Sequence[HandSample]) -> None:
    """Write ``samples`` (each with a crop, all crops the same size) to ``path`` atomically."""
    if not samples:
        raise InputError("a shard needs at least one sample, got none")
    sizes = {None if s.crop_rgb is None else s.crop_rgb.shape for s in samples}
    if None in sizes:
        raise InputError("every sample in a shard needs crop_rgb; pose-only samples cannot be sharded")
    if len(sizes) != 1:
        raise InputError(f"all crops in a shard must have one size, got {sorted(map(str, sizes))}")
    arrays = {
        "format_version": np.array(FORMAT_VERSION, np.int64),
        "crops": np.stack([s.crop_rgb for s in samples]),  # type: ignore[misc]
        "joints_cam_mm": np.stack([s.joints_cam_mm for s in samples]).astype(np.float32),
        "kp_crop_px": _stack_optional([s.keypoints_crop_px for s in samples], (NUM_JOINTS, 2), np.float32),
        "kp_px": _stack_optional([s.keypoints_px for s in samples], (NUM_JOINTS, 2), np.float32),
        "intrinsics": _stack_optional([s.intrinsics for s in samples], (3, 3), np.float64),
        "crop_matrix": _stack_optional([None if s.crop is None else s.crop.matrix for s in samples], (2, 3), np.float64),
        "crop_mirrored": np.array([s.crop is not None and s.crop.mirrored for s in samples], bool),
        "is_left": np.array([s.is_left for s in samples], bool),
        "visible": np.stack([s.visibility for s in samples]).astype(bool),
        "present": np.array([s.present for s in samples], bool),
        "exact_3d": np.array([s.exact_3d for s in samples], bool),
        "world_mm": _stack_optional([s.world_mm for s in samples], (NUM_JOINTS, 3), np.float32),
        "visible_known": np.array([s.visible is not None for s in samples], bool),
    }
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub misreads **kwds


def write_shards(
    folder: str | os.PathLike[str], samples: Iterable[HandSample], per_shard: int = 4096, prefix: str = "shard"
) -> list[Path]:
    """Write a stream of samples as ``folder/{prefix}_00000.npz``, ... of ``per_shard`` samples
    each (the last may be shorter); returns the paths written."""
    if per_shard < 1:
        raise InputError(f"per_shard of at least 1 expected, got {per_shard}")
    folder = Path(folder)
    paths: list[Path] = []
    chunk: list[HandSample] = []
    for sample in samples:
        chunk.append(sample)
        if len(chunk) == per_shard:
            paths.append(_flush(folder, prefix, len(paths), chunk))
            chunk = []
    if chunk:
        paths.append(_flush(folder, prefix, len(paths), chunk))
    return paths


def _flush(folder: Path, prefix: str, number: int, chunk: list[HandSample]) -> Path:
    path = folder / f"{prefix}_{number:05d}{SHARD_SUFFIX}"
    write_shard(path, chunk)
    return path


def _stack_optional(values: list[np.ndarray | None], shape: tuple[int, ...], dtype: type) -> np.ndarray:
    out: np.ndarray = np.full((len(values), *shape), np.nan, dtype=dtype)
    for i, v in enumerate(values):
        if v is not None:
            out[i] = v
    return out


class Shard(Sequence[HandSample]):
    """One shard file, memory-mapped, as a sequence of :class:`HandSample`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._arrays = _map_npz(self.path)
        version = int(self._arrays["format_version"]) if "format_version" in self._arrays else None
        if version not in (None, 1, FORMAT_VERSION):
            raise InputError(f"{self.path}: shard format 1 or {FORMAT_VERSION} expected, got {version}")
        missing = [k for k in (_ARRAYS_V1 if version == 1 else _ARRAYS) if k not in self._arrays]
        if missing:
            raise InputError(f"{self.path}: not a handpose shard, arrays {missing} are missing")
        self._n = len(self._arrays["crops"])
        if version == 1:  # renders and public datasets: exact 3D, no teacher, visibility as stored
            self._arrays.update(exact_3d=np.ones(self._n, bool), visible_known=np.ones(self._n, bool),
                                world_mm=np.full((self._n, NUM_JOINTS, 3), np.nan, np.float32))
        for key in _ARRAYS[1:]:
            if len(self._arrays[key]) != self._n:
                raise InputError(f"{self.path}: {key} has {len(self._arrays[key])} rows, crops {self._n}")

    @property
    def crop_size(self) -> int:
        return int(self._arrays["crops"].shape[1])

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> HandSample:  # type: ignore[override]
        if not -self._n <= i < self._n:
            raise IndexError(f"{self.path} has {self._n} samples, index {i} is out of range")
        a = self._arrays
        matrix = np.array(a["crop_matrix"][i])
        return HandSample(
            joints_cam_mm=np.array(a["joints_cam_mm"][i]),
            is_left=bool(a["is_left"][i]),
            crop_rgb=np.array(a["crops"][i]),
            keypoints_crop_px=_optional(a["kp_crop_px"][i]),
            keypoints_px=_optional(a["kp_px"][i]),
            intrinsics=_optional(a["intrinsics"][i]),
            visible=np.array(a["visible"][i]) if a["visible_known"][i] else None,
            crop=None if np.isnan(matrix).all() else CropTransform(
                matrix=matrix, size=self.crop_size, mirrored=bool(a["crop_mirrored"][i])
            ),
            present=bool(a["present"][i]),
            exact_3d=bool(a["exact_3d"][i]),
            world_mm=_optional(a["world_mm"][i]),
        )

    def __iter__(self) -> Iterator[HandSample]:
        return (self[i] for i in range(self._n))

    def __getstate__(self) -> dict[str, Path]:
        # pickled for a spawned DataLoader worker: send the path and map the file again there,
        # not a copy of the mapped arrays
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Path]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]


def _optional(row: np.ndarray) -> np.ndarray | None:
    return None if np.isnan(row).all() else np.array(row)


class ShardDataset(Sequence[HandSample]):
    """All shards (``*.npz``, sorted by name) in a folder as one sequence of samples."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise InputError(f"folder of shards (*{SHARD_SUFFIX}) expected, {folder} is not a directory")
        paths = sorted(folder.glob(f"*{SHARD_SUFFIX}"))
        if not paths:
            raise InputError(f"no shards (*{SHARD_SUFFIX}) in {folder}")
        self.shards = [Shard(p) for p in paths]
        sizes = {s.crop_size for s in self.shards}
        if len(sizes) != 1:
            raise InputError(f"{folder}: shards with different crop sizes {sorted(sizes)}")
        self._ends = np.cumsum([len(s) for s in self.shards]).tolist()

    @property
    def crop_size(self) -> int:
        return self.shards[0].crop_size

    def __len__(self) -> int:
        return int(self._ends[-1])

    def __getitem__(self, i: int) -> HandSample:  # type: ignore[override]
        k, offset = locate(self._ends, i, "samples in the shards")
        return self.shards[k][offset]

    def __iter__(self) -> Iterator[HandSample]:
        return (self[i] for i in range(len(self)))


def locate(ends: list[int], i: int, what: str) -> tuple[int, int]:
    """Index ``i`` (negative counts from the end) of consecutive blocks ending at ``ends``
    (cumulative sizes) -> (block, offset in it); IndexError names ``what`` when out of range."""
    n = ends[-1]
    if not -n <= i < n:
        raise IndexError(f"{n} {what}, index {i} is out of range")
    i %= n
    k = bisect.bisect_right(ends, i)
    return k, i - (ends[k - 1] if k else 0)


def _map_npz(path: Path) -> dict[str, np.ndarray]:
    """Memory-map every array of an uncompressed ``.npz`` (read-only)."""
    if not path.is_file():
        raise InputError(f"shard file {path} does not exist")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise InputError(f"{path} is not an .npz file (a zip archive of .npy arrays expected)") from None
    arrays: dict[str, np.ndarray] = {}
    with path.open("rb") as f:
        for info in members:
            if not info.filename.endswith(".npy"):
                continue
            name = info.filename[: -len(".npy")]
            if info.compress_type != zipfile.ZIP_STORED:
                raise InputError(f"{path}: array {name} is compressed; shards are written uncompressed (np.savez)")
            f.seek(info.header_offset)
            header = _LOCAL_HEADER.unpack(f.read(_LOCAL_HEADER.size))
            if header[0] != b"PK\x03\x04":
                raise InputError(f"{path}: damaged zip entry for {name}")
            f.seek(info.header_offset + _LOCAL_HEADER.size + header[9] + header[10])
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise InputError(f"{path}: array {name} has .npy format {version}; 1.0 or 2.0 expected")
            if dtype.hasobject:
                raise InputError(f"{path}: array {name} holds Python objects, which a shard never does")
            offset = f.tell()
            if shape == ():
                arrays[name] = np.fromfile(f, dtype=dtype, count=1).reshape(())
            else:
                arrays[name] = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape,
                                         order="F" if fortran else "C")
    return arrays
