"""The single-modal pose VAE (M2 -> M2): q_phi(z | y) and the pose decoder D_theta(z) -> y.

Poses are normalised (``handpose.skeleton.normalize``): (N, 21, 3), flattened to 63 numbers.
"""

from __future__ import annotations

import torch
from torch import nn

from handpose.model.config import ModelConfig
from handpose.model.gaussian import DiagonalGaussian
from handpose.model.mlp import mlp
from handpose.skeleton import NUM_JOINTS

POSE_DIM = NUM_JOINTS * 3


class PoseDecoder(nn.Module):
    """Latent (N, D) -> normalised pose (N, 21, 3)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.net = mlp(config.latent_dim, config.pose_hidden, config.pose_layers, POSE_DIM)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, NUM_JOINTS, 3)


class PoseVAE(nn.Module):
    """Encoder q_phi(z | y) = N(mu_phi(y), diag sigma_phi(y)^2) and decoder D_theta."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.encoder = mlp(POSE_DIM, config.pose_hidden, config.pose_layers, 2 * config.latent_dim)
        self.decoder = PoseDecoder(config)

    def encode(self, pose: torch.Tensor) -> DiagonalGaussian:
        """Normalised pose (N, 21, 3) -> posterior over z."""
        return DiagonalGaussian.from_params(self.encoder(pose.reshape(-1, POSE_DIM)))
