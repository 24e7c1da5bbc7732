"""Seeded corruptions on batched tensors in [0, 1] (N, C, H, W), on any device."""

from __future__ import annotations

import torch

from .device import make_generator

NOISE_TYPES = ("gaussian", "salt_and_pepper", "mask")


def gaussian_noise(x: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add N(0, sigma^2) noise, sigma on the 0-1 scale, and clip to [0, 1]."""
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (x + sigma * noise).clamp(0, 1)


def salt_and_pepper(x: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Set a ``fraction`` of pixels to 0 or 1 (half each); all channels of a pixel together."""
    shape = (x.shape[0], 1, *x.shape[2:])
    u = torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)
    out = torch.where(u < fraction / 2, torch.zeros_like(x), x)
    return torch.where((u >= fraction / 2) & (u < fraction), torch.ones_like(x), out)


def random_mask(x: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Black out a centred-at-random square covering ``fraction`` of the image area."""
    n, _, h, w = x.shape
    side_h, side_w = round(h * fraction**0.5), round(w * fraction**0.5)
    out = x.clone()
    for i in range(n):
        top = int(torch.randint(0, h - side_h + 1, (1,), generator=generator, device=x.device))
        left = int(torch.randint(0, w - side_w + 1, (1,), generator=generator, device=x.device))
        out[i, :, top : top + side_h, left : left + side_w] = 0.0
    return out


def corrupt(x: torch.Tensor, kind: str, level: float, seed: int = 0) -> torch.Tensor:
    """Apply one corruption by name: gaussian (sigma), salt_and_pepper (fraction), mask (area fraction).

    For ``mask`` the masked pixels are 0; ``observed_mask`` tells which pixels survived.
    """
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"the corruption level must be between 0 and 1, got {level}")
    g = make_generator(seed, x.device)
    if kind == "gaussian":
        return gaussian_noise(x, level, g)
    if kind == "salt_and_pepper":
        return salt_and_pepper(x, level, g)
    if kind == "mask":
        return random_mask(x, level, g)
    raise ValueError(f"unknown noise type {kind!r}; choose one of {NOISE_TYPES}")


def observed_mask(kind: str, clean: torch.Tensor, corrupted: torch.Tensor) -> torch.Tensor | None:
    """Where the corruption left the pixel as it was, for corruptions that erase pixels (mask)."""
    if kind != "mask":
        return None
    return (corrupted == clean).all(dim=1, keepdim=True).float()
