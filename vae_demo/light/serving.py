"""How the app and the CLI fix a photo's light and colour: one call, ``enhance_light``.

The ``LightVAE`` is blind (one model for every problem); the problem decides what of its answer is kept:

- ``lowlight`` ("Too dark"): only its exposure: the photo times the one gain in linear light that gives it the
  answer's mean linear light (``keep_exposure``; each sample gets its own gain), as under-exposure is one gain in
  linear light; the person asks for a brighter photo: when the mode raises the mean linear light by less than a
  third of a stop (``BRIGHTER_BY``), the brightest of 8 exposures drawn from p(z | photo) is taken (``_brighter``);
- ``light_auto`` ("Auto light & colour") and ``haze`` ("Flat / hazy"): its whole answer;
- ``colour_cast`` ("Colour cast"): only its colour: each pixel keeps the photo's own luminance (linear light).

After ``lowlight`` and ``light_auto``, brightening has lifted the sensor noise: when the result's blind noise level
(``noise_level``) is at least ``DENOISE_FROM``, the camera-noise denoiser (``DENOISER``, blind, the photo's brightness
and colour kept) cleans it.

Chosen on the 32 held-out CBSD432 validation photos (full resolution, ``benchmarks/restore.py --split val``; the
figures are in the model card): the exposure alone scored above the whole answer at 2, 3 and 4 stops under-exposed
and under uneven (lamp-lit) darkness and darkness with a colour cast; ``camera-vae`` above ``denoise-vae`` after it.
On clean photos the noise level of textured ones reads up to 8.2 and denoising them cost up to 5.4 dB, hence
``DENOISE_FROM`` 10: no clean photo is touched. The samples get the mode's denoising as a ratio, which scored
above denoising each sample and above none.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch

from vae_demo.catalog import CAMERA_MODEL, LIGHT_MODEL, PROBLEMS
from vae_demo.light.model import LightVAE
from vae_demo.light.pipeline import LUMA, linear_to_srgb, srgb_to_linear
from vae_demo.restoration.model import RestorationVAE
from vae_demo.restoration.noise_level import noise_level
from vae_demo.restoration.restore import Restoration

LIGHT_PROBLEMS = {key: row.label for key, row in PROBLEMS.items() if row.model == LIGHT_MODEL}  # key -> label
DENOISED_PROBLEMS = ("lowlight", "light_auto")
DENOISE_FROM = 10.0  # blind noise sigma (0-255) of the brightened photo from which the denoiser runs (see above)
DENOISER = CAMERA_MODEL  # brightened sensor noise is a camera's noise
DENOISE_TILE = 512  # photos over 1 MP are denoised in tiles of this side
BRIGHTER_BY = 2 ** (1 / 3)  # "Too dark": the answer raises the photo's mean linear light by at least 1/3 stop
EXPOSURE_DRAWS = 8  # else the brightest of this many exposures drawn from p(z | photo) is taken, if brighter


@dataclass
class LightResult:
    """``enhance_light``'s answer for one photo, floats in [0, 1] (``std`` on the 0-1 scale)."""

    mode: torch.Tensor  # (3, H, W)
    samples: torch.Tensor | None  # (K, 3, H, W), None for K = 0
    std: torch.Tensor | None  # (3, H, W), None for K < 2
    how: str  # what was done, in words
    noise_sigma: float | None = None  # the sigma the denoiser was told, None when it did not run

    def as_restoration(self) -> Restoration:
        """The same answer as the restoration models give theirs (a batch of one), for the app and the CLI."""
        samples = None if self.samples is None else self.samples[:, None]  # (K, 1, 3, H, W)
        return Restoration(
            mode=self.mode[None],
            mean=None if samples is None else samples.mean(0),
            samples=samples,
            std=None if self.std is None else self.std[None],
            noise_sigma=self.noise_sigma or 0.0,
            how=self.how,
        )


@cache
def bundled_denoiser() -> RestorationVAE:
    """``DENOISER``, loaded once (the app's chain and the benchmark's oracle share it)."""
    from vae_demo.core.hub import load_model

    return load_model(DENOISER)  # type: ignore[return-value]


def keep_luminance(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``out``'s colour at ``y``'s luminance: linear ``out`` scaled per pixel so its Rec. 709 Y is ``y``'s; a colour
    that then leaves the gamut is desaturated towards the grey of that luminance until it fits."""
    w = torch.tensor(LUMA, dtype=out.dtype, device=out.device).view(3, 1, 1)
    lin_out, lin_y = srgb_to_linear(out), srgb_to_linear(y)
    target = (lin_y * w).sum(-3, keepdim=True)  # (..., 1, H, W)
    lin = lin_out * target / (lin_out * w).sum(-3, keepdim=True).clamp(min=1e-4)
    peak = lin.amax(-3, keepdim=True)
    fit = torch.where(peak > 1, (1 - target) / (peak - target).clamp(min=1e-6), torch.ones_like(peak))
    return linear_to_srgb(target + (lin - target) * fit)


def _denoise(
    denoiser: RestorationVAE, mode: torch.Tensor, samples: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None, float]:
    """The blind real-noise path of ``restoration.serving.denoise`` on the mode; each sample gets the mode's
    correction as a per-pixel ratio (sample * denoised mode / mode), as they re-light the same pixels."""
    from vae_demo.restoration.serving import denoise

    tile = DENOISE_TILE if mode.shape[-2] * mode.shape[-1] > DENOISE_TILE**2 * 4 else None  # bounded memory
    r = denoise(denoiser, mode[None], "real", tile=tile)
    clean = r.mode[0]  # (3, H, W)
    if samples is not None:
        eps = 1.0 / 255
        samples = (samples * (clean + eps) / (mode + eps)).clamp(0, 1)
    return clean, samples, r.noise_sigma


def _mean_light(x: torch.Tensor) -> float:
    return float(srgb_to_linear(x).mean())


def keep_exposure(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(``y`` re-exposed, the gains): ``y`` (3, H, W) times the one gain in linear light that gives it the mean linear
    light of each image of ``out`` ((3, H, W) or (K, 3, H, W)); gains () or (K,)."""
    lin_y = srgb_to_linear(y)
    gain = srgb_to_linear(out).mean((-3, -2, -1)) / lin_y.mean().clamp(min=1e-6)
    return linear_to_srgb(lin_y * gain[..., None, None, None]), gain


def _brighter(model: LightVAE, y: torch.Tensor, mode: torch.Tensor) -> tuple[torch.Tensor, str]:
    """For "Too dark" (the person says the photo is too dark): the mode, unless it raises the mean linear light by
    less than ``BRIGHTER_BY``; then the brightest of ``EXPOSURE_DRAWS`` exposures drawn from p(z | photo) (seed 0),
    when it is brighter than the mode. A night scene can look right to the model as it is; the draws are the
    exposures it still finds plausible."""
    gain = _mean_light(mode) / max(_mean_light(y), 1e-6)
    if gain >= BRIGHTER_BY:
        return mode, ""
    draws = model.enhance(y, samples=EXPOSURE_DRAWS, generator=torch.Generator().manual_seed(0)).samples.cpu()
    brightest = max(draws, key=_mean_light)
    if _mean_light(brightest) <= _mean_light(mode):
        return mode, ""
    return brightest, (
        f", the brightest of {EXPOSURE_DRAWS} exposures drawn from p(z | photo) (the mode brightened it only "
        f"x{gain:.2f} in linear light)"
    )


def enhance_light(
    model: LightVAE,
    image: torch.Tensor,
    problem: str = "light_auto",
    samples: int = 0,
    generator: torch.Generator | None = None,
    denoiser: RestorationVAE | str | None = DENOISER,
) -> LightResult:
    """Fix ``problem`` (a key of ``LIGHT_PROBLEMS``) in ``image``: uint8 or float in [0, 1], (3, H, W) or grey
    (1, H, W). ``samples`` draws alternative exposures / white balances from p(z | photo) with ``generator``.
    ``denoiser``: the denoiser chained after brightening (a loaded model, a checkpoint name, or None:
    never)."""
    if problem not in LIGHT_PROBLEMS:
        raise ValueError(f"unknown light problem {problem!r}; choose one of {', '.join(LIGHT_PROBLEMS)}")
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected a (3, H, W) or (1, H, W) image, got shape {tuple(image.shape)}")
    y = image.float() / 255 if image.dtype == torch.uint8 else image.float().clamp(0, 1)
    y = y.expand(3, -1, -1)  # (3, H, W)
    r = model.enhance(y, samples=samples, generator=generator)
    mode, draws = r.mode.cpu(), None if r.samples is None else r.samples.cpu()
    how = f"{LIGHT_PROBLEMS[problem]}: {model.config.name}, mode of p(x | photo)"
    sigma = None
    if problem == "lowlight":
        mode, note = _brighter(model, y, mode)
        mode, gain = keep_exposure(mode, y)
        draws = None if draws is None else keep_exposure(draws, y)[0]
        how += f"{note}; its exposure kept: the photo x{float(gain):.2f} in linear light"
    if problem == "colour_cast":
        mode = keep_luminance(mode, y)
        draws = None if draws is None else keep_luminance(draws, y)
        how += ", the photo's own luminance kept (colour only)"
    if problem in DENOISED_PROBLEMS and denoiser is not None:
        level = noise_level(mode[None])
        if level >= DENOISE_FROM:
            net = bundled_denoiser() if denoiser == DENOISER else denoiser
            if isinstance(net, str):
                from vae_demo.core.hub import load_model

                net = load_model(net)
            mode, draws, sigma = _denoise(net, mode, draws)
            how += f", then {net.config.name} at the estimated sigma {sigma:.1f}"
    std = draws.std(0) if draws is not None and len(draws) > 1 else None
    return LightResult(mode, draws, std, how, sigma)
