"""ONNX Runtime backend: CPU execution provider, or CUDA when onnxruntime-gpu has it.

I/O is bound once per batch size (``IOBinding``) to host buffers allocated here, so
:meth:`OrtBackend.run` allocates nothing: it copies nothing in (the caller's array is bound in
place) and the outputs land in preallocated arrays.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from handpose.errors import MissingDependencyError
from handpose.infer.backends.base import BackendOutputs, check_images
from handpose.infer.export import INPUT_NAME, OUTPUT_NAMES
from handpose.skeleton import NUM_JOINTS


class OrtBackend:
    """ONNX Runtime session over an exported graph (:func:`handpose.infer.export.export_onnx`).

    Args:
        onnx_model: ONNX bytes or a path to an ``.onnx`` file.
        input_size: crop side S the graph was exported for.
        max_batch: largest batch :meth:`run` accepts.
        threads: intra-op threads (0 = ONNX Runtime's default, one per core).
        providers: execution providers in order of preference; default CUDA (if available) then CPU.
    """

    name = "onnxruntime"

    def __init__(
        self,
        onnx_model: bytes | str | os.PathLike[str],
        input_size: int,
        max_batch: int = 8,
        threads: int = 0,
        providers: list[str] | None = None,
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingDependencyError("onnxruntime", "all", "The ONNX Runtime backend") from exc
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        available = ort.get_available_providers()
        wanted = providers or ["CUDAExecutionProvider", "CPUExecutionProvider"]
        chosen = [p for p in wanted if p in available] or ["CPUExecutionProvider"]
        source = onnx_model if isinstance(onnx_model, bytes) else os.fspath(onnx_model)
        self.session = ort.InferenceSession(source, sess_options=options, providers=chosen)
        self.providers: list[str] = self.session.get_providers()
        self.input_size = int(input_size)
        self.max_batch = int(max_batch)
        self._pose = np.zeros((max_batch, NUM_JOINTS, 3), np.float32)
        self._keypoints = np.zeros((max_batch, NUM_JOINTS, 2), np.float32)
        self._presence = np.zeros((max_batch,), np.float32)
        self._visibility = np.zeros((max_batch, NUM_JOINTS), np.float32)
        arrays = (self._pose, self._keypoints, self._presence, self._visibility)
        self._bindings: dict[int, Any] = {}
        for n in range(1, max_batch + 1):
            binding = self.session.io_binding()
            for name, array in zip(OUTPUT_NAMES, arrays, strict=True):
                view = array[:n]
                binding.bind_output(name, "cpu", 0, np.float32, list(view.shape), view.ctypes.data)
            self._bindings[n] = binding
        self._outputs = {n: BackendOutputs(*(array[:n] for array in arrays)) for n in range(1, max_batch + 1)}

    def run(self, images: np.ndarray) -> BackendOutputs:
        """Predict for float32 (N, 3, S, S) crops; the result is a view valid until the next call."""
        n = check_images(images, self.input_size, self.max_batch)
        binding = self._bindings[n]
        binding.bind_input(INPUT_NAME, "cpu", 0, np.float32, list(images.shape), images.ctypes.data)
        self.session.run_with_iobinding(binding)
        return self._outputs[n]

    def close(self) -> None:
        self._bindings.clear()
