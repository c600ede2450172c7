"""ONNX export: one graph with the agreed names, dynamic batch, parity with torch on random and real crops."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from handpose.infer.export import INPUT_NAME, OPSET, OUTPUT_NAMES, export_onnx, onnx_sha256
from handpose.model.checkpoint import load_default_model
from tests.real_photos import real_hand_crops

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no default checkpoint yet: untrained model
        return load_default_model().eval()


@pytest.fixture(scope="module")
def exported(model):
    return export_onnx(model)


@pytest.fixture(scope="module")
def session(exported):
    return ort.InferenceSession(exported, providers=["CPUExecutionProvider"])


def _max_abs_diff(session, model, images: np.ndarray) -> list[float]:
    ours = session.run(list(OUTPUT_NAMES), {INPUT_NAME: images})
    with torch.inference_mode():
        reference = model(torch.from_numpy(images))
    assert [o.shape for o in ours] == [tuple(r.shape) for r in reference]
    return [float(np.abs(o - r.numpy()).max()) for o, r in zip(ours, reference)]


def test_graph_interface(exported):
    graph = onnx.load_from_string(exported)
    assert [i.name for i in graph.graph.input] == [INPUT_NAME]
    assert [o.name for o in graph.graph.output] == list(OUTPUT_NAMES)
    assert max(op.version for op in graph.opset_import if op.domain in ("", "ai.onnx")) >= OPSET
    for value in (*graph.graph.input, *graph.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param, f"{value.name}: batch dimension is not dynamic"


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_parity_on_random_crops(session, model, batch):
    size = model.config.input_size
    images = np.random.default_rng(batch).random((batch, 3, size, size), dtype=np.float32)
    assert max(_max_abs_diff(session, model, images)) <= TOLERANCE


def test_parity_on_real_crops(session, model):
    images = real_hand_crops(model.config.input_size)
    assert len(images) >= 4
    assert max(_max_abs_diff(session, model, images)) <= TOLERANCE


def test_written_file_and_hash_are_stable(model, exported, tmp_path):
    path = tmp_path / "model.onnx"
    data = export_onnx(model, path)
    assert path.read_bytes() == data
    assert onnx_sha256(data) == onnx_sha256(exported)  # same weights -> same graph -> same engine key
    assert model.training is False
