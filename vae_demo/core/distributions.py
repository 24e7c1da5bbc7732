"""The diagonal Gaussian posterior q(z|x) = N(mean, diag(exp(logvar)))."""

from __future__ import annotations

import math

import torch


class DiagonalGaussian:
    """A batch of diagonal Gaussians over the latent dimensions (last axis)."""

    def __init__(self, mean: torch.Tensor, logvar: torch.Tensor) -> None:
        self.mean = mean
        # Clamp keeps exp() finite for a badly initialised or diverging encoder.
        self.logvar = logvar.clamp(-30.0, 20.0)
        self.std = torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """z = mean + std * eps with eps ~ N(0, I): the reparameterisation trick."""
        eps = torch.randn(
            self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype
        )
        return self.mean + self.std * eps

    def mode(self) -> torch.Tensor:
        return self.mean

    def kl_per_dim(self) -> torch.Tensor:
        """KL(q || N(0, I)) of each latent dimension, in nats.

        Closed form for Gaussians (Kingma & Welling 2014, Appendix B):
        KL = -1/2 * (1 + log(sigma^2) - mu^2 - sigma^2), summed over dimensions by ``kl()``.
        """
        return -0.5 * (1 + self.logvar - self.mean.pow(2) - self.logvar.exp())

    def kl(self) -> torch.Tensor:
        """KL(q || N(0, I)) per example, in nats."""
        return self.kl_per_dim().sum(dim=-1)

    def kl_to(self, other: DiagonalGaussian) -> torch.Tensor:
        """Elementwise KL(self || other) between two diagonal Gaussians, in nats (sum it yourself).

        KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2 / s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2
        (the closed form for two univariate Gaussians, applied per dimension).
        """
        return 0.5 * (other.logvar - self.logvar + (self.logvar.exp() + (self.mean - other.mean).pow(2))
                      / other.logvar.exp() - 1)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z|x) summed over latent dimensions; z may carry extra leading sample axes."""
        return torch.sum(
            -0.5 * ((z - self.mean) / self.std).pow(2) - 0.5 * self.logvar - 0.5 * math.log(2 * math.pi),
            dim=-1,
        )


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over the last axis."""
    return torch.sum(-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi), dim=-1)
