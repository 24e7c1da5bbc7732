"""A blind noise level for real photos: the sigma at which a Gaussian denoiser best removes their noise.

Wavelet estimators (``skimage.restoration.estimate_sigma``) measure the finest-scale white noise, and
miss noise that JPEG, demosaicing or upscaling has spread over neighbouring pixels: a photo upscaled
x2 with sigma 25 of noise reads as 2.6. Here the noise is measured where the photo is flat:

1. a colour photo is measured on its luma (BT.601), scaled to one channel of independent RGB noise:
   JPEG keeps the luma's noise and wipes much of the chroma's in flat parts (4:2:0, coarse tables),
   and noise correlated across channels (demosaicing) shows there at full strength;
2. the photo is cut into 8x8 blocks (two grids, offset by 4 pixels); in each block a quadratic surface
   (mean, slopes, curvatures) is fitted and removed;
3. the blocks that vary least within their 2x2 cells and whose neighbours vary least are kept,
   ``FLAT_SHARE`` of them (measures that white noise leaves independent of step 4's, so the choice
   does not favour blocks whose noise happened to be weak);
4. in a kept block the residual is averaged over 2x2 pixels and its variance scaled back by 4: white
   noise keeps its variance, noise correlated over neighbouring pixels shows its full strength at that
   scale (what a denoiser trained on white noise needs to be told to remove it); the median over the
   kept blocks, corrected to a mean, is the estimate.

``benchmarks/noise_estimate.py`` compares it with scikit-image's estimate and with the sigma that
gives the denoiser its best PSNR, on white, camera (Poisson-Gaussian + JPEG), JPEG'd and upscaled noise.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from scipy.ndimage import uniform_filter

BLOCK = 8
FLAT_SHARE = 0.1  # of the blocks, the flattest, where the noise is measured
MAX_PIXELS, TILE = 1024 * 1024, 256  # bigger photos are measured on 16 tiles of 256 x 256 pixels
MAX_SIGMA = 75.0
LUMA = np.array([0.299, 0.587, 0.114])  # BT.601
# A pixel within half a grey level of 0 or 1 is clipped; blocks with more than 5% of them are skipped, and so
# are blocks flattened by JPEG (its quantisation wipes the noise of smooth blocks, keeps it in the others).
CLIP, MAX_CLIPPED, FLATTENED = 0.5 / 255, 0.05, 1.0 / 255


@cache
def _plane_basis(b: int = BLOCK) -> np.ndarray:
    """An orthonormal basis (b*b, 6) of the quadratic surfaces (1, x, y, x^2, xy, y^2) over a b x b block."""
    yy, xx = np.mgrid[0:b, 0:b].astype(np.float64)
    x, y = (xx.ravel() - xx.mean()) / b, (yy.ravel() - yy.mean()) / b
    return np.linalg.qr(np.stack([np.ones(b * b), x, y, x * x, x * y, y * y], 1))[0]


@cache
def _white_noise_response() -> tuple[float, float]:
    """For white noise of variance 1: E|binned residual|^2 of a block, and its degrees of freedom
    (Satterthwaite), where binned = 2x2 means of the block after the surface is removed."""
    b, n, q = BLOCK, BLOCK // 2, _plane_basis()
    binning = np.zeros((n * n, b * b))
    for i in range(b):
        for j in range(b):
            binning[(i // 2) * n + j // 2, i * b + j] = 0.25
    m = binning @ (np.eye(b * b) - q @ q.T) @ binning.T  # the binned residual's covariance
    return float(np.trace(m)), float(np.trace(m) ** 2 / np.trace(m @ m))


def _blocks(a: np.ndarray, clipped: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 2x2 means (n, 16) of the surface-removed 8x8 blocks of a 2-D array, on two grids offset by half
    a block, and each block's texture: the variance of its residual within the 2x2 cells (a part of it that
    white noise leaves independent of the 2x2 means, so choosing flat blocks does not choose blocks whose
    measured noise happened to be weak) plus the mean residual variance of its 8 neighbours on its grid;
    infinite where more than MAX_CLIPPED of the block's pixels are at 0 or 1 (``clipped``) or where
    the variance within its 2x2 cells is under FLATTENED squared (JPEG has wiped it)."""
    b, n, q = BLOCK, BLOCK // 2, _plane_basis()
    binned_all, textures = [], []
    for o in (0, b // 2):
        h, w = (a.shape[0] - o) // b, (a.shape[1] - o) // b

        def cut(t: np.ndarray, o: int = o, h: int = h, w: int = w) -> np.ndarray:
            return t[o : o + h * b, o : o + w * b].reshape(h, b, w, b).swapaxes(1, 2).reshape(-1, b * b)

        p = cut(a)
        r = p - (p @ q) @ q.T  # (blocks, 64)
        binned = r.reshape(-1, n, 2, n, 2).mean((2, 4)).reshape(-1, n * n)  # (blocks, 16)
        v = (r**2).mean(1)
        within = ((r**2).sum(1) - 4 * (binned**2).sum(1)) / (b * b - n * n)
        neighbours = (uniform_filter(v.reshape(h, w), 3, mode="mirror") * 9 - v.reshape(h, w)) / 8
        texture = within + neighbours.ravel()
        texture[(cut(clipped).mean(1) > MAX_CLIPPED) | (within < FLATTENED**2)] = np.inf
        binned_all.append(binned)
        textures.append(texture)
    return np.concatenate(binned_all), np.concatenate(textures)


def _tiles(a: np.ndarray) -> list[np.ndarray]:
    """The whole (C, H, W) image, or for a big one an evenly spread grid of TILE x TILE pieces (MAX_PIXELS)."""
    h, w = a.shape[-2:]
    if h * w <= MAX_PIXELS:
        return [a]
    n = max(1, round((MAX_PIXELS / TILE**2) ** 0.5))
    tops = np.linspace(0, max(0, h - TILE), n).astype(int)
    lefts = np.linspace(0, max(0, w - TILE), n).astype(int)
    return [a[:, t : t + TILE, s : s + TILE] for t in tops for s in lefts]


def noise_level(image: np.ndarray | torch.Tensor) -> float:
    """The sigma (0-255 scale) to tell a Gaussian denoiser about the noise of one photo, (C, H, W) or
    (H, W) in [0, 1] (a tensor batch: its first image)."""
    if isinstance(image, torch.Tensor):
        image = image[0] if image.ndim == 4 else image
        image = image.detach().float().cpu().numpy()
    a = np.asarray(image, dtype=np.float32)
    a = a[None] if a.ndim == 2 else a
    if min(a.shape[-2:]) < 2 * BLOCK:
        return 0.0
    binned, textures = [], []
    for tile in _tiles(a):
        # a colour photo: its luma, scaled back to one channel of independent RGB noise
        y = np.tensordot(LUMA / np.linalg.norm(LUMA), tile, 1) if len(tile) == 3 else tile[0]
        m, t = _blocks(y, ((tile <= CLIP) | (tile >= 1 - CLIP)).any(0).astype(np.float32))
        binned.append(m)
        textures.append(t)
    texture = np.concatenate(textures)
    usable = max(1, int(np.isfinite(texture).sum()))  # if every block is clipped, the least clipped ones
    keep = np.argsort(texture)[: max(8, int(FLAT_SHARE * usable))]
    binned = np.concatenate(binned)[keep]  # (kept, 16)
    expected, dof = _white_noise_response()  # white noise of variance v leaves E|binned|^2 = v * expected
    var = (binned**2).sum(-1) / expected
    var = np.median(var) / (1 - 2 / (9 * dof)) ** 3  # a chi-square's median over its mean (Wilson-Hilferty)
    return float(min(np.sqrt(var) * 255, MAX_SIGMA))
