"""GPU benchmarking: on this CPU machine, that it says there is no CUDA device and measures nothing,
and that its parity and timing code gives right answers on CPU backends; on a CUDA machine
(``-m cuda``, run by ``scripts/gpu_check.sh``), that every torch-CUDA engine matches the reference.

Imports only torch, numpy and handpose (no MediaPipe, no OpenCV), so it runs on a bare GPU box.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from handpose.infer.gpu_bench import (ENGINES, TOLERANCES, check_parity, format_gpu_table, real_crops,
                                      reference_backend, run_gpu_benchmark, time_backend)
from handpose.infer.backends.torch_backend import TorchBackend
from handpose.model.checkpoint import load_default_model

ROOT = Path(__file__).resolve().parents[1]
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without CUDA")


@pytest.fixture(scope="module")
def model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return load_default_model().eval()


@no_cuda
def test_gpu_check_without_cuda_says_so_in_one_line(tmp_path):
    out = tmp_path / "gpu.json"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--json", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("GPU check skipped: no CUDA device visible to torch")
    assert "Traceback" not in done.stderr and not out.exists()


@no_cuda
def test_without_cuda_every_engine_is_listed_with_the_reason(model):
    report = run_gpu_benchmark(model)
    assert set(report.unavailable) == {e.name for e in ENGINES} and not report.latency and not report.parity
    table = format_gpu_table(report)
    assert table.count("not measured:") == len(ENGINES) and "no CUDA device" in table


def test_shipped_real_crops_are_hands(model):
    crops = real_crops()
    assert crops.shape == (8, 3, 128, 128) and crops.dtype == np.float32 and 0.0 <= crops.min() < crops.max() <= 1.0
    with torch.inference_mode():
        presence = model.infer(torch.from_numpy(crops)).presence.numpy()
    assert presence.min() > 0.5  # the default model sees a hand in every one


def test_parity_and_timing_on_cpu_backends(model):
    """The same code the GPU engines go through, with torch on the CPU as the engine under test."""
    name, reference = reference_backend(model, max_batch=8)
    assert name in ("onnxruntime-cpu", "torch-cpu fp32")
    engine = TorchBackend(model, max_batch=8, device="cpu")
    inputs = {"real": real_crops(), "random": np.random.default_rng(0).random((8, 3, 128, 128), dtype=np.float32)}
    checks = check_parity("torch-cpu", engine, reference, inputs, (1, 2, 4, 8))
    assert len(checks) == 8 and all(c.ok for c in checks)
    assert all(c.max_abs[k] < 1e-3 * max(1.0, TOLERANCES[k]) for c in checks for k in TOLERANCES)  # fp32 vs fp32
    shifted = check_parity("shifted", _Shifted(engine), reference, {"real": inputs["real"]}, (1,))
    assert not shifted[0].ok and shifted[0].max_abs["keypoints_crop_px"] == pytest.approx(1.0, abs=1e-3)
    timings = time_backend("torch-cpu", engine, inputs["random"], (1, 4), iterations=5, seconds_per_case=0.0)
    assert [t.batch for t in timings] == [1, 4] and all(t.calls >= 5 and 0 < t.p50_ms <= t.p99_ms for t in timings)
    assert timings[1].crops_per_s == pytest.approx(4 / (timings[1].p50_ms / 1e3))


class _Shifted:
    """An engine whose keypoints are 1 px off: parity must catch it."""

    def __init__(self, inner):
        self.inner = inner

    def run(self, images):
        from dataclasses import replace

        out = self.inner.run(images)
        return replace(out, keypoints_crop_px=out.keypoints_crop_px + 1.0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_torch_cuda_fp16_graphs_match_cpu(model):
    size = model.config.input_size
    images = np.random.default_rng(0).random((4, 3, size, size), dtype=np.float32)
    cpu = TorchBackend(model, 4, device="cpu").run(images)
    gpu = TorchBackend(model, 4, device="cuda", fp16=True, cuda_graphs=True)
    for n in (1, 4):
        out = gpu.run(np.ascontiguousarray(images[:n]))
        for key, tol in TOLERANCES.items():
            assert np.abs(getattr(out, key) - getattr(cpu, key)[:n]).max() < tol


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_every_cuda_engine_matches_the_reference_and_is_timed(model):
    report = run_gpu_benchmark(model, batches=(1, 2, 4, 64), iterations=5, seconds_per_case=0.05)
    assert report.parity_ok, format_gpu_table(report)
    timed = {m.engine for m in report.latency}
    assert {e.name for e in ENGINES if e.kind == "torch"} <= timed
    assert "tensorrt fp16" in timed or "tensorrt fp16" in report.unavailable
    assert report.environment["gpu"] and report.environment["cuda_build"] != "None"
