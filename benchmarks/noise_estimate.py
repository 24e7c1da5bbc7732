"""Blind noise estimates against the truth and against the sigma a Gaussian denoiser is best told.

    python benchmarks/noise_estimate.py --data ../shared/data/val/Kodak24 ../shared/data/val/Set12 \
        --limit 3 --crop 256 --threads 1 --json benchmarks/results/noise_estimate.json

Every image (the central ``--crop`` pixels of the first ``--limit`` of each folder) gets each kind of
noise: white Gaussian, ``camera`` (Poisson-Gaussian of that std at mid-grey, then JPEG q85), Gaussian
then JPEG q95, and Gaussian added to the half-size photo which is then upscaled x2 (noise spread over
neighbouring pixels). For each, the table gives the noise's std as made (``made``), scikit-image's
wavelet estimate (``skimage``), this project's ``noise_level`` (``ours``) and the sigma at which the
denoiser gives its best PSNR (``best``, searched on a grid), with the PSNR the denoiser reaches when
told each of them. The denoiser is the model the app uses for the Noise problem (``--checkpoint``
names another).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from vae_demo.core.device import make_generator
from vae_demo.core.hub import load_checkpoint, load_model
from vae_demo.core.metrics import psnr
from vae_demo.core.provenance import PROVENANCE_KEY, provenance
from vae_demo.restoration import degradations as D
from vae_demo.restoration.benchmark_cases import load_images, to_tensor
from vae_demo.restoration.noise_level import noise_level
from vae_demo.restoration.problems import PROBLEMS
from vae_demo.restoration.restore import restore

CASES = (
    ("white", 5),
    ("white", 15),
    ("white", 25),
    ("white", 50),
    ("camera", 5),
    ("camera", 15),
    ("camera", 30),
    ("jpeg95", 15),
    ("jpeg95", 25),
    ("upscaled_x2", 15),
    ("upscaled_x2", 25),
)
GRID = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 18, 20, 22, 25, 28, 31, 35, 40, 45, 50, 56, 63, 70)


def make_noisy(x: torch.Tensor, kind: str, level: float, g: torch.Generator) -> torch.Tensor:
    if kind == "white":
        return D.gaussian_noise(x, level, g)
    if kind == "camera":
        return D.camera_noise(x, level, g)
    if kind == "jpeg95":
        return D.jpeg(D.gaussian_noise(x, level, g), 95)
    h, w = x.shape[-2:]  # upscaled_x2: a noisy half-size photo, enlarged
    return D.resize(D.gaussian_noise(D.resize(x, (h // 2, w // 2)), level, g), (h, w))


def skimage_sigma(y: torch.Tensor) -> float:
    from skimage.restoration import estimate_sigma

    a = y[0].permute(1, 2, 0).numpy()
    return float(estimate_sigma(a, channel_axis=-1, average_sigmas=True) * 255)


def best_sigma(model, y: torch.Tensor, ref: torch.Tensor) -> tuple[float, dict]:
    """The grid sigma with the denoiser's best PSNR (ternary search: PSNR is unimodal in sigma)."""
    told: dict[float, float] = {}

    def score(s: float) -> float:
        if s not in told:
            told[s] = psnr(ref, restore(model, y, s, condition="noise").mode)
        return told[s]

    lo, hi = 0, len(GRID) - 1
    while hi - lo > 2:
        a, b = lo + (hi - lo) // 3, hi - (hi - lo) // 3
        lo, hi = (a, hi) if score(GRID[a]) < score(GRID[b]) else (lo, b)
    return max(GRID[lo : hi + 1], key=score), told


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", nargs="+", required=True, type=Path, help="folders of clean images")
    p.add_argument("--limit", type=int, default=3, help="images per folder")
    p.add_argument("--crop", type=int, default=256, help="central crop side (0: whole images)")
    p.add_argument("--checkpoint", default=None, help="denoiser folder (default: the app's Noise model)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", required=True, type=Path)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_checkpoint(args.checkpoint, "cpu") if args.checkpoint else load_model(PROBLEMS["noise"].model)
    rows, seconds = [], []
    for folder in args.data:
        for name, a in load_images(folder, args.limit):
            x = to_tensor(a / 255.0)
            if args.crop:
                h, w = x.shape[-2:]
                top, left = max(0, (h - args.crop) // 2), max(0, (w - args.crop) // 2)
                x = x[..., top : top + args.crop, left : left + args.crop]
            for kind, level in CASES:
                y = make_noisy(x, kind, level, make_generator(args.seed))
                start = time.perf_counter()
                ours = noise_level(y)
                seconds.append(time.perf_counter() - start)
                theirs = skimage_sigma(y)
                best, told = best_sigma(model, y, x)
                row = {
                    "image": f"{folder.name}/{name}",
                    "kind": kind,
                    "made": level,
                    "skimage": round(theirs, 2),
                    "ours": round(ours, 2),
                    "best": best,
                    "psnr_best": round(told[best], 3),
                    "psnr_ours": round(psnr(x, restore(model, y, ours, condition="noise").mode), 3),
                    "psnr_skimage": round(psnr(x, restore(model, y, theirs, condition="noise").mode), 3),
                }
                rows.append(row)
                print(
                    f"{row['image']:22s} {kind:12s} {level:3d}  skimage {theirs:5.1f}  ours {ours:5.1f}  "
                    f"best {best:3d}  PSNR ours / skimage / best {row['psnr_ours']:.2f} / "
                    f"{row['psnr_skimage']:.2f} / {row['psnr_best']:.2f}",
                    flush=True,
                )
    summary = {}
    for kind, level in CASES:
        mine = [r for r in rows if r["kind"] == kind and r["made"] == level]
        summary[f"{kind} {level}"] = {
            k: round(statistics.fmean(r[k] for r in mine), 3)
            for k in ("skimage", "ours", "best", "psnr_ours", "psnr_skimage", "psnr_best")
        }
    print(f"\n{'noise':16s} {'skimage':>8s} {'ours':>6s} {'best':>6s}   dB under the best: ours / skimage")
    for case, s in summary.items():
        print(
            f"{case:16s} {s['skimage']:8.1f} {s['ours']:6.1f} {s['best']:6.1f}   "
            f"{s['psnr_best'] - s['psnr_ours']:5.2f} / {s['psnr_best'] - s['psnr_skimage']:5.2f}"
        )
    errors = [abs(np.log(max(r["ours"], 0.1) / r["best"])) for r in rows]
    report = {
        "data": [str(d) for d in args.data],
        "limit": args.limit,
        "crop": args.crop,
        "checkpoint": args.checkpoint or PROBLEMS["noise"].model,
        "seed": args.seed,
        "threads": torch.get_num_threads(),
        "ours_seconds_median": round(statistics.median(seconds), 4),
        "ours_mean_abs_log_error_vs_best": round(float(np.mean(errors)), 3),
        "summary": summary,
        "rows": rows,
    }
    print(
        f"ours vs best sigma: mean |log ratio| {report['ours_mean_abs_log_error_vs_best']:.3f}; "
        f"{report['ours_seconds_median'] * 1000:.0f} ms per image (median)"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report[PROVENANCE_KEY] = provenance()
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
