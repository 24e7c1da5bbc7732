"""Seeded, batched image degradations on tensors in [0, 1] of shape (N, C, H, W), on any device.

Every strength is in physical units: noise sigma on the 0-255 scale, the peak photon count of
Poisson noise, blur sigma and motion length in pixels, JPEG quality 5-95, a downsampling factor,
an exposure factor and a gamma. Blur, JPEG and resizing use ``torchvision.transforms.v2``; each
function returns a new tensor of the same shape and dtype, clipped to [0, 1] (``downsample``
returns the smaller image; ``gaussian_noise(clip=False)`` leaves its noise in floating point).
``mixture.DegradationPipeline`` mixes them at random for training.

``corrupt`` keeps the foundation's digit/face corruptions (noise levels on the 0-1 scale).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF

from vae_demo.catalog import DIGIT_NOISES
from vae_demo.core.device import make_generator

NOISE_TYPES = tuple(DIGIT_NOISES)  # what ``corrupt`` applies (vae_demo.catalog)
CAMERA_JPEG_QUALITY = 85  # the ``camera`` degradation saves its noisy photo at this JPEG quality


def _randn(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


# --- noise ------------------------------------------------------------------------------------
def gaussian_noise(
    x: torch.Tensor, sigma: float, generator: torch.Generator | None = None, clip: bool = True
) -> torch.Tensor:
    """Add white Gaussian noise of std ``sigma`` on the 0-255 scale, then clip to [0, 1] (``clip`` False: left
    in floating point, the protocol of published denoising figures). The draw is the same either way."""
    y = x + sigma / 255.0 * _randn(x, generator)
    return y.clamp(0, 1) if clip else y


def poisson_noise(x: torch.Tensor, peak: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shot noise: a pixel of value v counts Poisson(v * peak) photons; fewer photons, more noise."""
    if peak <= 0:
        raise ValueError(f"the Poisson peak photon count must be positive, got {peak}")
    counts = torch.poisson((x * peak).float(), generator=generator)
    return (counts / peak).to(x.dtype).clamp(0, 1)


def poisson_gaussian(
    x: torch.Tensor, sigma: float, shot_share: float = 0.8, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Signal-dependent sensor noise: variance ``a * x + b`` (Poisson shot noise plus Gaussian read noise),
    scaled so the std at mid-grey (x = 0.5) is ``sigma`` on the 0-255 scale, ``shot_share`` of it from photons."""
    if sigma <= 0:
        return x.clone()
    var = (sigma / 255.0) ** 2  # at mid-grey
    a, b = shot_share * var / 0.5, (1 - shot_share) * var  # a: the photon's size on the 0-1 scale
    shot = torch.poisson((x.clamp(0, 1) / a).float(), generator=generator).to(x.dtype) * a
    return (shot + b**0.5 * _randn(x, generator)).clamp(0, 1)


def camera_noise(x: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """A phone photo's noise: ``poisson_gaussian`` of std ``sigma`` at mid-grey, then saved as JPEG quality 85."""
    return jpeg(poisson_gaussian(x, sigma, generator=generator), CAMERA_JPEG_QUALITY)


def salt_and_pepper(x: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Set a ``fraction`` of pixels to 0 or 1 (half each); all channels of a pixel together."""
    shape = (x.shape[0], 1, *x.shape[2:])
    u = torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)
    out = torch.where(u < fraction / 2, torch.zeros_like(x), x)
    return torch.where((u >= fraction / 2) & (u < fraction), torch.ones_like(x), out)


# --- blur -------------------------------------------------------------------------------------
def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur with an isotropic Gaussian of std ``sigma`` pixels (kernel of +-3 sigma, reflected edges)."""
    if sigma <= 0:
        return x.clone()
    size = 2 * math.ceil(3 * sigma) + 1
    return TF.gaussian_blur(x, [size, size], [sigma, sigma]).clamp(0, 1)


def motion_kernel(length: float, angle: float) -> torch.Tensor:
    """A normalised line of ``length`` pixels at ``angle`` degrees (anticlockwise from horizontal)."""
    size = max(1, math.ceil(length)) | 1  # odd, so the line is centred
    c = size // 2
    yy, xx = torch.meshgrid(torch.arange(size) - c, torch.arange(size) - c, indexing="ij")
    theta = math.radians(angle)
    along = xx * math.cos(theta) - yy * math.sin(theta)
    across = xx * math.sin(theta) + yy * math.cos(theta)
    kernel = ((across.abs() <= 0.5) & (along.abs() <= length / 2)).float()
    return kernel / kernel.sum()


def motion_blur(x: torch.Tensor, length: float, angle: float = 0.0) -> torch.Tensor:
    """Average along a straight line of ``length`` pixels at ``angle`` degrees (camera shake)."""
    if length <= 1:
        return x.clone()
    k = motion_kernel(length, angle).to(x.device, x.dtype)
    c = x.shape[1]
    pad = k.shape[-1] // 2
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect" if pad < min(x.shape[-2:]) else "replicate")
    return F.conv2d(padded, k.expand(c, 1, *k.shape), groups=c).clamp(0, 1)


# --- compression and resolution --------------------------------------------------------------
def _uint8_tensor(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Encode and decode as JPEG at ``quality`` (5-95; lower means stronger block artefacts)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be between 1 and 100, got {quality}")
    out = TF.jpeg(_uint8_tensor(x).cpu(), int(quality))
    return out.to(x.device, x.dtype) / 255.0


def downsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Shrink by an integer ``scale`` (bicubic, antialiased); sides are cropped to a multiple first."""
    h, w = (s - s % scale for s in x.shape[-2:])
    x = x[..., :h, :w]
    return resize(x, (h // scale, w // scale))


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic, antialiased resize to ``size`` = (height, width), clipped to [0, 1]."""
    out = TF.resize(x, list(size), interpolation=TF.InterpolationMode.BICUBIC, antialias=True)
    return out.clamp(0, 1)


def low_resolution(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Downsample by ``scale`` and bicubic-upsample back: the input a restoration model sees for SR."""
    small = downsample(x, scale)
    out = x.clone()
    h, w = small.shape[-2] * scale, small.shape[-1] * scale
    out[..., :h, :w] = resize(small, (h, w))
    return out


# --- exposure and colour ----------------------------------------------------------------------
def low_light(
    x: torch.Tensor,
    exposure: float,
    gamma: float = 1.0,
    sigma: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Under-expose: ``exposure * x ** gamma``, plus sensor noise of std ``sigma`` (0-255 scale)."""
    dark = exposure * x.clamp(0, 1).pow(gamma)
    return gaussian_noise(dark, sigma, generator) if sigma > 0 else dark.clamp(0, 1)


def reduce_contrast(x: torch.Tensor, amount: float, airlight: float = 0.8) -> torch.Tensor:
    """Haze: blend towards a flat ``airlight`` grey; ``amount`` 0 keeps the image, 1 erases it."""
    return (x * (1 - amount) + airlight * amount).clamp(0, 1)


def colour_cast(x: torch.Tensor, gains: tuple[float, float, float]) -> torch.Tensor:
    """Multiply the R, G, B channels by ``gains`` (e.g. (1.2, 1.0, 0.8) is a warm cast); grey stays grey."""
    if x.shape[1] != 3:
        return x.clone()
    g = torch.tensor(gains, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * g).clamp(0, 1)


# --- the foundation's digit/face corruptions ---------------------------------------------------
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
    """Apply one corruption by name: gaussian (sigma on the 0-1 scale), salt_and_pepper (fraction),
    mask (area fraction). For ``mask`` the masked pixels are 0; ``observed_mask`` tells which survived.
    """
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"the corruption level must be between 0 and 1, got {level}")
    g = make_generator(seed, x.device)
    if kind == "gaussian":
        return gaussian_noise(x, 255.0 * level, g)
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


# --- named degradations ----------------------------------------------------------------------
@dataclass(frozen=True)
class Degradation:
    """A named corruption: what its ``level`` means, a sensible default, the condition code a restoration model
    is told when it fixes it (``mixture.CONDITIONS``), how it is applied, and the noise std (0-255) it adds as a
    model is told it (None: the model estimates it)."""

    level_meaning: str
    default_level: float
    condition: str
    apply: Callable[[torch.Tensor, float, torch.Generator | None, bool], torch.Tensor]  # (x, level, generator, clip)
    noise_sigma: Callable[[float], float | None] = lambda level: 0.0


def _estimated(level: float) -> None:
    return None


# The named degradations, in physical units, each named for the corruption it applies. A benchmark task names the
# one that simulates it through its catalog row (``catalog.task_degradation``: task ``denoise`` -> ``gaussian_noise``).
DEGRADATIONS: dict[str, Degradation] = {
    "gaussian_noise": Degradation(
        "Gaussian noise sigma (0-255 scale)", 25.0, "noise", gaussian_noise, lambda level: float(level)
    ),
    "poisson": Degradation(
        "Poisson peak photon count (lower is noisier)",
        30.0,
        "noise",
        lambda x, level, g, clip: poisson_noise(x, level, g),
        _estimated,
    ),
    "salt_and_pepper": Degradation(
        "fraction of pixels hit", 0.1, "noise", lambda x, level, g, clip: salt_and_pepper(x, level, g), _estimated
    ),
    "camera": Degradation(
        "noise std at mid-grey (0-255), Poisson-Gaussian, then JPEG q85",
        15.0,
        "noise",
        lambda x, level, g, clip: camera_noise(x, level, g),
        _estimated,
    ),
    "jpeg": Degradation("JPEG quality (5-95)", 20.0, "jpeg", lambda x, level, g, clip: jpeg(x, round(level))),
    "downsample": Degradation(
        "downsampling factor (2, 3 or 4)", 2.0, "sr", lambda x, level, g, clip: downsample(x, round(level))
    ),
    "gaussian_blur": Degradation(
        "Gaussian blur sigma in pixels", 1.6, "blur", lambda x, level, g, clip: gaussian_blur(x, level)
    ),
    "motion_blur": Degradation(
        "motion length in pixels", 9.0, "blur", lambda x, level, g, clip: motion_blur(x, level, 30.0)
    ),
    "lowlight": Degradation(
        "exposure (0.05-1; lower is darker)",
        0.3,
        "lowlight",
        lambda x, level, g, clip: low_light(x, level, gamma=1.2, sigma=4.0, generator=g),
        lambda level: 4.0,  # the sensor noise it adds to a dark image
    ),
    "haze": Degradation("contrast lost (0-1)", 0.4, "tone", lambda x, level, g, clip: reduce_contrast(x, level)),
}


def degrade(
    x: torch.Tensor, name: str, level: float, generator: torch.Generator | None = None, clip: bool = True
) -> torch.Tensor:
    """Apply the degradation named ``name`` at ``level`` (see ``DEGRADATIONS``); ``downsample`` returns the small
    image. ``clip`` False leaves ``gaussian_noise``'s noise unclipped."""
    if name not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {name!r}; choose one of {', '.join(DEGRADATIONS)}")
    if not math.isfinite(level):
        raise ValueError(f"the level must be a finite number, got {level}")
    return DEGRADATIONS[name].apply(x, level, generator, clip)


def noise_sigma_of(name: str, level: float) -> float | None:
    """The noise std (0-255 scale) the degradation ``name`` adds, as a restoration model is told.

    None means the model estimates it; a name that is not a degradation adds none."""
    return DEGRADATIONS[name].noise_sigma(level) if name in DEGRADATIONS else 0.0
