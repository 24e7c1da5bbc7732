"""The restoration benchmark protocol: the VAE beside classical methods on the same degraded inputs.

Every image of a folder (sorted by name; grey images stay grey) is degraded once with one generator
seeded by ``seed``, every method restores those same inputs, and the report gives the mean PSNR,
mean SSIM and seconds per image of each. Outputs are clipped to [0, 1] and rounded to 8 bits against
the 8-bit original; denoising and the other tasks are scored on the full image in its own colour
space; SR (``level`` = scale) on the Y channel (ITU-R BT.601, as MATLAB's rgb2ycbcr) with ``scale``
pixels cropped from each border, from the bicubic upsampling of the bicubic (antialiased)
downsampling. Gaussian noise is added in floating point and the noisy image clipped to [0, 1].
Poisson's level is the peak photon count, salt and pepper's the percent of pixels hit, ``camera``'s
the std at mid-grey of Poisson-Gaussian noise then saved as JPEG q85; ``camera`` is blind: no method
is told its level (the classical ones get ``skimage.restoration.estimate_sigma``).

``vae`` is what the app shows as the VAE's result for the task's problem (``serving``: the model
``problems.py`` names, the Anscombe transform for Poisson, impulses filled for salt and pepper, the
blind path that keeps brightness and colour for ``camera``); ``vae_x8`` the same averaged over the 8
flips and quarter turns; ``vae_mean`` the mean of K posterior samples. On Gaussian denoising the report
also gives the uncertainty's calibration: the Spearman rank correlation between the per-pixel std of K
samples and the mode's absolute error, and the share of pixels whose error is within two std.

``benchmarks/restore.py`` (one run) and ``benchmarks/restore_table.py`` (the markdown table, from
``benchmark_report``) are command lines over this module, and so is ``vae-demo eval`` on a restoration
checkpoint.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vae_demo.core.device import make_generator
from vae_demo.core.hub import load_checkpoint, load_model
from vae_demo.core.images import IMAGE_SUFFIXES
from vae_demo.core.metrics import psnr, ssim
from vae_demo.restoration import problems, serving
from vae_demo.restoration.classical import METHODS, run_classical
from vae_demo.restoration.degradations import DEGRADATIONS, degrade, noise_sigma_of, resize
from vae_demo.restoration.divnoising import denoise, fit_to_image, match_noise, mode_x8, trained_sigma
from vae_demo.restoration.noise_models import GaussianNoise
from vae_demo.restoration.restore import Restoration, posterior_stats, restore

BENCH_TASKS = ("denoise", "poisson", "salt_and_pepper", "camera", "jpeg", "sr", "deblur", "lowlight")
# The app's problem behind each task: a kind of noise of the Denoise tab, or an Enhance problem.
NOISE_KIND = {"denoise": "gaussian", "poisson": "poisson", "salt_and_pepper": "salt_and_pepper", "camera": "real"}
ENHANCE_PROBLEM = {"jpeg": "jpeg", "sr": "x2", "deblur": "blur", "lowlight": "lowlight"}
VAE_METHODS = ("vae", "vae_x8", "vae_mean")
# Trained on noisy images only: the bundled model (mean of K samples / decoded at the posterior means), or one
# fitted to this image alone.
DIVNOISING_METHODS = ("divnoising", "divnoising_mode", "divnoising_x8", "divnoising_fit", "divnoising_fit_x8")
DEFAULT_METHODS = {
    "denoise": "noisy,vae,bm3d,nlm,tv",
    "poisson": "noisy,vae,nlm",
    "salt_and_pepper": "noisy,vae,median",
    "camera": "noisy,vae,nlm,bm3d",
    "jpeg": "noisy,vae,tv",
    "sr": "bicubic,vae",
    "deblur": "noisy,vae,richardson_lucy,unsharp",
    "lowlight": "noisy,vae,gamma,clahe",
}


def load_images(folder: Path, limit: int | None) -> list[tuple[str, np.ndarray]]:
    """(file name, uint8 HxW or HxWx3 array) of the first ``limit`` images of ``folder``, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SystemExit(f"no image folder at {folder}: give --data a folder of clean images")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not paths:
        raise SystemExit(f"no images in {folder}")
    out = []
    for p in paths:
        try:
            im = Image.open(p)
            im.load()
        except (OSError, ValueError) as err:  # a benchmark scores every image: a broken one stops it, in one line
            raise SystemExit(f"{p} cannot be read as an image ({err}); remove it or fix it") from None
        out.append((p.name, np.asarray(im.convert("L" if im.mode in ("L", "I;16", "I", "1") else "RGB"))))
    return out


def to_tensor(a: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]


def to_array(t: torch.Tensor) -> np.ndarray:
    a = t[0].permute(1, 2, 0).cpu().numpy()
    return a[..., 0] if a.shape[-1] == 1 else a


def quantise(a: np.ndarray) -> np.ndarray:
    return np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)


def y_channel(a: np.ndarray) -> np.ndarray:
    """BT.601 luma on the 16-235 scale, as MATLAB's rgb2ycbcr (the SR convention)."""
    if a.ndim == 2:
        return a.astype(np.float64)
    a = a.astype(np.float64) / 255
    return 16 + 65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]


def score(out: np.ndarray, ref: np.ndarray, task: str, scale: int) -> tuple[float, float]:
    """(PSNR, SSIM) of an output in [0, 1] against the reference, both rounded to 8 bits first."""
    out, ref = quantise(out), quantise(ref)
    if task == "sr":
        out, ref = y_channel(out), y_channel(ref)
        out, ref = out[scale:-scale, scale:-scale], ref[scale:-scale, scale:-scale]
    return psnr(ref / 255, out / 255, rounded=False), ssim(ref, out)


def degrade_one(clean: np.ndarray, task: str, level: float, g: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(reference, degraded input at the reference's size)."""
    x = to_tensor(clean / 255.0)
    if task == "sr":
        s = round(level)
        h, w = (d - d % s for d in x.shape[-2:])
        x = x[..., :h, :w]
        y = resize(degrade(x, "sr", s, g), (h, w))
    else:
        y = degrade(x, task, level / 100 if task == "salt_and_pepper" else level, g)
    return to_array(x), to_array(y)


def app_model(task: str, level: float) -> str:
    """The checkpoint the app uses for the task's problem (``problems.py``)."""
    if task in NOISE_KIND:
        return problems.NOISES[NOISE_KIND[task]].model
    key = "x4" if task == "sr" and round(level) >= 4 else ENHANCE_PROBLEM[task]
    return problems.PROBLEMS[key].model


def run_vae(
    model, task: str, level: float, y: torch.Tensor, blind: bool, samples: int = 0, seed: int = 0, ensemble=False
) -> Restoration:
    """The VAE's result as the app serves the task's problem (``blind``: the model is not told the problem)."""
    opts = {"samples": samples, "generator": make_generator(seed), "ensemble": ensemble}
    sigma = noise_sigma_of(task, level)
    if blind:
        return restore(model, y, noise_sigma=sigma, condition=None, **opts)
    if task in NOISE_KIND:
        told = level if task in ("denoise", "poisson") else None
        return serving.denoise(model, y, NOISE_KIND[task], told, **opts)
    return serving.fix(model, y, ENHANCE_PROBLEM[task], sigma, **opts)


def calibration(r: Restoration, ref: torch.Tensor) -> dict[str, float]:
    """How well the samples' per-pixel std predicts the mode's error: Spearman rank correlation, and the
    share of pixels whose absolute error is at most two std."""
    from scipy.stats import spearmanr

    err, std = (r.mode - ref).abs().flatten().numpy(), r.std.flatten().numpy()
    rho = spearmanr(std, err).statistic
    return {"spearman": float(0.0 if np.isnan(rho) else rho), "coverage_2std": float((err <= 2 * std).mean())}


def _divnoising_model(chosen: list[str], task: str, checkpoint: str):
    """The bundled DivNoising VAE when a DivNoising method is asked for (they denoise Gaussian noise only)."""
    wanted = [m for m in chosen if m in DIVNOISING_METHODS]
    if wanted and task != "denoise":
        raise SystemExit(f"{', '.join(wanted)} only denoise (--task denoise), not {task}")
    if not {"divnoising", "divnoising_mode", "divnoising_x8"} & set(chosen):
        return None
    if not (Path(checkpoint) / "model.safetensors").is_file():
        raise SystemExit(
            f"the method divnoising needs the trained checkpoint {checkpoint} (model.safetensors is missing): "
            "train it (README, Training: vae-demo make-noisy, then vae-demo train --config "
            "configs/divnoising-vae.json) or leave divnoising out of --methods"
        )
    return load_checkpoint(checkpoint, "cpu")


def _run_divnoising(method: str, model, inp: np.ndarray, sigma: float, k: int, seed: int, fit_seconds: float):
    """(restored array, Denoised or None) of the bundled model or of one fitted to ``inp`` alone (``_fit``):
    the mean of ``k`` samples; ``_mode``: decoded at the posterior means, no sample drawn; ``_x8``: that
    decode averaged over the 8 flips and rotations of the input."""
    y = to_tensor(inp)
    if method.startswith("divnoising_fit"):
        model = fit_to_image(y, GaussianNoise(sigma / 255), seconds=fit_seconds, seed=seed)
        back = None
    else:
        y, back = match_noise(y, sigma, trained_sigma(model) or sigma)
    if method.endswith("_x8"):
        out, estimate = None, mode_x8(model, y)
    else:
        out = denoise(model, y, k=0 if method == "divnoising_mode" else k, seed=seed)
        estimate = out.mode if method == "divnoising_mode" else out.mean
    return to_array(back(estimate) if back else estimate), out


def run_benchmark(
    task: str,
    level: float,
    data: str | Path,
    methods: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    checkpoint: str | None = None,
    samples: int = 8,
    blind: bool = False,
    divnoising_checkpoint: str = "checkpoints/divnoising-vae",
    fit_seconds: float = 60.0,
    mmse_samples: int = 16,
) -> dict:
    """One benchmark run: the report (JSON-ready), printing each method's line as it finishes.

    ``methods`` is comma-separated (default: ``DEFAULT_METHODS[task]``); ``checkpoint`` a restoration
    VAE folder (default: the model the app uses for the task, ``app_model``); ``samples`` is K for
    ``vae_mean`` and the calibration; ``blind`` does not tell the VAE the task (the noise level is
    still given) and serves it with the plain ``restore``.
    ``divnoising`` is the DivNoising VAE of ``divnoising_checkpoint`` (trained on noisy images only; an
    input of a higher sigma is brought to its own first, ``divnoising.match_noise``); ``divnoising_fit``
    fits one to each noisy input alone for ``fit_seconds``. Both report the mean of ``mmse_samples``
    posterior samples; ``divnoising_mode`` is the bundled model decoded at the posterior means instead, and
    ``divnoising_x8`` / ``divnoising_fit_x8`` that decode averaged over the 8 flips and rotations.
    """
    if task not in BENCH_TASKS:
        raise SystemExit(f"unknown task {task!r}; choose one of {', '.join(BENCH_TASKS)}")
    chosen = (methods or DEFAULT_METHODS[task]).split(",")
    unknown = [m for m in chosen if m not in {"noisy", *VAE_METHODS, *DIVNOISING_METHODS, *METHODS}]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}")
    uses_vae = bool(set(VAE_METHODS) & set(chosen))
    name = checkpoint or app_model(task, level)
    model = None
    if uses_vae:
        model = load_checkpoint(checkpoint, "cpu") if checkpoint else load_model(name, device="cpu")
    divnoising_model = _divnoising_model(chosen, task, divnoising_checkpoint)
    images = load_images(Path(data), limit)
    g = make_generator(seed)
    cases = [(name, *degrade_one(a, task, level, g)) for name, a in images]
    sigma = noise_sigma_of(task, level)
    scale = round(level) if task == "sr" else 0
    told = None if blind else DEGRADATIONS[task].condition

    results = {}
    for method in chosen:
        per_image, seconds, stats, calib = [], [], [], []
        for image, ref, inp in cases:
            start = time.perf_counter()
            if method == "noisy":
                out = inp
            elif method in VAE_METHODS:
                k = samples if method == "vae_mean" else 0
                r = run_vae(model, task, level, to_tensor(inp), blind, k, seed, ensemble=method == "vae_x8")
                out = to_array(r.mean if k else r.mode)
            elif method in DIVNOISING_METHODS:
                out, den = _run_divnoising(method, divnoising_model, inp, sigma, mmse_samples, seed, fit_seconds)
                if den is not None and method != "divnoising_mode":  # the others draw no sample
                    stats.append({"kl_per_image": den.kl_per_image, "sample_std_255": den.std.mean().item() * 255})
            else:
                out = run_classical(method, inp, task, level)
            seconds.append(time.perf_counter() - start)
            if method == "vae" and (task in ENHANCE_PROBLEM or task == "denoise"):
                # not timed: how much the latent carries, and how much samples differ
                stats.append(
                    posterior_stats(model, to_tensor(ref), to_tensor(inp), sigma, 4, make_generator(seed), told)
                )
            if method == "vae" and task == "denoise" and samples > 1:  # not timed: is the std map calibrated?
                r = run_vae(model, task, level, to_tensor(inp), blind, samples, seed)
                calib.append(calibration(r, to_tensor(ref)))
            psnr, ssim = score(out, ref, task, scale)
            per_image.append({"name": image, "psnr": round(psnr, 4), "ssim": round(ssim, 5)})
        results[method] = {
            "psnr": round(statistics.fmean(r["psnr"] for r in per_image), 3),
            "ssim": round(statistics.fmean(r["ssim"] for r in per_image), 4),
            "sec_per_image": round(statistics.fmean(seconds), 4),
            "per_image": per_image,
        }
        if stats:  # vae: KL(q(z|clean, degraded) || p(z|degraded)), spread of 4 samples; DivNoising: KL(q(z|y) || p(z))
            results[method]["kl_per_image"] = round(statistics.fmean(s["kl_per_image"] for s in stats), 2)
            results[method]["sample_std_255"] = round(statistics.fmean(s["sample_std_255"] for s in stats), 3)
        print(
            f"  {method:16s} PSNR {results[method]['psnr']:7.3f}  SSIM {results[method]['ssim']:.4f}  "
            f"{results[method]['sec_per_image']:.3f} s/image",
            flush=True,
        )
        if calib:  # the uncertainty map against the actual error, K samples per image
            results[method]["calibration_samples"] = samples
            results[method]["std_error_spearman"] = round(statistics.fmean(c["spearman"] for c in calib), 4)
            results[method]["coverage_2std"] = round(statistics.fmean(c["coverage_2std"] for c in calib), 4)
        if stats:
            print(
                f"  {'':16s} KL per image {results[method]['kl_per_image']:.1f} nats, "
                f"sample spread {results[method]['sample_std_255']:.2f} (0-255)",
                flush=True,
            )
        if calib:
            print(
                f"  {'':16s} std vs |error|: Spearman {results[method]['std_error_spearman']:.3f}, "
                f"{results[method]['coverage_2std'] * 100:.1f}% of pixels within 2 std ({samples} samples)",
                flush=True,
            )

    return {
        "task": task,
        "level": level,
        "data": str(data),
        "n_images": len(cases),
        "blind": blind,
        "seed": seed,
        "checkpoint": name if model else None,
        "divnoising_checkpoint": divnoising_checkpoint if divnoising_model else None,
        "fit_seconds": fit_seconds if {"divnoising_fit", "divnoising_fit_x8"} & set(chosen) else None,
        "mmse_samples": mmse_samples if set(DIVNOISING_METHODS) & set(chosen) else None,
        "threads": torch.get_num_threads(),
        "methods": results,
    }
