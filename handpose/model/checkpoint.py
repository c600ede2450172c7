"""Checkpoints: weights + the ModelConfig that rebuilds them + free-form training metadata.

File layout (``torch.save`` of a plain dict, loaded with ``weights_only=True``)::

    {"format": "handpose-checkpoint", "version": 1,
     "model_config": {...ModelConfig fields...}, "state_dict": {...}, "meta": {...}}

Writes are atomic (temporary file + ``os.replace``), so an interrupted save never leaves a
truncated checkpoint under the final name.
"""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path
from typing import Any, Final

import torch

from handpose.io.atomic import atomic_path
from handpose.model.config import ModelConfig
from handpose.errors import CheckpointError, InputError
from handpose.model.hand_model import HandModel
from handpose.paths import MODELS_DIR

FORMAT = "handpose-checkpoint"
VERSION = 1
#: the default trained weights (see models/MANIFEST.json; the folder: :mod:`handpose.paths`)
DEFAULT_CHECKPOINT = MODELS_DIR / "handpose_default.pt"


def save_model(model: HandModel, path: str | os.PathLike[str], meta: dict[str, Any] | None = None) -> None:
    """Write ``model`` with its config and ``meta`` (JSON-like values) to ``path`` atomically."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model_config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": meta or {},
    }
    atomic_torch_save(payload, path)


def atomic_torch_save(payload: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save`` to a temporary file next to ``path``, then rename it over ``path``."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load and validate a checkpoint file; raise CheckpointError naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # objects weights_only refuses: say so, without torch's advice
        raise CheckpointError(f"{path} holds Python objects other than tensors and plain containers; they are "
                              "not loaded, since loading them could run code") from None
    except Exception as exc:  # torch raises several types for truncated/corrupt zips
        raise CheckpointError(
            f"{path} is not a readable handpose checkpoint (truncated or corrupt?): {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: expected a dict with format={FORMAT!r}, got {type(payload).__name__}")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {VERSION} expected, got {payload.get('version')}")
    for key in ("model_config", "state_dict", "meta"):
        if key not in payload:
            raise CheckpointError(f"{path}: key {key!r} missing from checkpoint")
    return payload


#: heads added after earlier checkpoints were written: a warm start from one of those leaves them
#: freshly initialised (to be trained), instead of refusing the checkpoint
ADDED_HEADS: Final = ("visibility.",)
#: heads that older checkpoints hold under other names and that a newer head replaces: their weights
#: are not loaded (the visibility head moved onto the whole model when it began to read the 3D pose)
SUPERSEDED_HEADS: Final = ("image_vae.encoder.keypoints.visibility.",)
#: layers a warm start may find missing and leave as initialised: the added heads, and the stride-4
#: heatmaps, whose initial answer is the stride-8 one they refine (keypoint_head.FineHeatmaps)
WARM_START_FRESH: Final = ADDED_HEADS + ("image_vae.encoder.keypoints.fine.",)


def load_model(path: str | os.PathLike[str], expected: ModelConfig | None = None) -> HandModel:
    """Rebuild the model stored in ``path`` (in eval mode).

    ``expected``: when given, the stored config must equal it; otherwise CheckpointError lists the
    fields that differ.
    """
    payload = read_checkpoint(path)
    try:
        config = ModelConfig.from_dict(payload["model_config"])
    except (InputError, TypeError) as exc:
        raise CheckpointError(f"{path}: invalid model_config: {exc}") from exc
    if expected is not None and config != expected:
        diff = {
            k: (v, getattr(config, k)) for k, v in expected.to_dict().items() if getattr(config, k) != v
        }
        raise CheckpointError(f"{path} was saved for another config; differing fields (expected, stored): {diff}")
    model = HandModel(config)
    load_weights(model, payload["state_dict"], str(path))
    return model.eval()


def load_weights(model: HandModel, state_dict: dict[str, torch.Tensor], origin: str) -> None:
    """Load ``state_dict`` into ``model`` strictly; shape or key mismatches raise CheckpointError.
    Only the :data:`ADDED_HEADS` may be missing (a checkpoint older than them): they are set to
    zeros, the same answer every time (a visibility of 0.5), with a warning."""
    own = model.state_dict()
    state_dict = {k: v for k, v in state_dict.items() if not k.startswith(SUPERSEDED_HEADS)}
    added = sorted(k for k in set(own) - set(state_dict) if k.startswith(ADDED_HEADS))
    if added:
        warnings.warn(f"{origin} predates the heads {sorted({k.rsplit('.', 1)[0] for k in added})}; they are "
                      "zeroed (visibility 0.5 for every joint)", stacklevel=2)
        state_dict.update({k: torch.zeros_like(own[k]) for k in added})
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    wrong = [f"{k}: expected {tuple(own[k].shape)}, got {tuple(v.shape)}"
             for k, v in state_dict.items() if k in own and own[k].shape != v.shape]
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"{origin} does not fit a model with config {model.config}: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}, wrong shapes {wrong[:5]}"
        )
    model.load_state_dict(state_dict)


def stored_hand_size_mm(path: str | os.PathLike[str]) -> float | None:
    """The user's hand size (middle MCP->PIP, mm) an adapted checkpoint carries in its ``meta``
    (``handpose-adapt``); None when it has none."""
    value = read_checkpoint(path)["meta"].get("hand_size_mm")
    return None if value is None else float(value)


def load_default_model() -> HandModel:
    """The committed default model, or (with a warning) a freshly initialised one if it is absent."""
    if DEFAULT_CHECKPOINT.is_file():
        return load_model(DEFAULT_CHECKPOINT)
    warnings.warn(
        f"default checkpoint {DEFAULT_CHECKPOINT} not found; using an untrained model", RuntimeWarning, stacklevel=2
    )
    return HandModel(ModelConfig()).eval()


def warm_start(model: HandModel, path: str | os.PathLike[str], prefix: str = "pose_vae.") -> list[str]:
    """Copy the weights under ``prefix`` (default: the pose VAE; "" = all) from a checkpoint or training state
    into ``model``; every such weight must exist there with the same shape, but for the
    :data:`WARM_START_FRESH` layers an older checkpoint lacks. Returns the names copied."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint: {exc}") from exc
    source = payload.get("state_dict", payload.get("model")) if isinstance(payload, dict) else None
    if not isinstance(source, dict):
        raise CheckpointError(f"{path}: a checkpoint or training state with weights expected")
    own = model.state_dict()
    names = [k for k in own if k.startswith(prefix) and not (k not in source and k.startswith(WARM_START_FRESH))]
    bad = [k for k in names if k not in source or source[k].shape != own[k].shape]
    if not names or bad:
        raise CheckpointError(f"{path} does not hold the {prefix}* weights of this model: missing or reshaped {bad[:5]}")
    model.load_state_dict({k: source[k] for k in names}, strict=False)
    return names
