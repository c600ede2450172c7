"""Open any labelled dataset from a short text spec (what the train and evaluate apps take).

Specs::

    shards:FOLDER              pre-rendered shards (apps/render_dataset.py)
    synthetic[:SEED[:COUNT]]   synthetic crops rendered on the fly (default seed 0, 100000 samples)
    poses[:SEED]               pose-only samples from the anatomical model (for the pose VAE)
    rhd:ROOT  stb:ROOT  freihand:ROOT   public datasets in their published layouts
"""

from __future__ import annotations

from collections.abc import Sequence

from handpose.data.sample import HandSample
from handpose.errors import InputError


def open_dataset(spec: str, split: str = "train", size: int = 128) -> Sequence[HandSample]:
    """The dataset named by ``spec`` (see the module docstring); ``split`` applies to public datasets."""
    kind, _, rest = spec.partition(":")
    if kind == "shards":
        from handpose.data.shards import ShardDataset

        data = ShardDataset(rest)
        if data.crop_size != size:
            raise InputError(f"shards in {rest} have {data.crop_size} px crops, the model takes {size} px")
        return data
    if kind == "synthetic":
        from handpose.data.synth.synthetic import SyntheticConfig, SyntheticHandSource

        seed, _, count = rest.partition(":")
        return SyntheticHandSource(SyntheticConfig(crop_size=size), seed=int(seed or 0),
                                   num_samples=int(count or 100_000))
    if kind == "poses":
        from handpose.data.synth.pose_source import PoseSource

        return PoseSource(seed=int(rest or 0))
    if kind in ("rhd", "stb", "freihand"):
        if not rest:
            raise InputError(f"{kind}:ROOT expected (the dataset's folder), got {spec!r}")
        if kind == "rhd":
            from handpose.data.public.rhd import RHDDataset

            return RHDDataset(rest, split, size)
        if kind == "stb":
            from handpose.data.public.stb import STBDataset

            return STBDataset(rest, split, size)
        from handpose.data.public.freihand import FreiHANDDataset

        return FreiHANDDataset(rest, split, size)
    raise InputError(f"data spec must start with shards:, synthetic, poses, rhd:, stb: or freihand:, got {spec!r}")
