"""Diagonal Gaussians over latent codes: reparameterised sampling and closed-form KL divergences."""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: log-variances are clamped to this range so exp() stays finite in early training
LOGVAR_MIN, LOGVAR_MAX = -12.0, 8.0


@dataclass(frozen=True)
class DiagonalGaussian:
    """N(mu, diag exp(logvar)); both tensors (N, D)."""

    mu: torch.Tensor
    logvar: torch.Tensor

    @classmethod
    def from_params(cls, params: torch.Tensor) -> DiagonalGaussian:
        """Split a (N, 2D) tensor into mean and (clamped) log-variance."""
        mu, logvar = params.chunk(2, dim=-1)
        return cls(mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX))

    def sample(self) -> torch.Tensor:
        """Reparameterised sample mu + sigma * eps, (N, D)."""
        return self.mu + torch.exp(0.5 * self.logvar) * torch.randn_like(self.mu)

    def kl(self, other: DiagonalGaussian) -> torch.Tensor:
        """KL(self || other) per sample, (N,): sum over dimensions of the closed form

        log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2.
        """
        var_ratio = torch.exp(self.logvar - other.logvar)
        mean_term = (self.mu - other.mu) ** 2 * torch.exp(-other.logvar)
        return 0.5 * (var_ratio + mean_term - 1.0 - self.logvar + other.logvar).sum(dim=-1)

    def kl_standard(self) -> torch.Tensor:
        """KL(self || N(0, I)) per sample, (N,)."""
        return 0.5 * (torch.exp(self.logvar) + self.mu**2 - 1.0 - self.logvar).sum(dim=-1)

    def detach(self) -> DiagonalGaussian:
        return DiagonalGaussian(self.mu.detach(), self.logvar.detach())
