"""Build an inference engine by name (:data:`handpose.infer.backends.base.BACKEND_NAMES`),
importing only the engine asked for: above the engines, which import only the interface below."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handpose.errors import InputError
from handpose.infer.backends.base import BACKEND_NAMES, Backend, BackendName

if TYPE_CHECKING:
    from handpose.model.hand_model import HandModel


def create_backend(name: BackendName, model: HandModel, max_batch: int = 8, threads: int = 0) -> Backend:
    """Build backend ``name`` for ``model`` (exporting ONNX in memory where the engine needs it).

    ``threads`` (0 = the engine's default) sets ONNX Runtime's intra-op threads and torch's CPU threads.
    """
    if max_batch < 1:
        raise InputError(f"max_batch >= 1 expected, got {max_batch}")
    if name == "torch":
        from handpose.infer.backends.torch_backend import TorchBackend

        return TorchBackend(model, max_batch=max_batch, threads=threads)
    if name == "onnxruntime":
        from handpose.infer.backends.ort_backend import OrtBackend
        from handpose.infer.export import export_onnx

        return OrtBackend(export_onnx(model), model.config.input_size, max_batch=max_batch, threads=threads)
    if name == "tensorrt":
        from handpose.infer.backends.tensorrt_backend import TensorRTBackend
        from handpose.infer.export import export_onnx

        return TensorRTBackend(export_onnx(model), model.config.input_size, max_batch=max_batch)
    raise InputError(f"backend must be one of {BACKEND_NAMES}, got {name!r}")
