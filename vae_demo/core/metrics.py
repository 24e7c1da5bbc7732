"""Image quality: one PSNR and one SSIM for the whole project, on images in [0, 1].

``psnr`` rounds both images to 8 bits first, as a saved PNG would be, which is how every figure in
the README is measured; ``psnr_ssim`` gives both numbers for (1, C, H, W) tensors through
scikit-image, the reference implementation.
"""

from __future__ import annotations

import math

import numpy as np
import torch

PSNR_CAP = 99.0  # identical images have infinite PSNR; tables show this instead


def to_8bit(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> float64 on the 0-255 scale, clipped and rounded as an 8-bit file stores them."""
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return np.round(np.clip(a.astype(np.float64), 0.0, 1.0) * 255.0)


def psnr(reference: torch.Tensor | np.ndarray, x: torch.Tensor | np.ndarray, rounded: bool = True) -> float:
    """PSNR in dB of ``x`` against ``reference`` (same shape, values in [0, 1]) after rounding to 8 bits;
    ``rounded=False`` skips the rounding, for values derived from 8-bit images (the luma of an RGB photo)."""
    if rounded:
        mse = float(np.mean((to_8bit(reference) - to_8bit(x)) ** 2))
    else:
        mse = float(np.mean((np.asarray(reference, np.float64) - np.asarray(x, np.float64)) ** 2)) * 255.0**2
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * math.log10(255.0**2 / mse))


def ssim(reference: np.ndarray, x: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM (Wang et al. 2004, scikit-image's 7x7 window) of (H, W) or (H, W, C) arrays."""
    from skimage.metrics import structural_similarity

    axis = -1 if reference.ndim == 3 else None
    return float(structural_similarity(reference, x, data_range=data_range, channel_axis=axis))


def psnr_ssim(reference: torch.Tensor, x: torch.Tensor) -> tuple[float, float]:
    """(PSNR in dB, SSIM) of (1, C, H, W) images in [0, 1], both rounded to 8 bits first."""
    a = to_8bit(reference[0].permute(1, 2, 0))
    b = to_8bit(x[0].permute(1, 2, 0))
    return round(psnr(a / 255, b / 255), 2), round(ssim(a, b), 4)
