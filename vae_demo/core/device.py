"""One place that picks the device, and seeded generators on it."""

from __future__ import annotations

import os

import torch


def pick_device() -> torch.device:
    """``VAE_DEMO_DEVICE`` if set, else ``cuda``, then ``mps``, then ``cpu``."""
    wanted = os.environ.get("VAE_DEMO_DEVICE")
    if wanted:
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """An explicit generator, so the same seed gives the same images on the same device."""
    return torch.Generator(device=device).manual_seed(int(seed))
