"""PyTorch backend: eager on the CPU; on CUDA in fp16 with one captured CUDA graph per batch size.

CPU: the caller's array is wrapped without a copy (``torch.from_numpy``) and run under
``torch.inference_mode``. CUDA (when ``torch.cuda.is_available()`` and ``device`` allows it): the
model runs in fp16 under ``torch.autocast`` (its float32 interface stays as it is); static device
input/output buffers and a CUDA graph for each batch size 1..``max_batch`` (or each of
``graph_batches``) are made at construction,
so :meth:`TorchBackend.run` is one host->device copy into the static input, a graph replay, and one
device->host copy into pinned buffers.
"""

from __future__ import annotations

import copy
from typing import Literal

import numpy as np
import torch

from handpose.errors import InputError
from handpose.infer.backends.base import BackendOutputs, check_images
from handpose.model.hand_model import HandModel

Device = Literal["auto", "cpu", "cuda"]


class TorchBackend:
    """Run a :class:`HandModel` with torch.

    Args:
        model: the model (not modified: the backend keeps its own eval-mode copy).
        max_batch: largest batch :meth:`run` accepts.
        device: "cpu", "cuda", or "auto" (CUDA when available).
        fp16: half precision on CUDA (ignored on the CPU).
        cuda_graphs: capture CUDA graphs on CUDA (ignored on the CPU).
        threads: torch CPU threads (0 = leave torch's setting).
        graph_batches: the batch sizes to capture graphs for (default every size 1..max_batch);
            other sizes run eagerly.
    """

    name = "torch"

    def __init__(
        self,
        model: HandModel,
        max_batch: int = 8,
        device: Device = "auto",
        fp16: bool = True,
        cuda_graphs: bool = True,
        threads: int = 0,
        graph_batches: tuple[int, ...] | None = None,
    ) -> None:
        if device not in ("auto", "cpu", "cuda"):
            raise InputError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
        if device == "cuda" and not torch.cuda.is_available():
            raise InputError("device 'cuda' requested but torch.cuda.is_available() is False")
        use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
        if threads > 0:
            torch.set_num_threads(threads)
        self.input_size = model.config.input_size
        self.max_batch = int(max_batch)
        self.device = torch.device("cuda" if use_cuda else "cpu")
        self.fp16 = bool(use_cuda and fp16)
        self.model = copy.deepcopy(model).eval().to(self.device)
        self._graphs: dict[int, torch.cuda.CUDAGraph] = {}
        if use_cuda:
            sizes = tuple(range(1, self.max_batch + 1)) if graph_batches is None else tuple(graph_batches)
            if any(not 1 <= n <= self.max_batch for n in sizes):
                raise InputError(f"graph_batches within 1..{self.max_batch} expected, got {sizes}")
            self._setup_cuda(sizes if cuda_graphs else ())

    def _setup_cuda(self, graph_batches: tuple[int, ...]) -> None:
        s, b = self.input_size, self.max_batch
        self._stream = torch.cuda.Stream()
        self._static_in = torch.zeros((b, 3, s, s), device=self.device, dtype=torch.float32)
        self._host_in = torch.zeros((b, 3, s, s), dtype=torch.float32).pin_memory()
        self._host_out = tuple(
            torch.zeros(shape, dtype=torch.float32).pin_memory() for shape in ((b, 21, 3), (b, 21, 2), (b,), (b, 21))
        )
        self._static_out: dict[int, tuple[torch.Tensor, ...]] = {}
        with torch.cuda.stream(self._stream), torch.inference_mode():
            for n in graph_batches:
                for _ in range(3):  # warm-up (cuDNN autotuning, lazy init) before capture
                    self._forward_cuda(n)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph, stream=self._stream):
                    self._static_out[n] = self._forward_cuda(n)
                self._graphs[n] = graph
        self._stream.synchronize()

    def _forward_cuda(self, n: int) -> tuple[torch.Tensor, ...]:
        """The model on the first ``n`` static inputs (fp16 autocast; casts happen on the device, in the graph)."""
        # cache_enabled=False: cached fp16 weight copies would be freed under a captured graph
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.fp16, cache_enabled=False):
            outputs = self.model(self._static_in[:n])
        return tuple(out.float() for out in outputs)

    def run(self, images: np.ndarray) -> BackendOutputs:
        """Predict for float32 (N, 3, S, S) crops; the result is valid until the next call."""
        n = check_images(images, self.input_size, self.max_batch)
        if self.device.type == "cpu":
            with torch.inference_mode():
                pose, keypoints, presence, visibility = self.model(torch.from_numpy(images))
            return BackendOutputs(pose.numpy(), keypoints.numpy(), presence.numpy(), visibility.numpy())
        return self._run_cuda(images, n)

    def _run_cuda(self, images: np.ndarray, n: int) -> BackendOutputs:
        host_in = self._host_in[:n]
        host_in.numpy()[...] = images
        with torch.cuda.stream(self._stream), torch.inference_mode():
            self._static_in[:n].copy_(host_in, non_blocking=True)
            if n in self._graphs:
                self._graphs[n].replay()
                outputs = self._static_out[n]
            else:
                outputs = self._forward_cuda(n)
            for host, device_out in zip(self._host_out, outputs):
                host[:n].copy_(device_out, non_blocking=True)
        self._stream.synchronize()
        pose, keypoints, presence, visibility = (t[:n].numpy() for t in self._host_out)
        return BackendOutputs(pose, keypoints, presence, visibility)

    def close(self) -> None:
        self._graphs.clear()
