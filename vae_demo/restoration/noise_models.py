"""Noise models p(noisy | clean): the likelihood of an unsupervised (DivNoising) VAE.

A DivNoising VAE never sees a clean image: its decoder proposes a clean signal s and the noise model
says how likely the noisy pixels y are given s. Each model here gives ``log_prob(y, s)`` per pixel,
in nats, on the 0-1 scale:

- ``GaussianNoise(sigma)``: y = s + n, n ~ N(0, sigma^2), white and known;
- ``PoissonGaussianNoise(gain, read)``: photon noise plus read noise, Var[y | s] = gain * s + read^2,
  in the usual Gaussian approximation of the Poisson part (Foi et al., IEEE TIP 2008);
- ``estimate_noise_model(y)``: fits (gain, read) to the noisy image itself, from local means and the
  variance of a high-pass residual, or falls back to a Gaussian from ``estimate_sigma``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

MIN_VARIANCE = (0.5 / 255) ** 2  # below half a grey level the likelihood would be needlessly sharp


@dataclass(frozen=True)
class GaussianNoise:
    """White Gaussian noise of a known std ``sigma`` (0-1 scale)."""

    sigma: float

    def variance(self, s: torch.Tensor) -> torch.Tensor:
        return torch.full_like(s, max(self.sigma**2, MIN_VARIANCE))

    def log_prob(self, y: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """log N(y; s, sigma^2) per pixel."""
        var = self.variance(s)
        return -0.5 * (y - s).pow(2) / var - 0.5 * torch.log(2 * math.pi * var)

    def describe(self) -> str:
        return f"Gaussian, sigma {self.sigma * 255:.1f} (0-255 scale)"


@dataclass(frozen=True)
class PoissonGaussianNoise:
    """Signal-dependent noise: Var[y | s] = gain * s + read^2 (0-1 scale), Gaussian-approximated."""

    gain: float
    read: float

    def variance(self, s: torch.Tensor) -> torch.Tensor:
        return (self.gain * s.clamp(min=0) + self.read**2).clamp(min=MIN_VARIANCE)

    def log_prob(self, y: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """log N(y; s, gain * s + read^2) per pixel."""
        var = self.variance(s)
        return -0.5 * (y - s).pow(2) / var - 0.5 * torch.log(2 * math.pi * var)

    def describe(self) -> str:
        mid = math.sqrt(self.gain * 0.5 + self.read**2) * 255
        return f"Poisson-Gaussian, std {mid:.1f} at mid-grey (0-255 scale)"


NoiseModel = GaussianNoise | PoissonGaussianNoise


def _highpass(y: torch.Tensor) -> torch.Tensor:
    """Residual of a 3x3 box filter, scaled so that white noise keeps its variance (1 - 2/9 + 1/9 = 8/9)."""
    c = y.shape[1]
    box = torch.full((c, 1, 3, 3), 1 / 9, dtype=y.dtype)
    smooth = F.conv2d(F.pad(y, (1, 1, 1, 1), mode="reflect"), box, groups=c)
    return (y - smooth) / math.sqrt(8 / 9)


def estimate_noise_model(y: torch.Tensor, bins: int = 16) -> NoiseModel:
    """Fit Var[y | s] = gain * s + read^2 to a noisy (1, C, H, W) image in [0, 1].

    Pixels are grouped by their local mean (3x3) into ``bins`` levels; in each, the robust variance
    (1.4826 * MAD)^2 of the high-pass residual estimates the noise variance, which flat and textured
    regions alike mostly share. A least-squares line through (mean, variance) gives gain and read;
    when the slope is not clearly positive the noise is taken as white Gaussian.
    """
    residual = _highpass(y).flatten().numpy()
    means = F.avg_pool2d(F.pad(y, (1, 1, 1, 1), mode="reflect"), 3, stride=1).flatten().numpy()
    edges = np.quantile(means, np.linspace(0, 1, bins + 1))
    xs, vs = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (means >= lo) & (means <= hi)
        if sel.sum() < 200:
            continue
        r = residual[sel]
        mad = np.median(np.abs(r - np.median(r)))
        xs.append(float(means[sel].mean()))
        vs.append(float((1.4826 * mad) ** 2))
    if len(xs) < 3:
        return GaussianNoise(float(np.sqrt(max(np.median(vs) if vs else 0.0, MIN_VARIANCE))))
    slope, intercept = np.polyfit(np.array(xs), np.array(vs), 1)
    if slope <= 0.1 * max(np.mean(vs), 1e-12):  # flat: white noise of the median variance
        return GaussianNoise(float(np.sqrt(max(np.median(vs), MIN_VARIANCE))))
    return PoissonGaussianNoise(float(slope), float(np.sqrt(max(intercept, MIN_VARIANCE))))


def noise_model_from_dict(spec: dict) -> NoiseModel:
    """A noise model from a config's ``noise_model``: {"kind": "gaussian", "sigma": S} with S on the 0-255
    scale, or {"kind": "poisson_gaussian", "gain": G, "read": R} on the 0-1 scale."""
    kind = spec.get("kind")
    if kind == "gaussian" and float(spec.get("sigma", 0)) > 0:
        return GaussianNoise(float(spec["sigma"]) / 255)
    if kind == "poisson_gaussian":
        return PoissonGaussianNoise(float(spec["gain"]), float(spec["read"]))
    raise ValueError(
        f'unknown noise model {spec!r}; give {{"kind": "gaussian", "sigma": 25}} or a poisson_gaussian one'
    )
