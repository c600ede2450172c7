"""The cross-modal variational alignment model (docs/DESIGN.md §1)."""

from handpose.model.config import ModelConfig
from handpose.model.hand_model import HandModel, ModelOutput


def build_model(config: ModelConfig | None = None) -> HandModel:
    """A freshly initialised :class:`HandModel` for ``config`` (default config when None)."""
    return HandModel(config or ModelConfig())


__all__ = ["HandModel", "ModelConfig", "ModelOutput", "build_model"]
