"""Realistic light-and-colour degradations of sRGB photos: under-exposure with sensor noise, haze, flat tone, casts.

Images are float tensors in [0, 1], shape (3, H, W) or (B, 3, H, W), sRGB-encoded. Physics happens in linear
light (``srgb_to_linear``); every random draw comes from the ``torch.Generator`` passed in, so a seed fixes the
result. ``LIGHT_DEGRADATIONS`` maps the four benchmark names to ``f(x, level, generator)``;
``sample_light_degradation`` is the random mix training draws (each effect alone and combined).

Sensor model (``darken``): a pixel that would be white at the correct exposure collects ``FULL_EXPOSURE_PHOTONS``
photo-electrons (1,000: a small phone pixel, ~1 um, at a raised ISO in dim light); ``stops`` of under-exposure
divide that by 2**stops, then shot noise (Poisson) and read noise (``READ_NOISE_E`` = 2 e-, Gaussian) are added,
as in the Poisson-Gaussian model of Foi et al. (2008). At 3 stops a mid-grey pixel collects ~27 e-: SNR ~5.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vae_demo.core.config import Config
from vae_demo.restoration.degradations import jpeg

FULL_EXPOSURE_PHOTONS = 1000.0  # photo-electrons of a white pixel at the correct exposure
READ_NOISE_E = 2.0  # read noise std, photo-electrons
LOWLIGHT_JPEG_QUALITY = 90  # a phone saves its dark photo as a JPEG
TEMPERATURE_STOPS = 0.75  # a cast of strength 1 moves red and blue +-0.75 stops apart (tungsten vs daylight)
TINT_STOPS = 0.3  # and green-magenta by up to +-0.3 stops
LUMA = (0.2126, 0.7152, 0.0722)  # Rec. 709 luminance weights, linear light


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """The sRGB decoding curve (IEC 61966-2-1): encoded [0, 1] -> linear light [0, 1]."""
    x = x.clamp(0, 1)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).pow(2.4))


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """The sRGB encoding curve: linear light [0, 1] -> encoded [0, 1]."""
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(0.0031308).pow(1 / 2.4) - 0.055)


def _batched(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """Let a function written for (B, 3, H, W) also take a single (3, H, W) image."""

    def wrapper(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        if x.dim() == 3:
            return fn(x.unsqueeze(0), *args, **kwargs).squeeze(0)
        return fn(x, *args, **kwargs)

    wrapper.__doc__, wrapper.__name__ = fn.__doc__, fn.__name__
    return wrapper


def _uniform(generator: torch.Generator | None, lo: float, hi: float) -> float:
    return lo + (hi - lo) * torch.rand((), generator=generator).item()


@_batched
def darken(
    x: torch.Tensor,
    stops: float | torch.Tensor,
    generator: torch.Generator | None = None,
    photons: float = FULL_EXPOSURE_PHOTONS,
    read_noise: float = READ_NOISE_E,
    jpeg_quality: int | None = None,
) -> torch.Tensor:
    """Under-expose by ``stops`` (negative over-exposes and clips) and add the sensor noise of that exposure.

    ``photons``: photo-electrons of a white pixel at the correct exposure; ``read_noise``: its std in e-;
    ``photons=0`` gives a noiseless exposure change. Returns sRGB, optionally saved as JPEG.
    """
    lin = srgb_to_linear(x) * 2.0 ** (-stops)  # (B, 3, H, W) linear, scaled exposure (stops: a number or a map)
    if photons > 0:
        electrons = torch.poisson((lin.clamp(0, 1) * photons).float().cpu(), generator=generator).to(lin)
        noise = torch.randn(lin.shape, generator=generator, dtype=lin.dtype).to(lin.device)
        lin = (electrons + read_noise * noise) / photons
    out = linear_to_srgb(lin)
    return jpeg(out, jpeg_quality) if jpeg_quality else out


def _depth_map(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """A smooth scene-depth proxy in [0.5, 1], (B, 1, H, W): far at the top, plus low-frequency variation."""
    b, _, h, w = x.shape
    ramp = torch.linspace(1.0, 0.0, h, dtype=x.dtype, device=x.device).view(1, 1, h, 1).expand(b, 1, h, w)
    if generator is None:
        return 0.5 + 0.5 * ramp
    coarse = torch.rand((b, 1, 4, 4), generator=generator, dtype=x.dtype).to(x.device)  # (B, 1, 4, 4)
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True).clamp(0, 1)
    return 0.5 + 0.5 * (0.7 * ramp + 0.3 * field)


@_batched
def haze(
    x: torch.Tensor, amount: float, generator: torch.Generator | None = None, airlight: float | None = None
) -> torch.Tensor:
    """Atmospheric scattering I = J t + A (1 - t) in linear light, transmission t = 1 - amount * depth.

    ``amount`` 0-1; depth is a smooth map in [0.5, 1]. With a generator the depth varies at random and the
    airlight A is a bright, slightly bluish or warm grey; else A = ``airlight`` (default 0.85) grey.
    """
    lin = srgb_to_linear(x)  # (B, 3, H, W)
    t = 1.0 - amount * _depth_map(x, generator)  # (B, 1, H, W)
    level = airlight if airlight is not None else (_uniform(generator, 0.7, 1.0) if generator else 0.85)
    tint = torch.ones(3, dtype=x.dtype, device=x.device)
    if generator is not None:
        tint = tint + torch.tensor([-1.0, 0.0, 1.0], dtype=x.dtype, device=x.device) * _uniform(generator, -0.05, 0.1)
    a = (level * tint).view(1, 3, 1, 1)
    return linear_to_srgb(lin * t + a * (1 - t))


@_batched
def flat_tone(x: torch.Tensor, amount: float) -> torch.Tensor:
    """Contrast loss: lift the blacks, dull the whites and pull the tones towards the image's mean grey (sRGB)."""
    lum = (x * torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    mean = lum.mean(dim=(2, 3), keepdim=True)  # (B, 1, 1, 1)
    flat = mean + (x - mean) * (1 - 0.6 * amount)  # contrast down by up to 60%
    return (0.12 * amount + (1 - 0.2 * amount) * flat).clamp(0, 1)  # blacks lifted, whites dulled


def cast_gains(strength: float, angle: float) -> torch.Tensor:
    """Per-channel linear gains (3,) of an illuminant change: ``angle`` (radians) on the blue-amber (cos) /
    green-magenta (sin) plane, ``strength`` 0-1; normalised to keep luminance."""
    temp, tint = TEMPERATURE_STOPS * math.cos(angle), TINT_STOPS * math.sin(angle)
    log2 = strength * torch.tensor([temp - tint / 2, tint, -temp - tint / 2])  # (3,) stops per channel
    gains = 2.0**log2
    return gains / (gains * torch.tensor(LUMA)).sum()


@_batched
def colour_cast(
    x: torch.Tensor, strength: float, generator: torch.Generator | None = None, angle: float | None = None
) -> torch.Tensor:
    """Light the scene with another illuminant: per-channel gains in linear light (highlights may clip).

    The direction ``angle`` is drawn uniformly from the generator unless given (0 = amber, pi = blue,
    pi/2 = green, -pi/2 = magenta); one direction per image.
    """
    lin = srgb_to_linear(x)  # (B, 3, H, W)
    angles = [angle if angle is not None else _uniform(generator, 0, 2 * math.pi) for _ in range(x.shape[0])]
    gains = torch.stack([cast_gains(strength, a) for a in angles]).to(x)  # (B, 3)
    return linear_to_srgb(lin * gains.view(-1, 3, 1, 1))


def lowlight(x: torch.Tensor, level: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``level`` stops under-exposed with phone sensor noise, saved as JPEG quality 90."""
    return darken(x, level, generator, jpeg_quality=LOWLIGHT_JPEG_QUALITY)


@dataclass(frozen=True)
class LightMix(Config):
    """How often each effect of the training mix is drawn (the defaults are stages 1 and 2 of light-vae).

    ``uneven_prob``: share of the under-exposures lit unevenly (a smooth random field of up to ``uneven_stops``
    more darkness across the picture, as a night scene lit by a few lamps), which a single global gain cannot
    undo."""

    cast_prob: float = 0.5
    haze_prob: float = 0.5
    dark_prob: float = 0.5
    max_stops: float = 4.5
    uneven_prob: float = 0.0
    uneven_stops: float = 2.0


def _stops(x: torch.Tensor, generator: torch.Generator | None, mix: LightMix) -> float | torch.Tensor:
    """The under-exposure of one (1, 3, H, W) image: a number of stops, or a (1, 1, H, W) map of them."""
    if torch.rand((), generator=generator).item() < 0.15:
        return -_uniform(generator, 0.3, 1.0)  # over-exposed
    stops = _uniform(generator, 1.0, mix.max_stops)
    if mix.uneven_prob == 0 or torch.rand((), generator=generator).item() >= mix.uneven_prob:
        return stops
    coarse = torch.rand((1, 1, 3, 3), generator=generator, dtype=x.dtype).to(x.device)  # (1, 1, 3, 3)
    field = F.interpolate(coarse, size=x.shape[-2:], mode="bicubic", align_corners=True)  # (1, 1, H, W)
    field = (field - field.amin()) / (field.amax() - field.amin()).clamp(min=1e-6)  # 0: where the lamp is; 1: darkest
    return stops + _uniform(generator, 0.5, mix.uneven_stops) * field


def _one_light_degradation(
    x: torch.Tensor, generator: torch.Generator | None, identity_prob: float, mix: LightMix
) -> torch.Tensor:
    """A random mix for one (1, 3, H, W) image: each effect alone or combined, in the order light meets them."""
    if torch.rand((), generator=generator).item() < identity_prob:
        return x.clone()
    shares = torch.tensor([mix.cast_prob, mix.haze_prob, mix.dark_prob])
    while True:  # at least one effect
        on = (torch.rand(3, generator=generator) < shares).tolist()
        if any(on):
            break
    use_cast, use_haze, use_dark = on
    if use_cast:
        x = colour_cast(x, _uniform(generator, 0.2, 1.0), generator)
    if use_haze:
        if torch.rand((), generator=generator).item() < 0.5:
            x = haze(x, _uniform(generator, 0.2, 0.8), generator)
        else:
            x = flat_tone(x, _uniform(generator, 0.2, 1.0))
    if use_dark:
        stops = _stops(x, generator, mix)
        photons = math.exp(_uniform(generator, math.log(300.0), math.log(3000.0)))  # ISO varies
        quality = int(_uniform(generator, 75, 95))
        x = darken(x, stops, generator, photons=photons, jpeg_quality=quality)
    return x


def sample_light_degradation(
    x: torch.Tensor, generator: torch.Generator | None = None, identity_prob: float = 0.0, mix: LightMix | None = None
) -> torch.Tensor:
    """The training mix: per image, with probability ``identity_prob`` untouched, else a non-empty random subset
    of {colour cast (0.2-1), haze (0.2-0.8) or flat tone (0.2-1), exposure (-1 to +``max_stops`` stops with noise
    and JPEG)}, each drawn with its share in ``mix`` (default ``LightMix()``)."""
    mix = mix or LightMix()
    if x.dim() == 3:
        return _one_light_degradation(x.unsqueeze(0), generator, identity_prob, mix).squeeze(0)
    return torch.cat([_one_light_degradation(img.unsqueeze(0), generator, identity_prob, mix) for img in x])


LIGHT_DEGRADATIONS: dict[str, Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]] = {
    "lowlight": lowlight,  # level: stops under-exposed (e.g. 3.0), with sensor noise and JPEG
    "haze": lambda x, level, generator: haze(x, level, generator),  # level: haze amount 0-1
    "colour_cast": lambda x, level, generator: colour_cast(x, level, generator),  # level: strength 0-1
    "light_auto": lambda x, level, generator: sample_light_degradation(x, generator),  # level ignored
}
