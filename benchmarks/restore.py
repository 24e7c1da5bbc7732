"""Restoration benchmark: the VAE beside classical methods on the same degraded inputs, in one run.

    python benchmarks/restore.py --task denoise --level 25 --data ../shared/data/val/Set12 \
        --methods noisy,vae,bm3d,nlm,tv --json denoise25_set12.json

Every image of DATA (sorted by name; grey images stay grey) is degraded once with one generator
seeded by ``--seed``, every method restores those same inputs, and the table gives the mean PSNR,
mean SSIM and seconds per image of each. Protocol: outputs clipped to [0, 1] and rounded to 8 bits
against the 8-bit original; denoising and the other tasks on the full image in its own colour
space; SR (``--level`` = scale) on the Y channel (ITU-R BT.601, as MATLAB's rgb2ycbcr) with
``scale`` pixels cropped from each border, from the bicubic upsampling of the bicubic (antialiased)
downsampling. Gaussian noise is added in floating point and the noisy image clipped to [0, 1].
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
from vae_demo.core.device import make_generator
from vae_demo.core.hub import load_checkpoint
from vae_demo.generative.data import IMAGE_SUFFIXES
from vae_demo.restoration.classical import METHODS, run_classical
from vae_demo.restoration.degradations import DEGRADATIONS, degrade, noise_sigma_of, resize
from vae_demo.restoration.restore import posterior_stats, restore

BENCH_TASKS = ("denoise", "jpeg", "sr", "deblur", "lowlight")
DEFAULT_METHODS = {
    "denoise": "noisy,vae,bm3d,nlm,tv",
    "jpeg": "noisy,vae,tv",
    "sr": "bicubic,vae",
    "deblur": "noisy,vae,richardson_lucy,unsharp",
    "lowlight": "noisy,vae,gamma,clahe",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", required=True, choices=BENCH_TASKS)
    p.add_argument("--level", required=True, type=float, help="strength in the task's units (see degradations.DEGRADATIONS)")
    p.add_argument("--data", required=True, type=Path, help="folder of clean images")
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    p.add_argument("--methods", default=None, help="comma-separated; default depends on the task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default="checkpoints/restore-vae", help="restoration VAE folder")
    p.add_argument("--samples", type=int, default=8, help="K for vae_mean (the mean of K posterior samples)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--blind", action="store_true",
                   help="do not tell the VAE the task (its blind / auto mode); the noise level is still given")
    p.add_argument("--json", required=True, type=Path)
    return p.parse_args(argv)


def load_images(folder: Path, limit: int | None) -> list[tuple[str, np.ndarray]]:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not paths:
        raise SystemExit(f"no images in {folder}")
    out = []
    for p in paths:
        im = Image.open(p)
        out.append((p.name, np.asarray(im.convert("L" if im.mode in ("L", "I;16", "I", "1") else "RGB"))))
    return out


def to_tensor(a: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return (t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None])


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
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    out, ref = quantise(out), quantise(ref)
    if task == "sr":
        o, r = y_channel(out), y_channel(ref)
        o, r = o[scale:-scale, scale:-scale], r[scale:-scale, scale:-scale]
        return (float(peak_signal_noise_ratio(r, o, data_range=255)),
                float(structural_similarity(r, o, data_range=255)))
    axis = -1 if ref.ndim == 3 else None
    return (float(peak_signal_noise_ratio(ref, out, data_range=255)),
            float(structural_similarity(ref, out, data_range=255, channel_axis=axis)))


def degrade_one(clean: np.ndarray, task: str, level: float, g: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(reference, degraded input at the reference's size)."""
    x = to_tensor(clean / 255.0)
    if task == "sr":
        s = round(level)
        h, w = (d - d % s for d in x.shape[-2:])
        x = x[..., :h, :w]
        y = resize(degrade(x, "sr", s, g), (h, w))
    else:
        y = degrade(x, task, level, g)
    return to_array(x), to_array(y)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = (args.methods or DEFAULT_METHODS[args.task]).split(",")
    unknown = [m for m in methods if m not in {"noisy", "vae", "vae_mean", *METHODS}]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}")
    model = load_checkpoint(args.checkpoint, "cpu") if {"vae", "vae_mean"} & set(methods) else None
    images = load_images(args.data, args.limit)
    g = make_generator(args.seed)
    cases = [(name, *degrade_one(a, args.task, args.level, g)) for name, a in images]
    sigma = noise_sigma_of(args.task, args.level)
    scale = round(args.level) if args.task == "sr" else 0

    results = {}
    for method in methods:
        per_image, seconds, stats = [], [], []
        for name, ref, inp in cases:
            start = time.perf_counter()
            if method == "noisy":
                out = inp
            elif method in ("vae", "vae_mean"):
                k = args.samples if method == "vae_mean" else 0
                r = restore(model, to_tensor(inp), noise_sigma=sigma, samples=k, generator=make_generator(args.seed),
                            condition=None if args.blind else DEGRADATIONS[args.task].condition)
                out = to_array(r.mean if k else r.mode)
            else:
                out = run_classical(method, inp, args.task, args.level)
            seconds.append(time.perf_counter() - start)
            if method == "vae":  # not timed: how much the latent carries, and how much samples differ
                stats.append(posterior_stats(model, to_tensor(ref), to_tensor(inp), sigma, 4, make_generator(args.seed),
                                             None if args.blind else DEGRADATIONS[args.task].condition))
            psnr, ssim = score(out, ref, args.task, scale)
            per_image.append({"name": name, "psnr": round(psnr, 4), "ssim": round(ssim, 5)})
        results[method] = {
            "psnr": round(statistics.fmean(r["psnr"] for r in per_image), 3),
            "ssim": round(statistics.fmean(r["ssim"] for r in per_image), 4),
            "sec_per_image": round(statistics.fmean(seconds), 4),
            "per_image": per_image,
        }
        if stats:  # KL(q(z|clean, degraded) || p(z|degraded)) per image, and the spread of 4 samples
            results[method]["kl_per_image"] = round(statistics.fmean(s["kl_per_image"] for s in stats), 2)
            results[method]["sample_std_255"] = round(statistics.fmean(s["sample_std_255"] for s in stats), 3)
        print(f"  {method:16s} PSNR {results[method]['psnr']:7.3f}  SSIM {results[method]['ssim']:.4f}  "
              f"{results[method]['sec_per_image']:.3f} s/image", flush=True)
        if stats:
            print(f"  {'':16s} KL per image {results[method]['kl_per_image']:.1f} nats, "
                  f"sample spread {results[method]['sample_std_255']:.2f} (0-255)", flush=True)

    report = {"task": args.task, "level": args.level, "data": str(args.data), "n_images": len(cases), "blind": args.blind,
              "seed": args.seed, "checkpoint": args.checkpoint if model else None, "threads": torch.get_num_threads(),
              "methods": results}
    header = f"{args.task} level {args.level:g} on {args.data} ({len(cases)} images, seed {args.seed})"
    print(f"\n{header}\n{'method':16s} {'PSNR':>8s} {'SSIM':>7s} {'s/image':>9s}")
    for m, r in results.items():
        print(f"{m:16s} {r['psnr']:8.3f} {r['ssim']:7.4f} {r['sec_per_image']:9.3f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
