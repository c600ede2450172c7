"""Model-alone latency of every GPU engine this machine has, each checked against a CPU reference first.

Engines (:data:`ENGINES`): torch on CUDA in fp32 and fp16, each with CUDA graphs off and on
(:class:`handpose.infer.backends.torch_backend.TorchBackend`), and TensorRT fp16 when ``tensorrt`` imports
(:class:`handpose.infer.backends.tensorrt_backend.TensorRTBackend`). An engine that cannot run here is listed
with the reason, never silently left out.

Before any timing, each engine's answers are compared with the reference - ONNX Runtime on the CPU
when ``onnxruntime`` and ``onnx`` import, else torch on the CPU in fp32 - on random crops and on the
real hand crops shipped in ``assets/real_crops.npz`` (``scripts/make_real_crops.py``), at the
tolerances of :data:`TOLERANCES` (fp16 on the GPU). An engine that fails parity is not timed.

Timing: per engine and batch size (1, 2, 4, ... 256), ``Backend.run`` on host numpy crops, so the
host->device copy of the crops and the device->host copy of the answers are counted; warm-up
first, then up to ``iterations`` calls within ``seconds_per_case``; p50/p95/p99 in ms and crops/s
at the median. Only torch and numpy are needed (and TensorRT, ONNX Runtime when present): no
MediaPipe, no Qt, no network.
"""

from __future__ import annotations

import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from handpose.errors import HandposeError
from handpose.infer.backends.base import Backend, BackendOutputs

if TYPE_CHECKING:
    from handpose.model.hand_model import HandModel

REAL_CROPS: Final = Path(__file__).resolve().parent / "assets" / "real_crops.npz"
BATCHES: Final = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: max abs differences allowed against the fp32 CPU reference: normalised pose units (bone = 1),
#: crop px, probabilities
TOLERANCES: Final = {"joints_view_norm": 2e-2, "keypoints_crop_px": 0.5, "presence": 1e-2, "visibility": 1e-2}
#: the issue's targets on a data-centre GPU
BATCH1_MS_TARGET: Final = 0.2
CROPS_PER_S_TARGET: Final = 20_000.0


@dataclass(frozen=True)
class Engine:
    """One way of running the model on the GPU."""

    name: str
    kind: str  # "torch" or "tensorrt"
    fp16: bool = True
    cuda_graphs: bool = False


ENGINES: Final = (
    Engine("torch-cuda fp32", "torch", fp16=False),
    Engine("torch-cuda fp32 + graphs", "torch", fp16=False, cuda_graphs=True),
    Engine("torch-cuda fp16", "torch"),
    Engine("torch-cuda fp16 + graphs", "torch", cuda_graphs=True),
    Engine("tensorrt fp16", "tensorrt"),
)


@dataclass(frozen=True)
class Parity:
    engine: str
    inputs: str  # "random" or "real"
    batch: int
    max_abs: dict[str, float]
    ok: bool


@dataclass(frozen=True)
class Latency:
    engine: str
    batch: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    calls: int

    @property
    def crops_per_s(self) -> float:
        return self.batch / (self.p50_ms / 1e3)


@dataclass(frozen=True)
class GpuReport:
    """What :func:`run_gpu_benchmark` measured; ``environment`` names the GPU, driver, torch, CUDA."""

    environment: dict[str, str]
    reference: str
    unavailable: dict[str, str] = field(default_factory=dict)
    parity: tuple[Parity, ...] = ()
    latency: tuple[Latency, ...] = ()

    @property
    def parity_ok(self) -> bool:
        return all(p.ok for p in self.parity)

    def to_dict(self) -> dict[str, object]:
        return {"environment": self.environment, "reference": self.reference, "unavailable": self.unavailable,
                "parity_ok": self.parity_ok, "parity": [p.__dict__ for p in self.parity],
                "latency": [{**m.__dict__, "crops_per_s": m.crops_per_s} for m in self.latency]}


def cuda_unavailable_reason() -> str | None:
    """None when torch sees a CUDA device, else one line saying why not."""
    import torch

    if torch.cuda.is_available():
        return None
    build = torch.version.cuda
    return (f"no CUDA device visible to torch {torch.__version__} "
            + (f"(built for CUDA {build})" if build else "(a CPU-only build of torch)"))


def environment() -> dict[str, str]:
    """GPU name, driver, torch, CUDA and cuDNN versions, host."""
    import torch

    env = {"torch": torch.__version__, "cuda_build": str(torch.version.cuda), "python": platform.python_version(),
           "host": platform.node()}
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name()
        env["cudnn"] = str(torch.backends.cudnn.version())
        try:
            driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                    capture_output=True, text=True, timeout=20, check=True).stdout.strip()
            env["driver"] = driver.splitlines()[0] if driver else "unknown"
        except (OSError, subprocess.SubprocessError):
            env["driver"] = "unknown (nvidia-smi not found)"
    return env


def real_crops() -> np.ndarray:
    """float32 (N, 3, S, S) crops in [0, 1] of the shipped real hands."""
    with np.load(REAL_CROPS) as data:
        rgb = data["crops_rgb"]
    return np.ascontiguousarray(rgb.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)


def reference_backend(model: HandModel, max_batch: int) -> tuple[str, Backend]:
    """ONNX Runtime on the CPU when it (and onnx) import, else torch on the CPU in fp32."""
    from handpose.infer.backends.torch_backend import TorchBackend

    try:
        from handpose.infer.export import export_onnx
        from handpose.infer.backends.ort_backend import OrtBackend

        onnx_bytes = export_onnx(model)
        return "onnxruntime-cpu", OrtBackend(onnx_bytes, model.config.input_size, max_batch=max_batch,
                                             providers=["CPUExecutionProvider"])
    except ImportError:
        return "torch-cpu fp32", TorchBackend(model, max_batch=max_batch, device="cpu")


def create_engine(engine: Engine, model: HandModel, max_batch: int, batches: tuple[int, ...]) -> Backend:
    """Build ``engine``; raises ImportError / HandposeError when it cannot run here."""
    if engine.kind == "torch":
        from handpose.infer.backends.torch_backend import TorchBackend

        return TorchBackend(model, max_batch=max_batch, device="cuda", fp16=engine.fp16,
                            cuda_graphs=engine.cuda_graphs, graph_batches=batches)
    from handpose.infer.export import export_onnx
    from handpose.infer.backends.tensorrt_backend import TensorRTBackend

    return TensorRTBackend(export_onnx(model), model.config.input_size, max_batch=max_batch)


def _copy(outputs: BackendOutputs) -> BackendOutputs:
    """Backends reuse their output buffers: keep a copy."""
    return BackendOutputs(*(np.array(a, copy=True) for a in (outputs.joints_view_norm, outputs.keypoints_crop_px,
                                                            outputs.presence, outputs.visibility)))


def check_parity(name: str, backend: Backend, reference: Backend, inputs: dict[str, np.ndarray],
                 batches: tuple[int, ...]) -> list[Parity]:
    """``backend`` against ``reference`` on every input set, at each of ``batches`` that fits it."""
    results = []
    for label, images in inputs.items():
        for n in [b for b in batches if b <= len(images)]:
            batch = np.ascontiguousarray(images[:n])
            ref = _copy(reference.run(batch))
            got = backend.run(batch)
            diffs = {key: float(np.abs(getattr(got, key) - getattr(ref, key)).max()) for key in TOLERANCES}
            results.append(Parity(name, label, n, diffs, all(diffs[k] <= tol for k, tol in TOLERANCES.items())))
    return results


def time_backend(name: str, backend: Backend, images: np.ndarray, batches: tuple[int, ...], iterations: int,
                 seconds_per_case: float) -> list[Latency]:
    out = []
    for n in batches:
        batch = np.ascontiguousarray(images[:n])
        for _ in range(5):
            backend.run(batch)
        samples: list[float] = []
        deadline = time.perf_counter() + seconds_per_case
        while len(samples) < iterations and (len(samples) < 10 or time.perf_counter() < deadline):
            start = time.perf_counter()
            backend.run(batch)
            samples.append((time.perf_counter() - start) * 1e3)
        p50, p95, p99 = np.percentile(samples, [50, 95, 99])
        out.append(Latency(name, n, float(p50), float(p95), float(p99), len(samples)))
    return out


def run_gpu_benchmark(model: HandModel, batches: tuple[int, ...] = BATCHES, iterations: int = 300,
                      seconds_per_case: float = 2.0, engines: tuple[Engine, ...] = ENGINES) -> GpuReport:
    """Parity, then timing, of every engine in ``engines`` (see the module docstring). Without a
    CUDA device nothing is run and every engine is listed as unavailable with the reason."""
    no_cuda = cuda_unavailable_reason()
    env = environment()
    if no_cuda is not None:
        return GpuReport(env, "none", {e.name: no_cuda for e in engines})
    max_batch = max(batches)
    size = model.config.input_size
    rng = np.random.default_rng(0)
    random = rng.random((max_batch, 3, size, size), dtype=np.float32)
    real = real_crops()
    inputs = {"random": random[:8], "real": real}
    reference_name, reference = reference_backend(model, max_batch=8)
    unavailable: dict[str, str] = {}
    parity: list[Parity] = []
    latency: list[Latency] = []
    parity_batches = tuple(b for b in batches if b <= 8)
    try:
        for engine in engines:
            try:
                backend = create_engine(engine, model, max_batch, batches)
            except (ImportError, HandposeError, RuntimeError) as exc:
                unavailable[engine.name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
                continue
            try:
                checks = check_parity(engine.name, backend, reference, inputs, parity_batches)
                parity.extend(checks)
                if all(c.ok for c in checks):
                    latency.extend(time_backend(engine.name, backend, random, batches, iterations, seconds_per_case))
            finally:
                backend.close()
    finally:
        reference.close()
    return GpuReport(env, reference_name, unavailable, tuple(parity), tuple(latency))


def format_gpu_table(report: GpuReport) -> str:
    """The report as a plain-text table."""
    env = report.environment
    lines = [f"GPU: {env.get('gpu', 'none')}, driver {env.get('driver', '-')}, torch {env['torch']}, "
             f"CUDA {env['cuda_build']}, cuDNN {env.get('cudnn', '-')}"]
    if report.parity:
        worst: dict[str, dict[str, float]] = {}
        for p in report.parity:
            for key, value in p.max_abs.items():
                worst.setdefault(p.engine, {})[key] = max(worst.get(p.engine, {}).get(key, 0.0), value)
        lines += ["", f"parity against {report.reference} (random and real crops; max abs difference, tolerance):"]
        for name, diffs in worst.items():
            ok = all(p.ok for p in report.parity if p.engine == name)
            cells = ", ".join(f"{k} {v:.1e} (<= {TOLERANCES[k]:.0e})" for k, v in diffs.items())
            lines.append(f"  {name:<26} {'ok  ' if ok else 'FAIL'} {cells}")
    if report.latency:
        lines += ["", f"{'model alone (host copies counted)':<34}{'batch':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
                  f"{'crops/s':>11}"]
        for m in report.latency:
            lines.append(f"  {m.engine:<32}{m.batch:>6}{m.p50_ms:9.3f}{m.p95_ms:9.3f}{m.p99_ms:9.3f}"
                         f"{m.crops_per_s:11.0f}")
        best1 = min((m.p50_ms for m in report.latency if m.batch == 1), default=float("nan"))
        best_rate = max(m.crops_per_s for m in report.latency)
        lines += ["",
                  f"target: model alone at batch 1 = {best1:.3f} ms (<= {BATCH1_MS_TARGET} ms: "
                  f"{'PASS' if best1 <= BATCH1_MS_TARGET else 'FAIL'})",
                  f"target: batched = {best_rate:.0f} crops/s (>= {CROPS_PER_S_TARGET:.0f}: "
                  f"{'PASS' if best_rate >= CROPS_PER_S_TARGET else 'FAIL'})"]
    for name, reason in report.unavailable.items():
        lines.append(f"not measured: {name}: {reason}")
    return "\n".join(lines)
