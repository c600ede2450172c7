"""Multi-layer perceptron used by the pose encoder/decoders and the translator."""

from __future__ import annotations

from torch import nn


def mlp(n_in: int, hidden: int, layers: int, n_out: int) -> nn.Sequential:
    """``layers`` hidden Linear+LayerNorm+GELU blocks of width ``hidden``, then a linear output."""
    blocks: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.LayerNorm(hidden), nn.GELU()]
        width = hidden
    blocks.append(nn.Linear(width, n_out))
    return nn.Sequential(*blocks)
