"""The gesture classifier: a small MLP on :func:`handpose.gesture.features.pose_features`, run in
NumPy after the pose model (under a millisecond per hand), with its weights in a KB-sized ``.npz``.

Outputs per hand (:class:`GestureResult`): the gesture (one of
``handpose.gesture.vocabulary.GESTURES``) with its softmax probability, and the probability that
each finger is extended, whose count (probability >= 0.5) is the number of extended fingers.

File format (``np.savez``): ``format`` = :data:`FORMAT_NAME`, ``labels`` (G,) str, ``mean``/``std``
(F,) feature standardisation, ``w0, b0, w1, b1, ...`` the layers (ReLU between them; the last
layer's G + 5 outputs are the gesture logits, then the five finger logits, thumb first).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from handpose.errors import CheckpointError, InputError
from handpose.gesture.features import NUM_FEATURES, pose_features
from handpose.gesture.vocabulary import FINGER_NAMES, GESTURES
from handpose.paths import MODELS_DIR

FORMAT_NAME: Final = "handpose-gesture-mlp"
DEFAULT_GESTURE_FILE: Final = MODELS_DIR / "gesture_classifier.npz"


@dataclass(frozen=True)
class GestureResult:
    """One hand's gesture.

    Attributes:
        gesture: its name (``vocabulary.GESTURES``; "none" for none of them).
        score: the gesture's probability in [0, 1].
        finger_count: extended fingers, 0..5.
        finger_probs: (5,) float32 probability that thumb, index, middle, ring, pinky is extended.
    """

    gesture: str
    score: float
    finger_count: int
    finger_probs: np.ndarray


@dataclass(frozen=True)
class GestureMLP:
    """The classifier's parameters: ``mean``/``std`` (F,) and ``layers`` [(W (in, out), b (out,)), ...]."""

    mean: np.ndarray
    std: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    labels: tuple[str, ...] = GESTURES

    def __post_init__(self) -> None:
        if self.mean.shape != (NUM_FEATURES,) or self.std.shape != (NUM_FEATURES,):
            raise CheckpointError(f"gesture classifier: feature statistics of shape ({NUM_FEATURES},) expected, "
                                  f"got {self.mean.shape}")
        if self.layers[-1][0].shape[1] != len(self.labels) + len(FINGER_NAMES):
            raise CheckpointError(f"gesture classifier: {len(self.labels) + 5} outputs expected, "
                                  f"got {self.layers[-1][0].shape[1]}")

    def logits(self, features: np.ndarray) -> np.ndarray:
        """(N, G + 5) raw outputs for features (N, F)."""
        x = (np.asarray(features, np.float32) - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return x

    def save(self, path: str | os.PathLike[str]) -> None:
        from handpose.io.atomic import atomic_path

        arrays = {f"{k}{i}": a.astype(np.float32) for i, layer in enumerate(self.layers) for k, a in zip("wb", layer)}
        with atomic_path(path) as tmp, open(tmp, "wb") as file:
            np.savez(file, format=np.array(FORMAT_NAME), labels=np.array(self.labels), mean=self.mean.astype(np.float32),
                     std=self.std.astype(np.float32), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GestureMLP:
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["format"]) != FORMAT_NAME:
                    raise CheckpointError(f"{path}: a {FORMAT_NAME!r} file expected")
                count = sum(1 for k in data.files if k.startswith("w"))
                layers = tuple((data[f"w{i}"], data[f"b{i}"]) for i in range(count))
                return cls(data["mean"], data["std"], layers, tuple(str(s) for s in data["labels"]))
        except (OSError, KeyError, ValueError) as exc:
            raise CheckpointError(f"{path}: not a readable gesture classifier ({exc})") from None


class GestureClassifier:
    """Names the gesture of hand poses.

    Args:
        path: the weights (default ``models/gesture_classifier.npz``, see ``handpose.paths``).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else DEFAULT_GESTURE_FILE
        if not self.path.is_file():
            raise CheckpointError(f"gesture classifier not found at {self.path}; train one with "
                                  "scripts/train_gesture_classifier.py")
        self.mlp = GestureMLP.load(self.path)

    def __call__(self, joints: np.ndarray, is_left: bool | np.ndarray = False) -> list[GestureResult]:
        """Gestures of poses (N, 21, 3) (or one (21, 3)) whose axes are the image's (see
        :func:`pose_features`; ``is_left`` mirrors left-looking hands); one result per pose."""
        joints = np.asarray(joints, np.float64)
        if joints.ndim == 2:
            joints = joints[None]
        if joints.ndim != 3:
            raise InputError(f"poses of shape (N, 21, 3) or (21, 3) expected, got {joints.shape}")
        out = self.mlp.logits(pose_features(joints, is_left))
        g = len(self.mlp.labels)
        z = out[:, :g] - out[:, :g].max(axis=1, keepdims=True)
        probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        fingers = (1.0 / (1.0 + np.exp(-out[:, g:]))).astype(np.float32)
        best = probs.argmax(axis=1)
        return [GestureResult(self.mlp.labels[k], float(probs[i, k]), int((fingers[i] >= 0.5).sum()), fingers[i])
                for i, k in enumerate(best)]
