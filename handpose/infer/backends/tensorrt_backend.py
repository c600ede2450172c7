"""TensorRT backend: an FP16 engine built from the exported ONNX, cached on disk, run on torch CUDA tensors.

* Build: ``OnnxParser`` -> ``INetworkDefinition``; builder config with the FP16 flag and one
  optimisation profile for the input ``images`` from batch 1 (the optimum) to ``max_batch``.
* Cache: ``models/engines/<onnx sha256[:16]>.engine`` with a JSON record of its :class:`EngineKey`
  (full ONNX sha256, TensorRT version, GPU name, max batch, precision). An engine whose record
  differs from the current key (another model, TensorRT upgrade, another GPU) is stale and rebuilt.
* Run: inputs and outputs are preallocated torch CUDA tensors whose addresses are bound once with
  ``IExecutionContext.set_tensor_address``; each call copies the crops in, sets the input shape,
  enqueues ``execute_async_v3`` on a torch CUDA stream and copies the outputs to pinned host memory.

TensorRT cannot be installed on the project's CPU machines: the import is guarded (a clear
:class:`MissingDependencyError`), the module is type-checked against ``tensorrt-stubs`` by
``tests/test_tensorrt_types.py``, and ``scripts/gpu_check.sh`` exercises it on a GPU.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import torch

from handpose.io.atomic import atomic_path
from handpose.errors import InputError, MissingDependencyError
from handpose.infer.backends.base import BackendOutputs, check_images
from handpose.infer.export import INPUT_NAME, OUTPUT_NAMES, onnx_sha256
from handpose.paths import engine_cache_dir
from handpose.skeleton import NUM_JOINTS

if TYPE_CHECKING:
    import tensorrt as trt

DEFAULT_CACHE_DIR: Final = engine_cache_dir()
WORKSPACE_BYTES: Final = 1 << 30


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on; a cached engine is reused only when all of it matches."""

    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    max_batch: int
    fp16: bool


def engine_paths(cache_dir: Path, key: EngineKey) -> tuple[Path, Path]:
    """(engine file, JSON record) for ``key`` under ``cache_dir``."""
    stem = key.onnx_sha256[:16]
    return cache_dir / f"{stem}.engine", cache_dir / f"{stem}.json"


def cached_engine_is_fresh(cache_dir: Path, key: EngineKey) -> bool:
    """True when the cache holds an engine built for exactly ``key``."""
    engine_file, record_file = engine_paths(cache_dir, key)
    if not (engine_file.is_file() and record_file.is_file()):
        return False
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(record == asdict(key))


def tensorrt_available() -> bool:
    """Whether the real TensorRT runtime imports (tensorrt-stubs alone leave an empty namespace package)."""
    try:
        import tensorrt
    except ImportError:
        return False
    return hasattr(tensorrt, "Builder")


class TensorRTBackend:
    """TensorRT engine for the exported graph, batches 1..``max_batch``, FP16 by default.

    Args:
        onnx_model: ONNX bytes (:func:`handpose.infer.export.export_onnx`).
        input_size: crop side S.
        max_batch: top of the optimisation profile.
        fp16: allow FP16 kernels (inputs and outputs stay float32).
        cache_dir: where engines are cached.
    """

    name = "tensorrt"

    def __init__(
        self,
        onnx_model: bytes,
        input_size: int,
        max_batch: int = 8,
        fp16: bool = True,
        cache_dir: str | os.PathLike[str] = DEFAULT_CACHE_DIR,
    ) -> None:
        if not tensorrt_available():
            raise MissingDependencyError("tensorrt", "tensorrt", "The TensorRT backend (NVIDIA GPU, TensorRT 10+)")
        import tensorrt as trt

        if not torch.cuda.is_available():
            raise InputError("the TensorRT backend needs a CUDA GPU, but torch.cuda.is_available() is False")
        self.input_size = int(input_size)
        self.max_batch = int(max_batch)
        self.key = EngineKey(
            onnx_sha256=onnx_sha256(onnx_model),
            tensorrt_version=trt.__version__,
            gpu_name=torch.cuda.get_device_name(),
            max_batch=self.max_batch,
            fp16=bool(fp16),
        )
        self.cache_dir = Path(cache_dir)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._load_or_build(onnx_model)
        context = self.engine.create_execution_context()
        if context is None:
            raise InputError("TensorRT could not create an execution context for the engine")
        self.context: trt.IExecutionContext = context
        self._bind_buffers()

    def _load_or_build(self, onnx_model: bytes) -> trt.ICudaEngine:
        engine_file, record_file = engine_paths(self.cache_dir, self.key)
        if cached_engine_is_fresh(self.cache_dir, self.key):
            engine = self._runtime.deserialize_cuda_engine(engine_file.read_bytes())
            if engine is not None:
                self.built = False
                return engine
        serialized = self._build(onnx_model)
        with atomic_path(engine_file) as tmp:
            tmp.write_bytes(serialized)
        with atomic_path(record_file) as tmp:
            tmp.write_text(json.dumps(asdict(self.key), indent=2), encoding="utf-8")
        engine = self._runtime.deserialize_cuda_engine(serialized)
        if engine is None:
            raise InputError("TensorRT could not deserialise the engine it has just built")
        self.built = True
        return engine

    def _build(self, onnx_model: bytes) -> bytes:
        import tensorrt as trt

        builder = trt.Builder(self._logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, self._logger)
        if not parser.parse(onnx_model):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise InputError(f"TensorRT could not parse the ONNX graph: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
        if self.key.fp16:
            config.set_flag(trt.BuilderFlag.FP16)
        s = self.input_size
        profile = builder.create_optimization_profile()
        profile.set_shape(INPUT_NAME, trt.Dims4(1, 3, s, s), trt.Dims4(1, 3, s, s), trt.Dims4(self.max_batch, 3, s, s))
        config.add_optimization_profile(profile)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise InputError("TensorRT failed to build the engine (see the messages above)")
        return bytes(serialized)

    def _bind_buffers(self) -> None:
        b, s = self.max_batch, self.input_size
        device = torch.device("cuda")
        self._stream = torch.cuda.Stream()
        self._input = torch.zeros((b, 3, s, s), dtype=torch.float32, device=device)
        self._host_input = torch.zeros((b, 3, s, s), dtype=torch.float32).pin_memory()
        shapes = {"joints_view_norm": (b, NUM_JOINTS, 3), "keypoints_crop_px": (b, NUM_JOINTS, 2), "presence": (b,),
                  "visibility": (b, NUM_JOINTS)}
        self._outputs = tuple(torch.zeros(shapes[name], dtype=torch.float32, device=device) for name in OUTPUT_NAMES)
        self._host_outputs = tuple(torch.zeros(shapes[name], dtype=torch.float32).pin_memory() for name in OUTPUT_NAMES)
        self.context.set_tensor_address(INPUT_NAME, self._input.data_ptr())
        for name, tensor in zip(OUTPUT_NAMES, self._outputs):
            self.context.set_tensor_address(name, tensor.data_ptr())

    def run(self, images: np.ndarray) -> BackendOutputs:
        """Predict for float32 (N, 3, S, S) crops; the result is valid until the next call."""
        n = check_images(images, self.input_size, self.max_batch)
        s = self.input_size
        self._host_input[:n].numpy()[...] = images
        with torch.cuda.stream(self._stream):
            self._input[:n].copy_(self._host_input[:n], non_blocking=True)
            if not self.context.set_input_shape(INPUT_NAME, (n, 3, s, s)):
                raise InputError(f"TensorRT rejected the input shape {(n, 3, s, s)}")
            if not self.context.execute_async_v3(self._stream.cuda_stream):
                raise InputError("TensorRT execute_async_v3 failed")
            for host, device_out in zip(self._host_outputs, self._outputs):
                host[:n].copy_(device_out[:n], non_blocking=True)
        self._stream.synchronize()
        pose, keypoints, presence, visibility = (t[:n].numpy() for t in self._host_outputs)
        return BackendOutputs(pose, keypoints, presence, visibility)

    def close(self) -> None:
        """Free the execution context and the engine (idempotent)."""
        self.__dict__.pop("context", None)
        self.__dict__.pop("engine", None)
