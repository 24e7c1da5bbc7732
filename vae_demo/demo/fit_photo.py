"""The Denoise tab's "Learn from this photo alone": a small DivNoising VAE fitted to one noisy photo, live.

``fit_photo`` trains on random patches of the noisy photo for a time budget and yields a ``FitFrame``
about every 2 s (the loss curve and a preview of the current estimate), then one with the results: the
estimate (decoded at the posterior means, averaged over the 8 flips and rotations: its best on Set12), the
MMSE estimate (the mean of ``MMSE_SAMPLES`` posterior samples), K of those samples and their per-pixel
std, beside what the classical method, the supervised restoration VAE and, when installed, the bundled
``divnoising-vae`` make of the same noisy input (PSNR / SSIM when the noise was simulated).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from vae_demo.catalog import DIVNOISING_MODEL
from vae_demo.core.device import make_generator
from vae_demo.core.hub import CheckpointError, load_model
from vae_demo.core.images import to_uint8
from vae_demo.core.parts import array_sha256
from vae_demo.demo import photos
from vae_demo.demo.common import figure_to_array, heat_map, image_metrics, number, pyplot
from vae_demo.restoration import problems
from vae_demo.restoration.degradations import degrade
from vae_demo.restoration.divnoising import denoise, fitting, match_noise, mode_x8, preview, trained_sigma
from vae_demo.restoration.noise_models import GaussianNoise, NoiseModel, PoissonGaussianNoise, estimate_noise_model
from vae_demo.restoration.restore import estimate_noise_sigma

MIN_SECONDS, DEFAULT_SECONDS, MAX_SECONDS = 1, 60, 300  # the time budget's slider
FIT_SIDE = 1024  # a bigger photo is learned from and denoised in its central FIT_SIDE x FIT_SIDE pixels
PREVIEW_SIDE = 384  # the preview while training shows at most the central 384 x 384 pixels (a third of a second)
MMSE_SAMPLES = 16  # posterior samples averaged into the estimate (the gallery shows K of them)
BUNDLED = DIVNOISING_MODEL
SAW = {  # what each method saw in training, as the page says it
    "classical": "no training: it averages similar patches of this photo",
    "supervised": "thousands of clean photos with noise added, so it was shown the answers",
    "fit": "only this noisy photo, for the time budget",
    "bundled": "only noisy copies of 400 photos (Train400 with Gaussian noise, sigma 25), never a clean image",
}


@dataclass
class FitFrame:
    """What the page shows: during training the first three fields, at the end all of them."""

    status: str
    curve: np.ndarray  # negative ELBO and KL per pixel against steps
    estimate: np.ndarray  # the preview while training; the MMSE estimate at the end
    classical: np.ndarray | None = None
    supervised: np.ndarray | None = None
    bundled: np.ndarray | None = None  # None also when the bundled model is not installed
    gallery: list = field(default_factory=list)
    heat: np.ndarray | None = None
    rows: list = field(default_factory=list)
    download: str | None = None
    done: bool = False


def _other_methods(degraded: torch.Tensor, noise: str, sigma: float | None, served: float | None, seed: int):
    """(classical, supervised VAE, bundled DivNoising or None, why not) for the noisy photo. None of them
    depends on the fit, so a second fit of the same noisy photo (a longer budget, a stopped run) reuses them."""
    key = (array_sha256(degraded), tuple(degraded.shape), noise, sigma, served, seed, bundled_model())
    hit = _OTHERS.get(key)
    if hit is None:
        row = problems.noise(noise)
        vae = photos.run_vae(degraded, 0, seed, None, row.model, False, noise=noise, level=served)
        classical_out = photos.classical_baseline(
            row.classical, degraded, row.degradation or "gaussian_noise", vae.noise_sigma
        )
        hit = (classical_out, vae.mode, *_bundled(degraded, noise, sigma))
        _OTHERS.clear()  # one photo's results kept: a few megabytes
        _OTHERS[key] = hit
    return hit


_OTHERS: dict[tuple, tuple] = {}


@lru_cache(maxsize=1)
def bundled_model():
    """The bundled divnoising-vae, or None when its checkpoint is not installed."""
    try:
        return load_model(BUNDLED, device="cpu")
    except CheckpointError:
        return None


def noise_model_for(noise: str, level: float, blind: bool, y: torch.Tensor) -> tuple[NoiseModel, str]:
    """The likelihood of the fit: the noise that was added when it is told, else one fitted to the photo."""
    if noise == "salt_and_pepper":
        raise ValueError(
            "DivNoising needs a noise model it can write down (Gaussian or Poisson); salt-and-pepper noise is "
            "not one: choose Gaussian, Poisson or the photo's own noise."
        )
    if blind or noise == "real":
        model = estimate_noise_model(y)
        return model, f"{model.describe()}, estimated from the photo"
    if noise == "poisson":  # y = Poisson(peak x) / peak: Var[y | x] = x / peak
        return PoissonGaussianNoise(1 / level, 0.0), f"Poisson, peak {level:g} photons (told)"
    return GaussianNoise(level / 255), f"Gaussian, sigma {level:g} (told)"


def _curve(history: list[tuple[int, float, float]]) -> np.ndarray:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.2), dpi=100)
    steps = [h[0] for h in history]
    ax.plot(steps, [h[1] for h in history], label="-ELBO = -log p(noisy | s) + KL", linewidth=2)
    ax.plot(steps, [h[2] for h in history], label="KL(q(z | noisy) || p(z))")
    ax.set(xlabel="training step", ylabel="nats per pixel", title="Learning from this photo alone")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return figure_to_array(fig)


def _centre(x: torch.Tensor, side: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return x[..., top : top + side, left : left + side]


def _bundled(y: torch.Tensor, noise: str, sigma: float | None) -> tuple[torch.Tensor | None, str]:
    """The bundled model's estimate (decoded at the posterior means, its best on Set12: README, DivNoising),
    or None and the sentence that says why there is none."""
    model = bundled_model()
    if model is None:
        return None, (
            f"The bundled {BUNDLED} (trained on noisy photos only) is not installed: train it with "
            f"`vae-demo train --config configs/{BUNDLED}.json` (README, Training)."
        )
    trained = trained_sigma(model)
    if noise == "poisson" or trained is None:
        return None, f"The bundled {BUNDLED} knows Gaussian noise only, so it is not shown for this noise."
    sigma = estimate_noise_sigma(y) if sigma is None else sigma
    x, back = match_noise(y, max(sigma, 0.5), trained)
    return back(denoise(model, x, k=0).mode), ""


def _final_status(steps: int, stopped: bool, measured: bool) -> str:
    """The last status: how the training ended first ("Stopped early" or "Done"), then what the results are and
    what each method saw in training (the caller adds the bundled model's)."""
    head = "Stopped early" if stopped else "Done"
    return (
        f"{head}: learned from this photo alone for {steps} step{'s' * (steps != 1)}; the estimate is decoded at the "
        f"posterior means and averaged over 8 flips and rotations; the samples and their spread come from "
        f"{MMSE_SAMPLES} posterior samples."
        + ("" if measured else f" {photos.NO_REFERENCE[0].upper()}{photos.NO_REFERENCE[1:]}.")
        + f" What each method saw in training: classical, {SAW['classical']}; supervised VAE, {SAW['supervised']}; "
        f"this DivNoising, {SAW['fit']}"
    )


def fit_photo(
    image=None,
    noise: str = "gaussian",
    level: float = 25.0,
    blind: bool = False,
    seconds: float = DEFAULT_SECONDS,
    k: int = 4,
    seed: int = 0,
    should_stop: Callable[[], bool] | None = None,
    every: float = 2.0,
) -> Iterator[FitFrame]:
    """Fit a DivNoising VAE to the noisy photo (``noise`` added to a clean one, or ``real``: its own noise).

    ``should_stop()`` True ends the training early; the results then come from what it learned so far.
    """
    row = problems.noise(noise)
    level = number(level, "The noise level", *row.level_range)
    seconds = number(seconds, "The time budget", MIN_SECONDS, MAX_SECONDS)
    k = number(k, "The number of samples", 0, MMSE_SAMPLES, integer=True)
    seed = number(seed, "The seed", 0, 2**31 - 1, integer=True)
    photo = photos.load_photo(image)
    h, w = photo.shape[-2:]
    note = ""
    if max(h, w) > FIT_SIDE:
        photo = _centre(photo, FIT_SIDE)
        note = f" The photo is {w}x{h}: this learns from and denoises its central {FIT_SIDE}x{FIT_SIDE} pixels."
    if row.degradation is None:
        clean, degraded = None, photo
    else:
        clean, degraded = photo, degrade(photo, row.degradation, row.physical_level(level), make_generator(seed))
    likelihood, told = noise_model_for(noise, level, blind, degraded)
    history: list[tuple[int, float, float]] = []
    stopped = False
    for progress in fitting(degraded, likelihood, seconds, seed=seed, every_s=every):
        losses = progress.losses
        if losses:
            history.append((progress.step, losses["nll"] + losses["kl"], losses["kl"]))
        if not progress.model.training:  # the last one: the model is trained
            break
        if should_stop is not None and should_stop():
            stopped = True
            break
        yield FitFrame(
            status=(
                f"Learning from this photo alone: {progress.elapsed:.0f} of {seconds:.0f} s, step {progress.step}, "
                f"-ELBO {history[-1][1]:.3f} nats per pixel. The preview decodes the posterior means.{note}"
            ),
            curve=_curve(history),
            estimate=to_uint8(preview(progress.model, _centre(degraded, PREVIEW_SIDE))[0]),
        )
    model, steps = progress.model, progress.step
    if steps == 0:
        yield FitFrame(
            status="Stopped before it had learned anything: press the button again.",
            curve=_curve([]),
            estimate=to_uint8(_centre(degraded, PREVIEW_SIDE)[0]),
            done=True,
        )
        return
    yield FitFrame(
        status=(
            f"Learned for {steps} step{'s' * (steps != 1)}; now drawing {MMSE_SAMPLES} posterior samples "
            "and running the other methods."
        ),
        curve=_curve(history),
        estimate=to_uint8(preview(model, _centre(degraded, PREVIEW_SIDE))[0]),
    )
    sigma = level if noise == "gaussian" and not blind else None  # else estimated, as the Denoise button does
    served = None if blind or row.degradation is None else row.physical_level(level)  # told to the supervised VAE
    yield _results(model, steps, clean, degraded, noise, sigma, served, k, seed, told, history, note, stopped)


def _results(
    model, steps, clean, degraded, noise, sigma, served, k, seed, told, history, note, stopped=False
) -> FitFrame:
    """The last frame: the fit's estimate (x8 at the posterior means) and MMSE estimate, samples and spread beside
    the other methods; PSNR / SSIM rows only when there is a clean original to compare with."""
    row = problems.noise(noise)
    out = denoise(model, degraded, k=MMSE_SAMPLES, seed=seed)
    estimate = mode_x8(model, degraded)  # Set12 sigma 25, 60-s fits: 28.44 dB (the sample mean: 27.99, README)
    classical_out, supervised, bundled, why_not = _other_methods(degraded, noise, sigma, served, seed)
    candidates = [
        ("degraded input", degraded),
        (f"classical: {row.classical}", classical_out),
        (f"supervised VAE ({row.model}, mode)", supervised),
        ("DivNoising, this photo alone (posterior means, x8)", estimate),
        (f"DivNoising, this photo alone (mean of {MMSE_SAMPLES} samples)", out.mean),
    ]
    if bundled is not None:
        candidates.append((f"DivNoising, bundled {BUNDLED} (at the posterior means)", bundled))
    rows = [[label, *image_metrics(clean, x)] for label, x in candidates] if clean is not None else []
    rows += [
        [f"noise model: {told}", None, None],
        ["training steps on this photo", steps, None],
        ["KL per image (nats): what the latents carry", round(out.kl_per_image, 1), None],
        ["spread of the samples (mean std, 0-255)", round(float(out.std.mean()) * 255, 2), None],
    ]
    saw = f"; bundled DivNoising, {SAW['bundled']}." if bundled is not None else f". {why_not}"
    status = _final_status(steps, stopped, clean is not None) + saw + note
    return FitFrame(
        status=status,
        curve=_curve(history),
        estimate=to_uint8(estimate[0]),
        classical=to_uint8(classical_out[0]),
        supervised=to_uint8(supervised[0]),
        bundled=None if bundled is None else to_uint8(bundled[0]),
        gallery=[(photos.gallery_image(s), f"sample {i + 1}") for i, s in enumerate(out.samples[:k])],
        heat=heat_map(out.std[0], 1),
        rows=rows,
        download=photos.save_png(estimate, "divnoising-fit"),
        done=True,
    )
