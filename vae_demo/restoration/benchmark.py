"""The restoration benchmark protocol: the VAE beside classical methods on the same degraded inputs.

Every image of a folder (sorted by name; grey images stay grey) is degraded once with one generator
seeded by ``seed``, every method restores those same inputs, and the report gives the mean PSNR,
mean SSIM and seconds per image of each. Outputs are clipped to [0, 1] and rounded to 8 bits against
the 8-bit original; denoising and the other tasks are scored on the full image in its own colour
space; SR (``level`` = scale) on the Y channel (ITU-R BT.601, as MATLAB's rgb2ycbcr) with ``scale``
pixels cropped from each border, from the bicubic upsampling of the bicubic (antialiased)
downsampling. Gaussian noise is added in floating point and the noisy image clipped to [0, 1]
(``noise_clip`` False: left unclipped, the protocol of published figures; the report's ``noise_clip``).
Poisson's level is the peak photon count, salt and pepper's the percent of pixels hit, ``camera``'s
the std at mid-grey of Poisson-Gaussian noise then saved as JPEG q85; ``camera`` is blind: no method
is told its level (the classical ones get the project's estimate, as the VAE: ``classical.estimated_sigma``).
``real`` scores pairs of real noisy photos against their clean references (``benchmark_real``), blind.
Tasks keep their names (``denoise``, ``sr``, ``deblur``); the degradation that simulates each, named for the
corruption (``gaussian_noise``, ``downsample``, ``gaussian_blur``), is its catalog row's (``catalog.task_degradation``).
``bm3d_oracle`` / ``nlm_oracle`` run at the sigma that scores best on the clean image (``classical.oracle``);
the report's ``classical`` says what each classical method was given, ``provenance`` where the run came from.

``vae`` is what the app shows as the VAE's result for the task's problem (``serving``: the model
the catalog names, the Anscombe transform for Poisson, impulses filled for salt and pepper, the
blind path that keeps brightness and colour for ``camera``); ``vae_x8`` the same averaged over the 8
flips and quarter turns; ``vae_mean`` the mean of K posterior samples. On Gaussian denoising the report
also gives the uncertainty's calibration: the Spearman rank correlation between the per-pixel std of K
samples and the mode's absolute error, and the share of pixels whose error is within two std.

The light tasks (``LIGHT_TASKS``: ``lowlight`` in stops under-exposed, ``haze``, ``colour_cast``, ``light_auto``)
run in ``vae_demo.light.benchmark``, the same protocol with the mean CIEDE2000 added; ``run_benchmark`` hands
them over. Reports of the former ``lowlight`` task (an exposure multiplier, no CIEDE2000) keep their layout.

The cases (images read, degraded once, scored) are ``benchmark_cases``'s. ``benchmarks/restore.py`` (one run)
and ``benchmarks/restore_table.py`` (the markdown table, from ``benchmark_report``) are command lines over this
module, and so is ``vae-demo eval`` on a restoration checkpoint.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vae_demo import catalog
from vae_demo.core.device import make_generator
from vae_demo.core.hub import load_checkpoint, load_model
from vae_demo.core.parts import array_sha256, load_part, module_sha256, save_part
from vae_demo.core.provenance import PROVENANCE_KEY, provenance
from vae_demo.restoration import serving
from vae_demo.restoration.benchmark_cases import make_cases, score, to_array, to_tensor
from vae_demo.restoration.benchmark_real import (
    DIVNOISING_METHODS,
    REAL_METHODS,
    divnoising_model,
    run_divnoising,
)
from vae_demo.restoration.classical import METHODS, ORACLE_METHODS, describe, estimated_sigma, oracle, run_classical
from vae_demo.restoration.degradations import DEGRADATIONS, noise_sigma_of
from vae_demo.restoration.restore import Restoration, posterior_stats, restore

ALL_TASKS = tuple(catalog.tasks())  # every task a problem or noise row of the catalog names
LIGHT_TASKS = catalog.light_tasks()  # lowlight, haze, colour_cast, light_auto: vae_demo.light.benchmark's
BENCH_TASKS = tuple(t for t in ALL_TASKS if t not in LIGHT_TASKS)
# The app's problem behind each task: a kind of noise of the Denoise tab, or an Enhance problem.
NOISE_KIND = {task: key for key, row in catalog.NOISES.items() for task in row.tasks}
ENHANCE_PROBLEM = {task: key for key, row in catalog.PROBLEMS.items() for task in row.tasks if task in BENCH_TASKS}
VAE_METHODS = ("vae", "vae_x8", "vae_mean", "vae_noise")  # vae_noise: the Noise path, at the estimated sigma
ORACLE_TASKS = ("denoise", "camera", "real")  # Gaussian denoisers told a sigma: an oracle sigma means something
DEFAULT_METHODS = {
    "denoise": "noisy,vae,bm3d,nlm,tv",
    "poisson": "noisy,vae,nlm",
    "salt_and_pepper": "noisy,vae,median,adaptive_median",
    "camera": "noisy,vae,nlm,bm3d",
    "real": REAL_METHODS,
    "jpeg": "noisy,vae,tv",
    "sr": "bicubic,vae",
    "deblur": "noisy,vae,richardson_lucy,unsharp",
}


def app_model(task: str, level: float) -> str:
    """The checkpoint the app uses for the task's problem (the catalog row that names the task)."""
    if task in NOISE_KIND:
        return catalog.NOISES[NOISE_KIND[task]].model
    key = "x4" if task == "sr" and round(level) >= 4 else ENHANCE_PROBLEM[task]
    return catalog.PROBLEMS[key].model


def task_sigma(task: str, level: float) -> float | None:
    """The noise std (0-255) the task's degradation adds, as the VAE is told it (None: estimated; ``real``)."""
    name = catalog.task_degradation(task)
    return None if name is None else noise_sigma_of(name, level)


def run_vae(
    model,
    task: str,
    level: float,
    y: torch.Tensor,
    blind: bool,
    samples: int = 0,
    seed: int = 0,
    ensemble=False,
    noise_path: bool = False,
) -> Restoration:
    """The VAE's result as the app serves the task's problem (``blind``: the model is not told the problem;
    ``noise_path``: the Enhance tab's Noise path, Gaussian noise at the estimated sigma)."""
    opts = {"samples": samples, "generator": make_generator(seed), "ensemble": ensemble}
    sigma = task_sigma(task, level)
    if blind:
        return restore(model, y, noise_sigma=sigma, condition=None, **opts)
    if noise_path:
        return serving.fix(model, y, "noise", None, **opts)
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


@dataclass
class BenchRun:
    """What every method of one run shares: the task, its inputs' level and the loaded models."""

    task: str
    level: float
    blind: bool
    seed: int
    samples: int  # K for vae_mean and the calibration
    model: torch.nn.Module | None  # the restoration VAE, when a vae method runs
    dn_model: torch.nn.Module | None  # the bundled DivNoising VAE, when a divnoising method runs
    mmse_samples: int
    fit_seconds: float
    parts: Path | None = None  # where each image's result is saved as it finishes (a long run resumes)

    @property
    def degradation(self) -> str | None:
        return catalog.task_degradation(self.task)

    @property
    def sigma(self) -> float | None:
        return task_sigma(self.task, self.level)

    @property
    def told(self) -> str | None:
        return None if self.blind or self.degradation is None else DEGRADATIONS[self.degradation].condition


def check_methods(task: str, chosen: list[str]) -> None:
    """A sentence (SystemExit) for an unknown method, or an oracle row on a task that has no sigma to search."""
    unknown = [m for m in chosen if m not in {"noisy", *VAE_METHODS, *DIVNOISING_METHODS, *METHODS, *ORACLE_METHODS}]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}")
    if set(ORACLE_METHODS) & set(chosen) and task not in ORACLE_TASKS:
        raise SystemExit(f"the oracle rows are for {', '.join(ORACLE_TASKS)} (Gaussian denoisers), not {task}")


def restore_one(run: BenchRun, method: str, ref: np.ndarray, inp: np.ndarray) -> tuple[np.ndarray, dict, dict | None]:
    """(output, extra per-image fields, posterior stats or None) of ``method`` on one input; the caller times it."""
    if method == "noisy":
        return inp, {}, None
    if method in VAE_METHODS:
        k = run.samples if method == "vae_mean" else 0
        r = run_vae(
            run.model,
            run.task,
            run.level,
            to_tensor(inp),
            run.blind,
            k,
            run.seed,
            method == "vae_x8",
            method == "vae_noise",
        )
        return to_array(r.mean if k else r.mode), {}, None
    if method in DIVNOISING_METHODS:
        est, den = run_divnoising(
            method, run.dn_model, to_tensor(inp), run.sigma, run.mmse_samples, run.seed, run.fit_seconds
        )
        stats = None
        if den is not None and method != "divnoising_mode":  # the others draw no sample
            stats = {"kl_per_image": den.kl_per_image, "sample_std_255": den.std.mean().item() * 255}
        return to_array(est), {}, stats
    if method in ORACLE_METHODS:  # the search is timed: it is what the oracle row costs
        out, best = oracle(ORACLE_METHODS[method], inp, ref, run.sigma or estimated_sigma(inp))
        return out, {"sigma": round(best, 2)}, None
    return run_classical(method, inp, run.degradation, run.level), {}, None


def score_image(run: BenchRun, method: str, image: str, ref: np.ndarray, inp: np.ndarray) -> dict:
    """One method on one case: its per-image row, seconds, posterior statistics and, for the VAE on Gaussian
    denoising, the calibration of its std map (neither of the last two timed)."""
    start = time.perf_counter()
    out, extra, stat = restore_one(run, method, ref, inp)
    seconds = time.perf_counter() - start
    stats, calib = [stat] if stat else [], None
    if method == "vae" and (run.task in ENHANCE_PROBLEM or run.task == "denoise"):
        g = make_generator(run.seed)  # how much the latent carries, and how much samples differ
        stats.append(posterior_stats(run.model, to_tensor(ref), to_tensor(inp), run.sigma, 4, g, run.told))
    if method == "vae" and run.task == "denoise" and run.samples > 1:  # is the std map calibrated?
        r = run_vae(run.model, run.task, run.level, to_tensor(inp), run.blind, run.samples, run.seed)
        calib = calibration(r, to_tensor(ref))
    psnr, ssim = score(out, ref, run.task, round(run.level) if run.task == "sr" else 0)
    row = {"name": image, "psnr": round(psnr, 4), "ssim": round(ssim, 5), **extra}
    return {"row": row, "seconds": seconds, "stats": stats, "calib": calib}


def method_weights(run: BenchRun, method: str) -> str | None:
    """The sha256 of the weights behind ``method``: the restoration VAE's, the DivNoising VAE's, none for the rest."""
    model = run.model if method in VAE_METHODS else run.dn_model if method in DIVNOISING_METHODS else None
    return module_sha256(model)


def part_key(run: BenchRun, method: str, weights: str | None, inp: np.ndarray) -> dict:
    """What a saved per-image result must share with this run: the task, the method, the weights of its model
    (``method_weights``), the sample counts and the input."""
    return {
        "task": run.task,
        "level": run.level,
        "blind": run.blind,
        "seed": run.seed,
        "method": method,
        "weights_sha256": weights,
        "samples": (run.samples, run.mmse_samples, run.fit_seconds),
        "input_sha256": array_sha256(inp),
    }


def score_method(run: BenchRun, method: str, cases: list) -> dict:
    """One method over every case: mean PSNR / SSIM / seconds, the per-image rows, and for the VAE the posterior
    statistics and (Gaussian denoising) the calibration of its std map. With ``run.parts`` each image's result is
    saved as it finishes and read back on a rerun (``core.parts``)."""
    weights = method_weights(run, method) if run.parts else None  # hashed once per method, not per image
    scored = []
    for image, ref, inp in cases:
        name, key = f"{method}/{Path(image).stem}", part_key(run, method, weights, inp) if run.parts else {}
        one = load_part(run.parts, name, key)
        if one is None:
            one = score_image(run, method, image, ref, inp)
            save_part(run.parts, name, key, one)
        scored.append(one)
    per_image, stats = [s["row"] for s in scored], [st for s in scored for st in s["stats"]]
    calib = [s["calib"] for s in scored if s["calib"]]
    result = {
        "psnr": round(statistics.fmean(r["psnr"] for r in per_image), 3),
        "ssim": round(statistics.fmean(r["ssim"] for r in per_image), 4),
        "sec_per_image": round(statistics.fmean(s["seconds"] for s in scored), 4),
        "per_image": per_image,
    }
    if stats:  # vae: KL(q(z|clean, degraded) || p(z|degraded)), spread of 4 samples; DivNoising: KL(q(z|y) || p(z))
        result["kl_per_image"] = round(statistics.fmean(s["kl_per_image"] for s in stats), 2)
        result["sample_std_255"] = round(statistics.fmean(s["sample_std_255"] for s in stats), 3)
    if calib:  # the uncertainty map against the actual error, K samples per image
        result["calibration_samples"] = run.samples
        result["std_error_spearman"] = round(statistics.fmean(c["spearman"] for c in calib), 4)
        result["coverage_2std"] = round(statistics.fmean(c["coverage_2std"] for c in calib), 4)
    return result


def print_method(method: str, r: dict) -> None:
    """A method's line (and its posterior and calibration lines) as it finishes."""
    print(f"  {method:16s} PSNR {r['psnr']:7.3f}  SSIM {r['ssim']:.4f}  {r['sec_per_image']:.3f} s/image", flush=True)
    if "kl_per_image" in r:
        print(
            f"  {'':16s} KL per image {r['kl_per_image']:.1f} nats, sample spread {r['sample_std_255']:.2f} (0-255)",
            flush=True,
        )
    if "std_error_spearman" in r:
        print(
            f"  {'':16s} std vs |error|: Spearman {r['std_error_spearman']:.3f}, "
            f"{r['coverage_2std'] * 100:.1f}% of pixels within 2 std ({r['calibration_samples']} samples)",
            flush=True,
        )


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
    noise_clip: bool = True,
    split: str = "all",
    parts: Path | None = None,
    shard: tuple[int, int] | None = None,
) -> dict:
    """One benchmark run: the report (JSON-ready, with its ``provenance``), printing each method's line as it
    finishes.

    ``methods`` is comma-separated (default: ``DEFAULT_METHODS[task]``); ``checkpoint`` a restoration
    VAE folder (default: the model the app uses for the task, ``app_model``); ``samples`` is K for
    ``vae_mean`` and the calibration; ``blind`` does not tell the VAE the task (the noise level is
    still given) and serves it with the plain ``restore``.
    ``divnoising`` is the DivNoising VAE of ``divnoising_checkpoint`` (trained on noisy images only; an
    input of a higher sigma is brought to its own first, ``divnoising.match_noise``); ``divnoising_fit``
    fits one to each noisy input alone for ``fit_seconds``. Both report the mean of ``mmse_samples``
    posterior samples; ``divnoising_mode`` is the bundled model decoded at the posterior means instead, and
    ``divnoising_x8`` / ``divnoising_fit_x8`` that decode averaged over the 8 flips and rotations.
    ``noise_clip`` False leaves ``denoise``'s Gaussian noise unclipped (the published protocol); ``split`` takes
    the ``core.splits`` part of ``data``; ``parts`` a folder where each image's result is saved as it finishes, so a
    stopped run resumes (``score_method``), and ``shard`` (i, n) keeps every n-th image from the i-th, so n
    processes can share one run's parts. ``real`` reads pairs (``benchmark_real``) and adds nothing.
    A light task goes to ``vae_demo.light.benchmark.run_light_benchmark`` with the arguments it takes.
    """
    if task in LIGHT_TASKS:
        from vae_demo.light.benchmark import run_light_benchmark

        return run_light_benchmark(task, level, data, methods, limit, seed, checkpoint, blind, split)
    if task not in BENCH_TASKS:
        raise SystemExit(f"unknown task {task!r}; choose one of {', '.join(ALL_TASKS)}")
    chosen = (methods or DEFAULT_METHODS[task]).split(",")
    check_methods(task, chosen)
    name = checkpoint or app_model(task, level)
    model = None
    if set(VAE_METHODS) & set(chosen):
        model = load_checkpoint(checkpoint, "cpu") if checkpoint else load_model(name, device="cpu")
    dn_model = divnoising_model(chosen, task, divnoising_checkpoint)
    run = BenchRun(task, level, blind, seed, samples, model, dn_model, mmse_samples, fit_seconds, parts)
    cases = make_cases(task, level, data, limit, seed, noise_clip, split)
    if shard:  # every n-th case from the i-th: n processes share a long run, their parts merged by a last one
        cases = cases[shard[0] :: shard[1]]
    results = {}
    for method in chosen:
        results[method] = score_method(run, method, cases)
        print_method(method, results[method])
    return {
        "task": task,
        "level": level,
        "data": str(data),
        "n_images": len(cases),
        "blind": blind,
        "seed": seed,
        "checkpoint": name if model else None,
        "divnoising_checkpoint": divnoising_checkpoint if dn_model else None,
        "fit_seconds": fit_seconds if {"divnoising_fit", "divnoising_fit_x8"} & set(chosen) else None,
        "mmse_samples": mmse_samples if set(DIVNOISING_METHODS) & set(chosen) else None,
        "threads": torch.get_num_threads(),
        "noise_clip": noise_clip if task == "denoise" else None,
        "split": split,
        **({"shard": f"{shard[0]}/{shard[1]}"} if shard else {}),
        "classical": {m: describe(m, run.degradation, level) for m in chosen if m in METHODS or m in ORACLE_METHODS},
        "methods": results,
        PROVENANCE_KEY: provenance(),
    }
