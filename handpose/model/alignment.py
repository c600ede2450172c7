"""Variational alignment of the image latent space onto the pose latent space.

The translator T maps an image code w ~ q_psi(w | x) to an intermediate Gaussian
r(z | x) = N(mu_T(w), diag sigma_T(w)^2) over the pose latent z; training pulls r onto the pose
posterior q_phi(z | y) with KL(r || q_phi). The "direct" variant has T = identity, so r = q_psi.
"""

from __future__ import annotations

import torch
from torch import nn

from handpose.model.config import ModelConfig
from handpose.model.gaussian import DiagonalGaussian
from handpose.model.mlp import mlp


class Translator(nn.Module):
    """w (N, D) -> r(z | x) as a DiagonalGaussian over z (N, D)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.net = mlp(config.latent_dim, config.translator_hidden, 2, 2 * config.latent_dim)

    def forward(self, w: torch.Tensor, image_posterior: DiagonalGaussian) -> DiagonalGaussian:
        return DiagonalGaussian.from_params(self.net(w))


class DirectAlignment(nn.Module):
    """T = identity: the image posterior itself is r(z | x)."""

    def forward(self, w: torch.Tensor, image_posterior: DiagonalGaussian) -> DiagonalGaussian:
        return image_posterior


def build_alignment(config: ModelConfig) -> Translator | DirectAlignment:
    return Translator(config) if config.alignment == "translator" else DirectAlignment()
