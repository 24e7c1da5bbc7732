"""Per-pixel log-likelihoods log p(x | mean, scale) shared by every model family, in nats.

Each returns one value per element (sum or average it yourself) and takes the log of its scale,
broadcast over channels: ``log_scale`` of shape (C,) is one learned scale per channel.
"""

from __future__ import annotations

import math

import torch


def _per_channel(log_scale: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(C,) -> (1, C, 1, 1) for images; other shapes broadcast as they are."""
    return log_scale.view(1, -1, 1, 1) if log_scale.ndim == 1 and x.ndim == 4 else log_scale


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, s^2) = -(x - mean)^2 / (2 s^2) - log s - log(2 pi) / 2, with s = exp(log_scale)."""
    s = _per_channel(log_scale, x)
    return -0.5 * ((x - mean) / s.exp()).pow(2) - s - 0.5 * math.log(2 * math.pi)


def laplace_log_prob(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """log Laplace(x; mean, b) = -|x - mean| / b - log b - log 2, with b = exp(log_scale)."""
    b = _per_channel(log_scale, x)
    return -(x - mean).abs() / b.exp() - b - math.log(2.0)
