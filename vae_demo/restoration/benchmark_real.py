"""The benchmark rows beyond simulated noise and a supervised VAE: the ``real`` task's pairs of photos with real
camera noise and a clean reference of the same scene, and the DivNoising rows (trained on noisy images only: the
bundled model, or one fitted to each noisy input alone), which serve both ``real`` and Gaussian ``denoise``.

A folder of pairs holds ``noisy/NAME`` and ``clean/NAME`` (PolyU-Canon5D2: one shot at ISO 3200-6400 and the
mean of many shots of the same static scene, Xu et al. 2018). Nothing is added: the noisy photo is the input,
as a camera gave it, and every method is blind (the VAE's Auto and Noise paths, DivNoising and the classical
denoisers get the project's noise estimate; ``*_oracle`` rows the sigma that scores best on the clean photo).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vae_demo.core.hub import load_checkpoint
from vae_demo.core.images import IMAGE_SUFFIXES
from vae_demo.restoration.divnoising import Denoised, denoise, fit_to_image, match_noise, mode_x8, trained_sigma
from vae_demo.restoration.noise_models import GaussianNoise, estimate_noise_model
from vae_demo.restoration.restore import estimate_noise_sigma

REAL_METHODS = "noisy,vae,vae_noise,divnoising_mode,bm3d,nlm,bm3d_oracle,nlm_oracle"
# The bundled model (mean of K samples / decoded at the posterior means), or one fitted to this image alone.
DIVNOISING_METHODS = ("divnoising", "divnoising_mode", "divnoising_x8", "divnoising_fit", "divnoising_fit_x8")
DIVNOISING_TASKS = ("denoise", "real")


def divnoising_model(chosen: list[str], task: str, checkpoint: str):
    """The bundled DivNoising VAE when a DivNoising method is asked for (they denoise Gaussian noise, or a real
    photo's noise at the estimated sigma, only)."""
    wanted = [m for m in chosen if m in DIVNOISING_METHODS]
    if wanted and task not in DIVNOISING_TASKS:
        raise SystemExit(f"{', '.join(wanted)} only denoise (--task {' or '.join(DIVNOISING_TASKS)}), not {task}")
    if not {"divnoising", "divnoising_mode", "divnoising_x8"} & set(chosen):
        return None
    if not (Path(checkpoint) / "model.safetensors").is_file():
        raise SystemExit(
            f"the method divnoising needs the trained checkpoint {checkpoint} (model.safetensors is missing): "
            "train it (README, Training: vae-demo make-noisy, then vae-demo train --config "
            "configs/divnoising-vae.json) or leave divnoising out of --methods"
        )
    return load_checkpoint(checkpoint, "cpu")


def run_divnoising(
    method: str, model, y: torch.Tensor, sigma: float | None, k: int, seed: int, fit_seconds: float
) -> tuple[torch.Tensor, Denoised | None]:
    """(estimate (1, C, H, W), Denoised or None) of the bundled model or of one fitted to ``y`` alone (``_fit``):
    the mean of ``k`` samples; ``_mode``: decoded at the posterior means, no sample drawn; ``_x8``: that
    decode averaged over the 8 flips and rotations of the input. ``sigma`` None (a real photo): as the app
    does, the bundled model is told the estimated sigma and a fit learns the noise model estimated from it."""
    if method.startswith("divnoising_fit"):
        noise = estimate_noise_model(y) if sigma is None else GaussianNoise(sigma / 255)
        model = fit_to_image(y, noise, seconds=fit_seconds, seed=seed)
        back = None
    else:
        told = max(estimate_noise_sigma(y), 0.5) if sigma is None else sigma
        y, back = match_noise(y, told, trained_sigma(model) or told)
    if method.endswith("_x8"):
        out, estimate = None, mode_x8(model, y)
    else:
        out = denoise(model, y, k=0 if method == "divnoising_mode" else k, seed=seed)
        estimate = out.mode if method == "divnoising_mode" else out.mean
    return back(estimate) if back else estimate, out


def _read(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L" if im.mode in ("L", "I;16", "I", "1") else "RGB"))
    except (OSError, ValueError) as err:  # a benchmark scores every pair: a broken one stops it, in one line
        raise SystemExit(f"{path} cannot be read as an image ({err}); remove it or fix it") from None


def load_pairs(folder: str | Path, limit: int | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, clean, noisy) of the first ``limit`` pairs of ``folder`` by name, as float arrays in [0, 1]
    shaped (H, W) or (H, W, 3). A noisy photo without its clean reference, or one of another size, stops it."""
    folder = Path(folder)
    noisy_dir, clean_dir = folder / "noisy", folder / "clean"
    if not (noisy_dir.is_dir() and clean_dir.is_dir()):
        raise SystemExit(f"no pairs at {folder}: the real task needs {folder}/noisy and {folder}/clean")
    names = sorted(p.name for p in noisy_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not names:
        raise SystemExit(f"no images in {noisy_dir}")
    pairs = []
    for name in names:
        if not (clean_dir / name).is_file():
            raise SystemExit(f"{noisy_dir / name} has no clean reference {clean_dir / name}")
        clean, noisy = _read(clean_dir / name), _read(noisy_dir / name)
        if clean.shape != noisy.shape:
            raise SystemExit(f"{name}: the clean photo is {clean.shape}, the noisy one {noisy.shape}")
        pairs.append((name, (clean / 255.0).astype(np.float32), (noisy / 255.0).astype(np.float32)))
    return pairs
