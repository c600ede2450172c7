"""Pre-render synthetic samples into shards, in parallel and resumably.

Shard ``k`` of a folder holds samples ``k * per_shard .. (k + 1) * per_shard - 1`` of
``SyntheticHandSource(seed)``; a shard that already exists is not rendered again, so an
interrupted run continues where it stopped (shards are written atomically).

Background photos are split by file name hash (one in five for ``test``) so that a held-out test
set never shows a training background photo.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from handpose.data.synth.backgrounds import BackgroundBank, find_photos, load_hand_boxes
from handpose.data.shards import SHARD_SUFFIX, write_shard
from handpose.data.synth.synthetic import SyntheticConfig, SyntheticHandSource
from handpose.errors import InputError

BackgroundSplit = Literal["train", "test", "all"]


def background_bank(split: BackgroundSplit) -> BackgroundBank:
    """Backgrounds of one split: photos whose name hash is 0 mod 5 are ``test``, the rest ``train``."""
    if split not in ("train", "test", "all"):
        raise InputError(f"background split must be 'train', 'test' or 'all', got {split!r}")
    photos = find_photos()
    if split != "all":
        photos = [p for p in photos if (int(hashlib.sha1(p.name.encode()).hexdigest(), 16) % 5 == 0) == (split == "test")]
    return BackgroundBank(photos, load_hand_boxes(), texture_seed=1 if split == "test" else 0)


@dataclass(frozen=True)
class RenderJob:
    """What to render: ``count`` samples of ``SyntheticHandSource(config, seed)`` into ``folder``."""

    folder: Path
    count: int
    seed: int
    config: SyntheticConfig = SyntheticConfig()
    backgrounds: BackgroundSplit = "train"
    per_shard: int = 2048

    def shard_path(self, k: int) -> Path:
        return self.folder / f"shard_{k:05d}{SHARD_SUFFIX}"

    @property
    def num_shards(self) -> int:
        return (self.count + self.per_shard - 1) // self.per_shard


def _render_shard(args: tuple[RenderJob, int]) -> Path:
    job, k = args
    source = SyntheticHandSource(job.config, seed=job.seed, num_samples=job.count,
                                 backgrounds=background_bank(job.backgrounds))
    start, end = k * job.per_shard, min(job.count, (k + 1) * job.per_shard)
    write_shard(job.shard_path(k), [source[i] for i in range(start, end)])
    return job.shard_path(k)


def prerender(job: RenderJob, workers: int = 1, progress: bool = True) -> list[Path]:
    """Render the missing shards of ``job`` with ``workers`` processes; returns all shard paths."""
    if job.count < 1 or job.per_shard < 1:
        raise InputError(f"positive count and per_shard expected, got {job.count}, {job.per_shard}")
    job.folder.mkdir(parents=True, exist_ok=True)
    todo = [k for k in range(job.num_shards) if not job.shard_path(k).exists()]
    if todo:
        from tqdm import tqdm

        ctx = mp.get_context("spawn")  # each process makes its own GL context
        with ctx.Pool(max(1, workers)) as pool:
            done = pool.imap_unordered(_render_shard, [(job, k) for k in todo])
            for _ in tqdm(done, total=len(todo), desc=f"rendering {job.folder.name}", unit="shard",
                          disable=not progress):
                pass
    return [job.shard_path(k) for k in range(job.num_shards)]
