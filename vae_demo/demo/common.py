"""What the actions behind the tabs share: checked numbers, image metrics, heat maps and matplotlib figures.

No Gradio, and no torch at import (the functions that take tensors get them from their callers).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import torch


def number(value, name: str, lo: float, hi: float, integer: bool = False) -> float:
    """``value`` as a finite number in [lo, hi] (rounded when ``integer``), or a ValueError sentence naming it."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value}.")
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be between {lo:g} and {hi:g}, got {v:g}.")
    return round(v) if integer else v


def image_metrics(clean: torch.Tensor, x: torch.Tensor) -> tuple[float, float]:
    """(PSNR in dB, SSIM) of x against clean; both (1, C, H, W) in [0, 1], rounded to 8 bits first."""
    from vae_demo.core.metrics import psnr_ssim

    return psnr_ssim(clean, x)


def enlarge(a: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement, so small images stay crisp on screen."""
    return np.asarray(Image.fromarray(a).resize((a.shape[1] * scale, a.shape[0] * scale), Image.NEAREST))


def heat_map(values: torch.Tensor, scale: int) -> np.ndarray:
    """A (H, W) tensor as an RGB 'magma' heat map, brightest where values are largest."""
    from matplotlib import colormaps

    v = values.squeeze().float()
    if v.ndim == 3:
        v = v.mean(0)
    v = (v / v.max().clamp(min=1e-8)).numpy()
    return enlarge((colormaps["magma"](v)[..., :3] * 255).round().astype(np.uint8), scale)


def pyplot():
    """matplotlib's pyplot on the Agg backend (the app draws into arrays, never into a window)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_to_array(fig) -> np.ndarray:
    """The figure's pixels as a (H, W, 3) uint8 array; the figure is closed."""
    import matplotlib.pyplot as plt

    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return image
