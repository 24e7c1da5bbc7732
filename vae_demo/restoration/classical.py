"""Classical restoration baselines from scikit-image and the ``bm3d`` package, on numpy images.

Every method takes a float image in [0, 1] shaped (H, W) or (H, W, 3), the degradation's ``level``
(the units of ``degradations.DEGRADATIONS``) and returns an image of the same shape, clipped to [0, 1].
``METHODS_FOR`` names the ones that fit each degradation, best first; the app shows the fast one its
problem names (``problems.PROBLEMS``) and ``benchmarks/restore.py`` takes them by name.
"""

from __future__ import annotations

import numpy as np

from vae_demo.restoration.degradations import DEGRADATIONS


def _channel_axis(image: np.ndarray) -> int | None:
    return -1 if image.ndim == 3 else None


def _sigma01(image: np.ndarray, level: float | None) -> float:
    """The noise std on the 0-1 scale: the given level (0-255) or a blind estimate."""
    if level is not None:
        return level / 255.0
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(image, channel_axis=_channel_axis(image), average_sigmas=True))


def nlm(image: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """Non-local means (Buades et al. 2005), filter strength 0.8 sigma as scikit-image suggests."""
    from skimage.restoration import denoise_nl_means

    s = _sigma01(image, sigma)
    return denoise_nl_means(
        image, h=0.8 * s, sigma=s, patch_size=5, patch_distance=6, fast_mode=True, channel_axis=_channel_axis(image)
    ).clip(0, 1)


def tv(image: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """Total-variation denoising (Chambolle 2004); the weight grows with the noise level."""
    from skimage.restoration import denoise_tv_chambolle

    return denoise_tv_chambolle(
        image, weight=0.9 * _sigma01(image, sigma) + 0.005, channel_axis=_channel_axis(image)
    ).clip(0, 1)


def bm3d(image: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """BM3D (Dabov et al. 2007); CBM3D (``bm3d_rgb``) for colour images."""
    import bm3d as bm3d_lib

    s = _sigma01(image, sigma)
    if image.ndim == 3:
        return np.asarray(bm3d_lib.bm3d_rgb(image, s)).clip(0, 1)
    return np.asarray(bm3d_lib.bm3d(image, s)).clip(0, 1)


def median(image: np.ndarray, _level: float | None = None) -> np.ndarray:
    """3x3 median filter, the classical cure for salt-and-pepper noise."""
    from scipy.ndimage import median_filter

    size = (3, 3, 1) if image.ndim == 3 else (3, 3)
    return median_filter(image, size=size, mode="reflect")


def unsharp(image: np.ndarray, _level: float | None = None) -> np.ndarray:
    """Unsharp mask (radius 2 px, amount 1): image + (image - Gaussian blur of image).

    Written out with ``skimage.filters.gaussian``: scikit-image 0.26's ``unsharp_mask`` returns zeros
    in places (a flat 0.5 image comes back with a minimum of 0).
    """
    from skimage.filters import gaussian

    blurred = gaussian(image, sigma=2, channel_axis=_channel_axis(image), preserve_range=True)
    return (image + 1.0 * (image - blurred)).clip(0, 1)


def richardson_lucy(image: np.ndarray, blur_sigma: float | None = None) -> np.ndarray:
    """Richardson-Lucy deconvolution with the known Gaussian PSF (30 iterations); the image is
    reflect-padded first, because the zero padding of the convolution darkens the borders."""
    from skimage.restoration import richardson_lucy as rl

    s = blur_sigma or 1.6
    r = int(np.ceil(3 * s))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    psf = np.exp(-(xx**2 + yy**2) / (2 * s * s))
    psf /= psf.sum()
    pad = 2 * r

    def one(channel: np.ndarray) -> np.ndarray:
        padded = np.pad(channel, pad, mode="reflect" if pad < min(channel.shape) else "edge")
        return rl(padded, psf, num_iter=30)[pad:-pad, pad:-pad]

    if image.ndim == 3:
        return np.stack([one(image[..., c]) for c in range(3)], axis=-1).clip(0, 1)
    return one(image).clip(0, 1)


def clahe(image: np.ndarray, _level: float | None = None) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation."""
    from skimage.exposure import equalize_adapthist

    return equalize_adapthist(image, clip_limit=0.01).clip(0, 1)


def gamma(image: np.ndarray, exposure: float | None = None) -> np.ndarray:
    """Brighten a dark image: scale its mean to 0.45 with a gamma curve (the exposure is not needed)."""
    mean = float(np.clip(image.mean(), 1e-3, 0.99))
    return np.power(image.clip(0, 1), np.log(0.45) / np.log(mean))


def identity(image: np.ndarray, _level: float | None = None) -> np.ndarray:
    """The degraded input itself (for SR: the bicubic upsampling)."""
    return image.copy()


METHODS = {
    "nlm": nlm,
    "tv": tv,
    "bm3d": bm3d,
    "median": median,
    "unsharp": unsharp,
    "richardson_lucy": richardson_lucy,
    "clahe": clahe,
    "gamma": gamma,
    "bicubic": identity,
}

# The classical answers to each degradation, best first.
METHODS_FOR: dict[str, tuple[str, ...]] = {
    "denoise": ("bm3d", "nlm", "tv"),
    "poisson": ("bm3d", "nlm", "tv"),
    "salt_and_pepper": ("median", "tv"),
    "camera": ("bm3d", "nlm", "tv"),
    "jpeg": ("tv", "bm3d"),
    "sr": ("bicubic", "unsharp"),
    "deblur": ("richardson_lucy", "unsharp"),
    "motion_blur": ("unsharp",),
    "lowlight": ("gamma", "clahe"),
    "haze": ("clahe",),
}
assert set(METHODS_FOR) == set(DEGRADATIONS)


def run_classical(method: str, image: np.ndarray, degradation: str, level: float | None) -> np.ndarray:
    """Run one classical method; the level is passed where the method uses it (noise sigma, blur sigma)."""
    if method not in METHODS:
        raise ValueError(f"unknown classical method {method!r}; choose one of {', '.join(METHODS)}")
    image = np.asarray(image, dtype=np.float64)
    uses_level = {"denoise": ("bm3d", "nlm", "tv"), "deblur": ("richardson_lucy",)}
    known = level if method in uses_level.get(degradation, ()) else None
    return METHODS[method](image, known)
