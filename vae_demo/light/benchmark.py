"""The light-and-colour benchmark: the light VAE beside the classical corrections on the same degraded inputs.

The tasks are simulated by the pipeline's ``LIGHT_DEGRADATIONS`` (``catalog.task_degradation``): ``lowlight``
(level = stops under-exposed, with Poisson-Gaussian sensor noise, the sRGB curve and JPEG q90), ``haze`` (amount
0-1), ``colour_cast`` (strength 0-1, a random illuminant direction per image) and ``light_auto`` (a random mix,
level ignored; blind). The restoration benchmark's protocol: every image of a folder (sorted by name; grey ones
repeated to three channels) is degraded once with one generator seeded by ``seed``, every method corrects those
same inputs, and outputs are clipped and rounded to 8 bits against the 8-bit original. Per method: mean PSNR,
mean SSIM, mean CIEDE2000 (scikit-image's ``deltaE_ciede2000`` on ``rgb2lab``, averaged over pixels then images)
and seconds per image. Methods named ``*_oracle*`` read the clean original (``classical.ORACLES``): bounds, not
competitors. ``noisy`` is the degraded input itself.

The no-reference measures of ``benchmarks/lowlight_real.py`` live here too: brightness, colourfulness
(Hasler and Suesstrunk 2003) and the noise level (``skimage.restoration.estimate_sigma``).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import torch

from vae_demo import catalog
from vae_demo.catalog import LIGHT_MODEL
from vae_demo.core.device import make_generator
from vae_demo.light.classical import METHODS, ORACLES, luminance, run_method
from vae_demo.light.pipeline import LIGHT_DEGRADATIONS
from vae_demo.restoration.benchmark_cases import load_images, quantise, score

LIGHT_TASKS = catalog.light_tasks()  # lowlight, haze, colour_cast, light_auto
LEVEL_MEANING = {task: catalog.task_levels()[task] for task in LIGHT_TASKS}
BLIND_TASKS = frozenset({"light_auto"})
DEFAULT_METHODS = ",".join(("noisy", "vae", *METHODS))


def ciede2000(out: np.ndarray, ref: np.ndarray) -> float:
    """Mean CIEDE2000 colour difference of two (H, W, 3) images in [0, 1], both rounded to 8 bits first."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    return float(deltaE_ciede2000(rgb2lab(quantise(ref)), rgb2lab(quantise(out))).mean())


def colourfulness(image: np.ndarray) -> float:
    """Hasler and Suesstrunk's (2003) colourfulness M of an (H, W, 3) image in [0, 1], on the 0-255 scale:
    sqrt(std_rg^2 + std_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2), rg = R - G, yb = (R + G) / 2 - B."""
    x = np.asarray(image, dtype=np.float64) * 255
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def brightness(image: np.ndarray) -> float:
    """Mean luminance (``rgb2gray``) of an sRGB image in [0, 1]."""
    return float(luminance(image).mean())


def noise_sigma(image: np.ndarray) -> float:
    """The blind noise std (0-255 scale) of an (H, W, 3) image in [0, 1]: wavelet MAD, channels averaged."""
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(image, channel_axis=-1, average_sigmas=True)) * 255


def load_colour_images(folder: Path, limit: int | None, split: str = "all") -> list[tuple[str, np.ndarray]]:
    """(file name, uint8 HxWx3 array) of the first ``limit`` images of ``folder`` (of its ``split``); grey ones get
    three channels."""
    images = load_images(folder, limit, split)
    return [(name, a if a.ndim == 3 else np.repeat(a[..., None], 3, axis=2)) for name, a in images]


def degrade_one(clean: np.ndarray, task: str, level: float, g: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(reference, degraded input), float64 (H, W, 3) in [0, 1]."""
    x = torch.from_numpy(clean / 255.0).permute(2, 0, 1).float()
    y = LIGHT_DEGRADATIONS[catalog.task_degradation(task)](x, level, g)
    return clean / 255.0, y.permute(1, 2, 0).numpy().astype(np.float64)


def load_light_vae(checkpoint: str | None):
    """(the light VAE, its name): ``checkpoint`` a folder, or the app's ``light-vae``."""
    from vae_demo.core.hub import CheckpointError, load_checkpoint, load_model

    name = checkpoint or LIGHT_MODEL
    try:
        model = load_checkpoint(checkpoint, "cpu") if checkpoint else load_model(LIGHT_MODEL, device="cpu")
    except (CheckpointError, OSError) as err:
        raise SystemExit(
            f"the method vae needs a trained light VAE ({name}: {err}); train it (configs/light-vae.json), "
            "give --checkpoint, or leave vae out of --methods"
        ) from None
    return model.eval(), name


def run_vae(model, image: np.ndarray, problem: str) -> np.ndarray:
    """The light VAE's answer for an (H, W, 3) image, as the app serves ``problem`` (``light_auto``: blind)."""
    from vae_demo.light.serving import enhance_light

    y = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)
    with torch.no_grad():
        out = enhance_light(model, y, problem).mode
    return out.permute(1, 2, 0).cpu().numpy().astype(np.float64).clip(0, 1)


def _check(task: str, chosen: list[str]) -> None:
    if task not in LIGHT_TASKS:
        raise SystemExit(f"unknown light task {task!r}; choose one of {', '.join(LIGHT_TASKS)}")
    unknown = [m for m in chosen if m not in {"noisy", "vae", *METHODS}]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; the light tasks take noisy, vae, {', '.join(METHODS)}")


def _summary(per_image: list[dict], seconds: list[float]) -> dict:
    return {
        "psnr": round(statistics.fmean(r["psnr"] for r in per_image), 3),
        "ssim": round(statistics.fmean(r["ssim"] for r in per_image), 4),
        "ciede2000": round(statistics.fmean(r["ciede2000"] for r in per_image), 3),
        "sec_per_image": round(statistics.fmean(seconds), 4),
        "per_image": per_image,
    }


def run_light_benchmark(
    task: str,
    level: float,
    data: str | Path,
    methods: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    checkpoint: str | None = None,
    blind: bool = False,
    split: str = "all",
) -> dict:
    """One run (JSON-ready report), printing each method's line as it finishes; ``split`` takes the
    ``core.splits`` part of ``data`` (``val``: the held-out photos that choices are made on).

    ``methods`` is comma-separated (default: every method); ``vae`` is ``serving.enhance_light`` for the task's
    problem (``blind`` or ``light_auto``: the Auto problem) with the light VAE of ``checkpoint`` (default: the
    app's ``light-vae``).
    """
    chosen = (methods or DEFAULT_METHODS).split(",")
    _check(task, chosen)
    blind = blind or task in BLIND_TASKS
    model, name = load_light_vae(checkpoint) if "vae" in chosen else (None, None)
    g = make_generator(seed)
    cases = [(image, *degrade_one(a, task, level, g)) for image, a in load_colour_images(Path(data), limit, split)]

    results = {}
    for method in chosen:
        per_image, seconds = [], []
        for image, ref, inp in cases:
            start = time.perf_counter()
            if method == "noisy":
                out = inp
            elif method == "vae":
                out = run_vae(model, inp, "light_auto" if blind else task)
            else:
                out = run_method(method, inp, ref)
            seconds.append(time.perf_counter() - start)
            psnr, ssim = score(out, ref, task, 0)
            row = {"name": image, "psnr": round(psnr, 4), "ssim": round(ssim, 5)}
            per_image.append({**row, "ciede2000": round(ciede2000(out, ref), 4)})
        results[method] = _summary(per_image, seconds)
        r = results[method]
        print(
            f"  {method:24s} PSNR {r['psnr']:7.3f}  SSIM {r['ssim']:.4f}  CIEDE2000 {r['ciede2000']:6.3f}  "
            f"{r['sec_per_image']:.3f} s/image",
            flush=True,
        )
    return {
        "task": task,
        "level": level,
        "level_meaning": LEVEL_MEANING[task],
        "data": str(data),
        "n_images": len(cases),
        "blind": blind,
        "seed": seed,
        "split": split,
        "checkpoint": name,
        "oracles": sorted(ORACLES & set(chosen)),
        "threads": torch.get_num_threads(),
        "methods": results,
    }


def print_light_summary(report: dict) -> None:
    """The run's table: one line per method."""
    header = (
        f"{report['task']} level {report['level']:g} ({report['level_meaning']}) on {report['data']} "
        f"({report['n_images']} images, seed {report['seed']})"
    )
    print(f"\n{header}\n{'method':30s} {'PSNR':>8s} {'SSIM':>7s} {'CIEDE2000':>10s} {'s/image':>9s}")
    for m, r in report["methods"].items():
        print(f"{m:30s} {r['psnr']:8.3f} {r['ssim']:7.4f} {r['ciede2000']:10.3f} {r['sec_per_image']:9.3f}")
