"""Backends behind one interface: torch vs ONNX Runtime parity, buffers, errors, TensorRT engine-cache keys."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from handpose.errors import InputError, MissingDependencyError
from handpose.infer.backends.base import BackendOutputs
from handpose.infer.backends.factory import create_backend
from handpose.infer.backends.tensorrt_backend import EngineKey, cached_engine_is_fresh, engine_paths, tensorrt_available
from handpose.model.checkpoint import load_default_model
from tests.real_photos import real_hand_crops

MAX_BATCH = 4
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return load_default_model().eval()


@pytest.fixture(scope="module")
def backends(model):
    made = {name: create_backend(name, model, max_batch=MAX_BATCH, threads=1) for name in ("torch", "onnxruntime")}
    yield made
    for backend in made.values():
        backend.close()


def _compare(a: BackendOutputs, b: BackendOutputs, tolerance: float) -> None:
    for name in ("joints_view_norm", "keypoints_crop_px", "presence", "visibility"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and x.dtype == y.dtype == np.float32, name
        assert np.abs(x - y).max() <= tolerance, f"{name}: max abs diff {np.abs(x - y).max()}"


@pytest.mark.parametrize("batch", range(1, MAX_BATCH + 1))
def test_torch_and_onnxruntime_agree_on_random_crops(backends, model, batch):
    size = model.config.input_size
    images = np.random.default_rng(batch).random((batch, 3, size, size), dtype=np.float32)
    torch_out = backends["torch"].run(images)
    ort_out = backends["onnxruntime"].run(images)
    assert ort_out.joints_view_norm.shape == (batch, 21, 3) and ort_out.presence.shape == (batch,)
    for out in (torch_out, ort_out):
        assert out.visibility.shape == (batch, 21)
        assert np.all((out.visibility >= 0.0) & (out.visibility <= 1.0))
    _compare(torch_out, ort_out, TOLERANCE)


def test_torch_and_onnxruntime_agree_on_real_crops(backends, model):
    crops = real_hand_crops(model.config.input_size)[:MAX_BATCH]
    _compare(backends["torch"].run(crops), backends["onnxruntime"].run(crops), TOLERANCE)


def test_visibility_is_the_models_per_joint_probability(backends, model):
    """Both engines give the model's own visibility (``HandModel.infer``), joint by joint, crop by crop."""
    crops = real_hand_crops(model.config.input_size)[:MAX_BATCH]
    with torch.inference_mode():
        expected = model.infer(torch.from_numpy(crops)).visibility.numpy()
    assert expected.shape == (len(crops), 21) and np.ptp(expected) > 0  # not one value for every joint
    for backend in backends.values():
        got = backend.run(crops).visibility
        assert got.shape == expected.shape and got.dtype == np.float32
        assert np.abs(got - expected).max() <= TOLERANCE, backend.name


def test_results_match_single_crop_runs(backends, model):
    """Batching must not mix crops: crop k of a batch gives what it gives alone."""
    size = model.config.input_size
    images = np.random.default_rng(7).random((3, 3, size, size), dtype=np.float32)
    batch = backends["onnxruntime"].run(images)
    batched = [(batch.joints_view_norm[k].copy(), batch.presence[k].copy(), batch.visibility[k].copy()) for k in range(3)]
    for k in range(3):
        alone = backends["onnxruntime"].run(np.ascontiguousarray(images[k : k + 1]))
        assert np.abs(alone.joints_view_norm[0] - batched[k][0]).max() <= TOLERANCE
        assert abs(alone.presence[0] - batched[k][1]) <= TOLERANCE
        assert np.abs(alone.visibility[0] - batched[k][2]).max() <= TOLERANCE


def test_bad_input_is_rejected(backends, model):
    size = model.config.input_size
    for backend in backends.values():
        with pytest.raises(InputError, match="float32"):
            backend.run(np.zeros((1, 3, size, size), np.float64))
        with pytest.raises(InputError, match=r"\(N, 3, "):
            backend.run(np.zeros((1, size, size, 3), np.float32))
        with pytest.raises(InputError, match=f"1..{MAX_BATCH}"):
            backend.run(np.zeros((MAX_BATCH + 1, 3, size, size), np.float32))
    with pytest.raises(InputError, match="backend must be one of"):
        create_backend("openvino", model)  # type: ignore[arg-type]


@pytest.mark.skipif(tensorrt_available(), reason="real TensorRT installed: scripts/gpu_check.sh tests it")
def test_tensorrt_backend_needs_tensorrt(model):
    with pytest.raises(MissingDependencyError, match="tensorrt"):
        create_backend("tensorrt", model)


def test_engine_cache_is_rebuilt_when_stale(tmp_path):
    key = EngineKey(onnx_sha256="ab" * 32, tensorrt_version="10.13.0", gpu_name="NVIDIA H200", max_batch=8, fp16=True)
    assert not cached_engine_is_fresh(tmp_path, key)
    engine_file, record_file = engine_paths(tmp_path, key)
    engine_file.write_bytes(b"engine")
    record_file.write_text(json.dumps(asdict(key)))
    assert cached_engine_is_fresh(tmp_path, key)
    for changed in (replace(key, tensorrt_version="10.14.1"), replace(key, gpu_name="NVIDIA L4"),
                    replace(key, max_batch=4), replace(key, fp16=False)):
        assert engine_paths(tmp_path, changed)[0] == engine_file  # same model: the stale engine is overwritten
        assert not cached_engine_is_fresh(tmp_path, changed)
    record_file.write_text("{truncated")
    assert not cached_engine_is_fresh(tmp_path, key)
