"""Classical restoration baselines from scikit-image and the ``bm3d`` package, on numpy images.

Every method takes a float image in [0, 1] shaped (H, W) or (H, W, 3), the degradation's ``level``
(the units of ``degradations.DEGRADATIONS``) and returns an image of the same shape, clipped to [0, 1].
``METHODS_FOR`` names the ones that fit each degradation, best first; the app shows the fast one its
problem names (``problems.PROBLEMS``) and ``benchmarks/restore.py`` takes them by name.

The denoisers are given what the VAE is given: the told sigma, or in a blind row the project's own estimate
(``estimated_sigma``: ``noise_level``, the sigma the VAE is told there). Poisson noise goes through the Anscombe
transform as it does for the VAE (``anscombe_denoise``). ``oracle`` runs a denoiser at the sigma that scores
best against the clean image: a bound, not a method (it reads the answer).
"""

from __future__ import annotations

import numpy as np
import torch

from vae_demo.restoration.degradations import DEGRADATIONS

MIN_SIGMA, MAX_SIGMA = 0.5, 150.0  # 0-255 scale: the sigmas a denoiser is run at
ORACLE_STEPS = 4  # the oracle's grid: 4 sigmas an octave, walked 2 at a time, then refined by 1


def _channel_axis(image: np.ndarray) -> int | None:
    return -1 if image.ndim == 3 else None


def estimated_sigma(image: np.ndarray) -> float:
    """The project's blind noise level (0-255 scale) of an (H, W) or (H, W, 3) image: ``noise_level``, the
    estimate the VAE is told in a blind row, so every method of the row gets the same one."""
    from vae_demo.restoration.noise_level import noise_level

    a = np.clip(np.moveaxis(image, -1, 0) if image.ndim == 3 else image, 0, 1)
    return max(MIN_SIGMA, noise_level(a))


def _sigma01(image: np.ndarray, level: float | None) -> float:
    """The noise std on the 0-1 scale: the given level (0-255) or the project's blind estimate."""
    return (estimated_sigma(image) if level is None else max(MIN_SIGMA, level)) / 255.0


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


def adaptive_median(image: np.ndarray, _level: float | None = None, max_window: int = 15) -> np.ndarray:
    """The switching adaptive median filter for salt and pepper: impulses are the pixels whose every channel is
    0 or every channel 1; each is replaced by the median (per channel) of the pixels that are not impulses in
    the smallest window around it, 3x3, 5x5, ... up to ``max_window``, that holds any (the growing windows of
    Hwang & Haddad, IEEE TIP 1995). Other pixels are kept; an impulse with none around it within
    ``max_window`` (the inside of a large black or white region) is kept too."""
    a = image if image.ndim == 3 else image[..., None]
    hit = np.all(a <= 0, -1) | np.all(a >= 1, -1)
    out, todo, r_max = a.copy(), np.argwhere(hit), max_window // 2
    marked = np.pad(np.where(hit[..., None], np.nan, a), ((r_max, r_max), (r_max, r_max), (0, 0)), mode="reflect")
    for r in range(1, r_max + 1):
        if not len(todo):
            break
        offsets = np.arange(-r, r + 1)
        rows = todo[:, 0, None, None] + r_max + offsets[None, :, None]
        cols = todo[:, 1, None, None] + r_max + offsets[None, None, :]
        window = marked[rows, cols].reshape(len(todo), -1, a.shape[-1])  # (impulses, (2r+1)^2, C)
        found = ~np.isnan(window[..., 0]).all(1)
        out[todo[found, 0], todo[found, 1]] = np.nanmedian(window[found], axis=1)
        todo = todo[~found]
    return out if image.ndim == 3 else out[..., 0]


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
    "adaptive_median": adaptive_median,
    "unsharp": unsharp,
    "richardson_lucy": richardson_lucy,
    "clahe": clahe,
    "gamma": gamma,
    "bicubic": identity,
}

# The classical answers to each degradation, best first.
METHODS_FOR: dict[str, tuple[str, ...]] = {
    "gaussian_noise": ("bm3d", "nlm", "tv"),
    "poisson": ("bm3d", "nlm", "tv"),
    "salt_and_pepper": ("adaptive_median", "median", "tv"),
    "camera": ("bm3d", "nlm", "tv"),
    "jpeg": ("tv", "bm3d"),
    "downsample": ("bicubic", "unsharp"),
    "gaussian_blur": ("richardson_lucy", "unsharp"),
    "motion_blur": ("unsharp",),
    "lowlight": ("gamma", "clahe"),
    "haze": ("clahe",),
}
assert set(METHODS_FOR) == set(DEGRADATIONS)


DENOISERS = ("bm3d", "nlm", "tv")  # told a noise sigma (or given the project's estimate)
ORACLE_METHODS = {f"{m}_oracle": m for m in ("bm3d", "nlm")}  # benchmark names: the denoiser at its best sigma


def anscombe_denoise(method: str, image: np.ndarray, peak: float | None) -> np.ndarray:
    """A Gaussian denoiser on Poisson noise of ``peak`` photons (None: ``serving.estimate_peak``): the Anscombe
    transform makes the noise Gaussian of std 1, scaled to [0, 1] as the VAE's path does it; the denoiser is
    told that std, and the exact unbiased inverse (Makitalo & Foi, IEEE TIP 2011) brings the result back."""
    from vae_demo.restoration.serving import anscombe, estimate_peak, inverse_anscombe

    t = torch.from_numpy(np.moveaxis(image, -1, 0) if image.ndim == 3 else image[None]).double()
    peak = estimate_peak(t.float()) if peak is None else float(peak)
    low, high = (float(anscombe(torch.tensor(v, dtype=torch.float64), peak)) for v in (0.0, 1.0))
    scale = high - low  # the transformed [0, 1] range; its noise has std 1
    a = ((anscombe(t, peak) - low) / scale).numpy()
    a = np.moveaxis(a, 0, -1) if image.ndim == 3 else a[0]
    d = torch.from_numpy(np.asarray(METHODS[method](a, 255.0 / scale), dtype=np.float64))
    return inverse_anscombe(d * scale + low, peak).numpy()


def _psnr8(out: np.ndarray, reference: np.ndarray) -> float:
    """PSNR (dB) of two [0, 1] images rounded to 8 bits, as the benchmark scores them."""
    a, b = (np.round(np.clip(x, 0, 1) * 255) for x in (out, reference))
    return float(10 * np.log10(255**2 / max(np.mean((a - b) ** 2), 1e-10)))


def oracle(method: str, image: np.ndarray, reference: np.ndarray, start: float) -> tuple[np.ndarray, float]:
    """(output, sigma): the denoiser ``method`` at the sigma (0-255 scale) of the grid ``start * 2^(k/4)``
    that scores the best PSNR against the clean ``reference``, found by walking from ``start`` in steps of
    sqrt(2) while the PSNR rises, then one step of 2^(1/4) either side. An oracle: it reads the clean image."""
    start = float(np.clip(start, MIN_SIGMA, MAX_SIGMA))
    scores: dict[int, tuple[float, np.ndarray, float]] = {}

    def at(k: int) -> float:
        if k not in scores:
            s = float(np.clip(start * 2 ** (k / ORACLE_STEPS), MIN_SIGMA, MAX_SIGMA))
            out = METHODS[method](image, s)
            scores[k] = (_psnr8(out, reference), out, s)
        return scores[k][0]

    k = 0
    for step in (2, 1):  # sqrt(2), then 2^(1/4)
        for d in (step, -step):
            while at(k + d) > at(k):
                k += d
    best = max(scores, key=lambda j: scores[j][0])
    return scores[best][1], scores[best][2]


def run_classical(method: str, image: np.ndarray, degradation: str | None, level: float | None) -> np.ndarray:
    """Run one classical method on an image with ``degradation`` (a ``DEGRADATIONS`` name; None: a photo's own
    noise); the level is passed where the method uses it (noise sigma, blur sigma, the Poisson peak through
    ``anscombe_denoise``); a denoiser not told a sigma gets ``estimated_sigma``."""
    if method not in METHODS:
        raise ValueError(f"unknown classical method {method!r}; choose one of {', '.join(METHODS)}")
    image = np.asarray(image, dtype=np.float64)
    if degradation == "poisson" and method in DENOISERS:
        return anscombe_denoise(method, image, level)
    uses_level = {"gaussian_noise": DENOISERS, "gaussian_blur": ("richardson_lucy",)}
    known = level if method in uses_level.get(degradation, ()) else None
    return METHODS[method](image, known)


def describe(method: str, degradation: str | None, level: float | None) -> str:
    """What a method of a benchmark row was given, for its report."""
    base = ORACLE_METHODS.get(method, method)
    if base not in DENOISERS:
        return "the level as told" if method == "richardson_lucy" and degradation == "gaussian_blur" else "no level"
    if method in ORACLE_METHODS:
        return "oracle: the sigma of a grid (2^(k/4) from the told or estimated one) that scores best on the clean"
    if degradation == "poisson":
        peak = "the estimated peak" if level is None else f"the told peak {level:g}"
        return f"Anscombe transform at {peak}, told std 1 there, exact unbiased inverse (Makitalo & Foi 2011)"
    if degradation == "gaussian_noise" and level is not None:
        return f"told sigma {level:g}"
    return "the project's noise estimate (noise_level), as the VAE"
