"""Shards: HandSample -> .npz -> HandSample round trips, memory mapping and indexing across shards."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from handpose.data.sample import HandSample
from handpose.data.shards import Shard, ShardDataset, write_shard, write_shards
from handpose.geometry.crop import crop_from_keypoints
from handpose.errors import InputError


def make_sample(seed: int, size: int = 32) -> HandSample:
    """A labelled sample with every field set (left hands mirrored), or a negative one for seed % 5 == 4."""
    rng = np.random.default_rng(seed)
    crop_rgb = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    joints = rng.normal(0, 40, (21, 3)).astype(np.float32) + np.float32([0, 0, 500])
    if seed % 5 == 4:  # negative crop: no labels but the crop
        return HandSample(joints_cam_mm=np.zeros((21, 3), np.float32), crop_rgb=crop_rgb, present=False)
    is_left = seed % 2 == 1
    k = np.array([[500.0 + seed, 0, 320], [0, 500.0 + seed, 240], [0, 0, 1]])
    kp_px = (joints[:, :2] / joints[:, 2:] * 500 + [320, 240]).astype(np.float32)
    crop = crop_from_keypoints(kp_px, size, mirrored=is_left)
    return HandSample(
        joints_cam_mm=joints, is_left=is_left, crop_rgb=crop_rgb,
        keypoints_crop_px=crop.to_crop(kp_px).astype(np.float32), keypoints_px=kp_px, intrinsics=k,
        visible=rng.random(21) > 0.2, crop=crop,
    )


def assert_same(a: HandSample, b: HandSample) -> None:
    assert a.is_left == b.is_left and a.present == b.present and a.exact_3d == b.exact_3d
    assert (a.world_mm is None and b.world_mm is None) or np.array_equal(a.world_mm, b.world_mm)
    assert (a.visible is None) == (b.visible is None)
    assert np.array_equal(a.crop_rgb, b.crop_rgb) and b.crop_rgb.dtype == np.uint8  # type: ignore[union-attr]
    assert np.array_equal(a.joints_cam_mm, b.joints_cam_mm, equal_nan=True)
    for name in ("keypoints_crop_px", "keypoints_px", "intrinsics"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None and y is None) or np.array_equal(x, y), name
    assert np.array_equal(a.visibility, b.visibility)
    if a.crop is None:
        assert b.crop is None
    else:
        assert b.crop is not None and np.array_equal(a.crop.matrix, b.crop.matrix)
        assert (a.crop.size, a.crop.mirrored) == (b.crop.size, b.crop.mirrored)


def test_round_trip_one_shard(tmp_path: Path) -> None:
    samples = [make_sample(i) for i in range(10)]
    path = tmp_path / "one.npz"
    write_shard(path, samples)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.npz"]  # atomic: no temporary left
    shard = Shard(path)
    assert len(shard) == 10 and shard.crop_size == 32
    for a, b in zip(samples, shard):
        assert_same(a, b)
    assert_same(samples[-1], shard[-1])
    assert shard[4].present is False and shard[4].crop is None and shard[4].keypoints_px is None
    # the crop keypoints still agree with the stored transform after the round trip
    assert np.allclose(shard[3].crop.to_crop(shard[3].keypoints_px), shard[3].keypoints_crop_px, atol=1e-4)  # type: ignore[union-attr]
    # the big array is memory-mapped, not read into memory
    assert isinstance(shard._arrays["crops"], np.memmap)
    # numpy's own reader sees the same data: the file is a plain .npz
    with np.load(path) as npz:
        assert np.array_equal(npz["crops"], np.stack([s.crop_rgb for s in samples]))  # type: ignore[misc]
    with pytest.raises(IndexError):
        shard[10]


def test_dataset_indexes_across_shards_and_pickles(tmp_path: Path) -> None:
    samples = [make_sample(i) for i in range(11)]
    paths = write_shards(tmp_path / "shards", iter(samples), per_shard=4)
    assert [p.name for p in paths] == ["shard_00000.npz", "shard_00001.npz", "shard_00002.npz"]
    data = ShardDataset(tmp_path / "shards")
    assert len(data) == 11 and [len(s) for s in data.shards] == [4, 4, 3]
    for i in (0, 3, 4, 7, 8, 10, -1):
        assert_same(samples[i], data[i])
    with pytest.raises(IndexError):
        data[11]
    # a spawned DataLoader worker gets the dataset pickled: it maps the files again
    clone = pickle.loads(pickle.dumps(data))
    assert len(pickle.dumps(data)) < 4096
    assert_same(samples[9], clone[9])


def test_bad_shards_and_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="at least one sample"):
        write_shard(tmp_path / "x.npz", [])
    with pytest.raises(InputError, match="one size"):
        write_shard(tmp_path / "x.npz", [make_sample(0, 32), make_sample(1, 48)])
    with pytest.raises(InputError, match="needs crop_rgb"):
        write_shard(tmp_path / "x.npz", [HandSample(joints_cam_mm=np.ones((21, 3), np.float32))])
    assert not (tmp_path / "x.npz").exists()

    np.savez(tmp_path / "other.npz", crops=np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(InputError, match=r"not a handpose shard, arrays \['format_version', 'joints_cam_mm'"):
        Shard(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(InputError, match="not an .npz file"):
        Shard(tmp_path / "text.npz")
    compressed = tmp_path / "compressed" / "c.npz"
    write_shard(compressed, [make_sample(0)])
    with np.load(compressed) as npz:
        arrays = {k: npz[k] for k in npz.files}
    np.savez_compressed(compressed, **arrays)
    with pytest.raises(InputError, match="compressed"):
        Shard(compressed)
    with pytest.raises(InputError, match="no shards"):
        ShardDataset(_empty(tmp_path))
    mixed = tmp_path / "mixed"
    write_shard(mixed / "a.npz", [make_sample(0, 32)])
    write_shard(mixed / "b.npz", [make_sample(1, 48)])
    with pytest.raises(InputError, match=r"different crop sizes \[32, 48\]"):
        ShardDataset(mixed)


def _empty(parent: Path) -> Path:
    empty = parent / "empty"
    empty.mkdir()
    return empty


def teacher_sample(seed: int, size: int = 32) -> HandSample:
    """A real photo labelled by a teacher: no exact 3D, the teacher's shape, no visibility."""
    exact = make_sample(seed * 2, size)
    world = np.random.default_rng(seed).normal(0, 30, (21, 3)).astype(np.float32)
    return HandSample(joints_cam_mm=np.full((21, 3), np.nan, np.float32), is_left=exact.is_left,
                      crop_rgb=exact.crop_rgb, keypoints_crop_px=exact.keypoints_crop_px,
                      keypoints_px=exact.keypoints_px, intrinsics=exact.intrinsics, crop=exact.crop,
                      exact_3d=False, world_mm=world)


def test_teacher_samples_round_trip_and_version_1_shards_still_read(tmp_path: Path) -> None:
    samples = [teacher_sample(i) for i in range(3)] + [make_sample(i) for i in range(3)]
    write_shard(tmp_path / "mixed.npz", samples)
    back = Shard(tmp_path / "mixed.npz")
    for a, b in zip(samples, back):
        assert_same(a, b)
    assert not back[0].exact_3d and back[0].visible is None and back[3].world_mm is None
    # a version-1 shard (written before teacher labels existed): exact labels, visibility as stored
    with np.load(tmp_path / "mixed.npz") as npz:
        v1 = {k: npz[k] for k in npz.files if k not in ("exact_3d", "world_mm", "visible_known")}
    v1["format_version"] = np.array(1, np.int64)
    rows = slice(3, 6)
    np.savez(tmp_path / "v1.npz", **{k: v if v.ndim == 0 else v[rows] for k, v in v1.items()})
    old = Shard(tmp_path / "v1.npz")
    for a, b in zip(samples[3:], old):
        assert_same(a, b)
    v1["format_version"] = np.array(7, np.int64)
    np.savez(tmp_path / "v7.npz", **{k: v if v.ndim == 0 else v[rows] for k, v in v1.items()})
    with pytest.raises(InputError, match="shard format 1 or 2 expected, got 7"):
        Shard(tmp_path / "v7.npz")
