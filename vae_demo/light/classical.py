"""Classical light-and-colour corrections on numpy float images (H, W, 3) in [0, 1], sRGB-encoded.

Every entry of ``METHODS`` is ``f(image, reference) -> image``; only the ORACLES read ``reference`` (the clean
original): they fit it, so they are upper bounds of what a global fix could reach, never fair competitors.

- ``gamma``: x ** 0.45, the plain brightening every low-light result is compared against;
- ``gamma_auto``: the gamma that takes the mean luminance to 0.45;
- ``clahe``: contrast-limited adaptive histogram equalisation of the HSV value (scikit-image);
- ``hist_eq``: histogram equalisation of CIELAB lightness, a* and b* kept, so hue is kept;
- ``grey_world`` / ``white_patch``: per-channel gains in linear light that make the channel means
  (grey world, Buchsbaum 1980) or the channels' 99th percentiles (white patch, Land's max-RGB) equal,
  the mean luminance kept;
- ``dehaze_dcp``: the dark-channel prior (He, Sun and Tang, CVPR 2009), transmission refined by the guided
  filter (He, Sun and Tang, ECCV 2010), in linear light where the scattering model holds;
- ``contrast_stretch``: the 0.5th and 99.5th percentiles of all channels stretched to 0 and 1;
- ``exposure_oracle`` (ORACLE): the one global gain in linear light that best fits the reference
  (closed-form least squares);
- ``exposure_oracle_denoise`` (ORACLE): that, then the denoiser that the app runs after brightening
  (``light.serving.DENOISER`` through ``restoration.serving``, its noise level estimated blind).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from vae_demo.light.pipeline import LUMA, linear_to_srgb, srgb_to_linear

GAMMA = 0.45  # the plain reference brightening
TARGET_MEAN = 0.45  # gamma_auto's mean luminance
ORACLES = frozenset({"exposure_oracle", "exposure_oracle_denoise"})


def to_linear(image: np.ndarray) -> np.ndarray:
    """sRGB-encoded -> linear light (the pipeline's curve)."""
    return srgb_to_linear(torch.from_numpy(np.asarray(image, dtype=np.float64))).numpy()


def to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light -> sRGB-encoded, clipped to [0, 1]."""
    return linear_to_srgb(torch.from_numpy(np.asarray(linear, dtype=np.float64))).numpy()


def luminance(image: np.ndarray) -> np.ndarray:
    """(H, W) luminance of an sRGB image as scikit-image's ``rgb2gray`` weighs it."""
    from skimage.color import rgb2gray

    return rgb2gray(image)


def gamma(image: np.ndarray, _reference: np.ndarray | None = None) -> np.ndarray:
    """x ** 0.45 on every channel."""
    return np.power(image.clip(0, 1), GAMMA)


def gamma_auto(image: np.ndarray, _reference: np.ndarray | None = None) -> np.ndarray:
    """x ** g with g = log(0.45) / log(mean luminance): brightens a dark image, darkens a washed-out one."""
    mean = float(np.clip(luminance(image).mean(), 1e-3, 0.999))
    return np.power(image.clip(0, 1), np.log(TARGET_MEAN) / np.log(mean))


def clahe(image: np.ndarray, _reference: np.ndarray | None = None) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (scikit-image runs it on the HSV value)."""
    from skimage.exposure import equalize_adapthist

    return equalize_adapthist(image.clip(0, 1), clip_limit=0.01).clip(0, 1)


def hist_eq(image: np.ndarray, _reference: np.ndarray | None = None) -> np.ndarray:
    """Global histogram equalisation of CIELAB L*, a* and b* untouched."""
    from skimage.color import lab2rgb, rgb2lab
    from skimage.exposure import equalize_hist

    lab = rgb2lab(image.clip(0, 1))
    lab[..., 0] = equalize_hist(lab[..., 0], nbins=256) * 100
    return lab2rgb(lab).clip(0, 1)


def _white_balanced(lin: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """sRGB of linear ``lin`` with per-channel gains that make ``stats`` (3,) equal, scaled so the mean
    luminance stays: white balance moves colour, not exposure."""
    out = lin * (1 / np.maximum(stats, 1e-6))
    luma = np.asarray(LUMA)
    return to_srgb(out * float((lin @ luma).mean() / max(float((out @ luma).mean()), 1e-12)))


def grey_world(image: np.ndarray, _reference: np.ndarray | None = None) -> np.ndarray:
    """Grey world: the scene averages to grey, so the channel means are made equal in linear light."""
    lin = to_linear(image)
    return _white_balanced(lin, lin.reshape(-1, 3).mean(0))


def white_patch(image: np.ndarray, _reference: np.ndarray | None = None) -> np.ndarray:
    """White patch (max-RGB): the brightest surfaces are white, so the channels' 99th percentiles are made
    equal in linear light."""
    lin = to_linear(image)
    return _white_balanced(lin, np.percentile(lin.reshape(-1, 3), 99, axis=0))


def _guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """The grey guided filter (He et al., ECCV 2010): an edge-aware smoothing of ``src`` along ``guide``."""
    from scipy.ndimage import uniform_filter

    def mean(a: np.ndarray) -> np.ndarray:
        return uniform_filter(a, 2 * radius + 1, mode="reflect")

    mg, ms = mean(guide), mean(src)
    a = (mean(guide * src) - mg * ms) / (mean(guide * guide) - mg * mg + eps)
    b = ms - a * mg
    return mean(a) * guide + mean(b)


def dehaze_dcp(
    image: np.ndarray, _reference: np.ndarray | None = None, patch: int = 15, omega: float = 0.95, t_min: float = 0.1
) -> np.ndarray:
    """Dark-channel prior: airlight A from the haziest 0.1% of pixels, transmission t = 1 - omega * dark(I / A)
    refined by the guided filter, then J = (I - A) / max(t, t_min) + A, all in linear light."""
    from scipy.ndimage import minimum_filter

    lin = to_linear(image)
    dark = minimum_filter(lin.min(axis=2), size=patch, mode="nearest")
    n = max(1, dark.size // 1000)
    haziest = np.argpartition(dark.ravel(), -n)[-n:]
    airlight = np.maximum(lin.reshape(-1, 3)[haziest].mean(0), 1e-3)
    t = 1 - omega * minimum_filter((lin / airlight).min(axis=2), size=patch, mode="nearest")
    radius = max(4, min(lin.shape[:2]) // 10)
    t = _guided_filter(luminance(image), t, radius, 1e-3)
    return to_srgb((lin - airlight) / np.maximum(t, t_min)[..., None] + airlight)


def contrast_stretch(image: np.ndarray, _reference: np.ndarray | None = None) -> np.ndarray:
    """A global linear stretch of the 0.5th-99.5th percentiles (all channels together, so hue is kept)."""
    from skimage.exposure import rescale_intensity

    lo, hi = np.percentile(image, (0.5, 99.5))
    if hi - lo < 1e-6:
        return image.clip(0, 1).copy()
    return rescale_intensity(image, in_range=(lo, hi), out_range=(0.0, 1.0)).clip(0, 1)


def exposure_gain(image: np.ndarray, reference: np.ndarray) -> float:
    """The least-squares global gain k minimising ||k lin(image) - lin(reference)||^2: <x, r> / <x, x>."""
    x, r = to_linear(image), to_linear(reference)
    return float((x * r).sum() / max(float((x * x).sum()), 1e-12))


def exposure_oracle(image: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """ORACLE: the image times the gain in linear light that best fits the reference."""
    if reference is None:
        raise ValueError("exposure_oracle is an oracle: it needs the clean reference")
    return to_srgb(to_linear(image) * exposure_gain(image, reference))


def exposure_oracle_denoise(image: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """ORACLE: ``exposure_oracle``, then the app's denoiser after brightening, as the app runs it (blind)."""
    from vae_demo.light.serving import bundled_denoiser
    from vae_demo.restoration import serving

    matched = exposure_oracle(image, reference)
    y = torch.from_numpy(np.ascontiguousarray(matched, dtype=np.float32)).permute(2, 0, 1)[None]
    with torch.no_grad():
        out = serving.denoise(bundled_denoiser(), y, "real").mode.cpu()
    return out[0].permute(1, 2, 0).numpy().astype(np.float64).clip(0, 1)


METHODS: dict[str, Callable[[np.ndarray, np.ndarray | None], np.ndarray]] = {
    "gamma": gamma,
    "gamma_auto": gamma_auto,
    "clahe": clahe,
    "hist_eq": hist_eq,
    "grey_world": grey_world,
    "white_patch": white_patch,
    "dehaze_dcp": dehaze_dcp,
    "contrast_stretch": contrast_stretch,
    "exposure_oracle": exposure_oracle,
    "exposure_oracle_denoise": exposure_oracle_denoise,
}
assert set(METHODS) >= ORACLES


def run_method(method: str, image: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Run one method of ``METHODS`` on an (H, W, 3) image in [0, 1]; an oracle needs ``reference``."""
    if method not in METHODS:
        raise ValueError(f"unknown light method {method!r}; choose one of {', '.join(METHODS)}")
    if method in ORACLES and reference is None:
        raise ValueError(f"{method} is an oracle: it needs the clean reference")
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
    return METHODS[method](image, reference)
