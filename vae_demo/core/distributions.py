"""The diagonal Gaussian posterior q(z|x) = N(mean, diag(exp(logvar))).

Its KL and log-density sum over the dimensions a caller names (``dims``), as diffusers' posterior
does: a vector latent sums over ``(-1,)``, a latent map over ``(1, 2, 3)``, and ``dims=()`` keeps
every element.
"""

from __future__ import annotations

import math

import torch

Dims = tuple[int, ...]


class DiagonalGaussian:
    """A batch of independent Gaussians, one per element of ``mean`` (any shape)."""

    def __init__(self, mean: torch.Tensor, logvar: torch.Tensor) -> None:
        self.mean = mean
        # Clamp keeps exp() finite for a badly initialised or diverging encoder.
        self.logvar = logvar.clamp(-30.0, 20.0)
        self.std = torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """z = mean + std * eps with eps ~ N(0, I): the reparameterisation trick."""
        eps = torch.randn(self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype)
        return self.mean + self.std * eps

    def mode(self) -> torch.Tensor:
        return self.mean

    def kl(self, other: DiagonalGaussian | None = None, dims: Dims = (-1,)) -> torch.Tensor:
        """KL(self || other) in nats, summed over ``dims``; ``other`` None is the prior N(0, I).

        Closed form for two univariate Gaussians, per element:
        KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2 / s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2,
        which for N(0, 1) is -1/2 * (1 + log(s1^2) - m1^2 - s1^2) (Kingma & Welling 2014, Appendix B).
        """
        if other is None:
            kl = -0.5 * (1 + self.logvar - self.mean.pow(2) - self.logvar.exp())
        else:
            kl = 0.5 * (
                other.logvar
                - self.logvar
                + (self.logvar.exp() + (self.mean - other.mean).pow(2)) / other.logvar.exp()
                - 1
            )
        return kl.sum(dim=dims) if dims else kl

    def log_prob(self, z: torch.Tensor, dims: Dims = (-1,)) -> torch.Tensor:
        """log q(z) summed over ``dims``; z may carry extra leading sample axes (dims then count from the end)."""
        lp = -0.5 * ((z - self.mean) / self.std).pow(2) - 0.5 * self.logvar - 0.5 * math.log(2 * math.pi)
        return lp.sum(dim=dims) if dims else lp


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over the last axis."""
    return torch.sum(-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi), dim=-1)


def kl_weight(step: int, beta: float = 1.0, warmup_steps: int = 0) -> float:
    """KL warm-up: beta rises linearly from 0 to ``beta`` over ``warmup_steps`` (Bowman et al. 2016)."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)
