"""Keeping part of the fine-tuning's change: the adapted weights moved back towards the base model's.

The result is ``base + share * (tuned - base)`` for every floating-point weight and buffer (the
interpolation of weight-space ensembles, Wortsman et al., "Robust fine-tuning of zero-shot
models", CVPR 2022). Fine-tuning on one person's frames moves the weights along a path that first
fits that person and then forgets other hands; stopping part of the way along the straight line
between the two keeps most of the fit for much less forgetting (docs/adaptation.md, "Blending").
"""

from __future__ import annotations

from handpose.errors import InputError
from handpose.model.hand_model import HandModel


def blend_towards_base(tuned: HandModel, base: HandModel, share: float) -> HandModel:
    """``tuned`` with its weights set to ``base + share * (tuned - base)`` (in place; returned);
    ``share`` in (0, 1] (1 leaves ``tuned`` as it is)."""
    import torch

    if not 0.0 < share <= 1.0:
        raise InputError(f"a blend share in (0, 1] expected, got {share}")
    if share == 1.0:
        return tuned
    start = base.state_dict()
    with torch.no_grad():
        for name, value in tuned.state_dict().items():
            if value.is_floating_point():
                value.copy_(start[name] + share * (value - start[name]))
    return tuned
