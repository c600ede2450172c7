"""One interface for every inference engine: float32 crops (N, 3, S, S) -> :class:`BackendOutputs`.

Implementations: ``torch`` (:mod:`handpose.infer.backends.torch_backend`), ``onnxruntime``
(:mod:`handpose.infer.backends.ort_backend`), ``tensorrt`` (:mod:`handpose.infer.backends.tensorrt_backend`).
Each preallocates its buffers for batches of 1..``max_batch`` when it is built; :meth:`Backend.run`
allocates nothing large and returns views into those buffers, valid until the next ``run``.
:func:`handpose.infer.backends.factory.create_backend` builds one by name, importing only the
engine it needs; this module is the interface below the engines, the factory the one above them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from handpose.errors import InputError

if TYPE_CHECKING:
    from handpose.model.hand_model import HandModel

BackendName = Literal["onnxruntime", "torch", "tensorrt"]
BACKEND_NAMES: tuple[BackendName, ...] = ("onnxruntime", "torch", "tensorrt")


@dataclass(frozen=True)
class BackendOutputs:
    """The model's predictions for N crops, host float32 arrays.

    Attributes:
        joints_view_norm: (N, 21, 3) normalised 3D pose (right-hand frame, unit = middle MCP->PIP bone), in
            each crop's view frame (``handpose.geometry.view_frame``) as the model gives it.
        keypoints_crop_px: (N, 21, 2) 2D joints in crop pixels.
        presence: (N,) hand-presence probability in [0, 1].
        visibility: (N, 21) probability in [0, 1] that each joint is visible in its crop (not
            occluded, by the hand itself or anything else); joints in :data:`handpose.skeleton.JOINT_NAMES` order.
    """

    joints_view_norm: np.ndarray
    keypoints_crop_px: np.ndarray
    presence: np.ndarray
    visibility: np.ndarray


class Backend(Protocol):
    """An inference engine for one model at input size ``input_size`` and batches up to ``max_batch``."""

    name: str
    input_size: int
    max_batch: int

    def run(self, images: np.ndarray) -> BackendOutputs:
        """Predict for float32 (N, 3, S, S) RGB crops in [0, 1], 1 <= N <= max_batch (C-contiguous)."""
        ...

    def close(self) -> None:
        """Release the engine's resources."""
        ...


def check_images(images: np.ndarray, input_size: int, max_batch: int) -> int:
    """Raise InputError unless ``images`` is C-contiguous float32 (N, 3, S, S), 1 <= N <= max_batch; returns N."""
    s = input_size
    if not isinstance(images, np.ndarray) or images.dtype != np.float32:
        got = images.dtype if isinstance(images, np.ndarray) else type(images).__name__
        raise InputError(f"images: float32 numpy array (N, 3, {s}, {s}) expected, got {got}")
    if images.ndim != 4 or images.shape[1:] != (3, s, s):
        raise InputError(f"images: shape (N, 3, {s}, {s}) RGB expected, got {images.shape}")
    n = images.shape[0]
    if not 1 <= n <= max_batch:
        raise InputError(f"images: batch of 1..{max_batch} expected, got {n}")
    if not images.flags.c_contiguous:
        raise InputError("images: a C-contiguous array expected")
    return n
