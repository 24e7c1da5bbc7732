"""The low-frequency check: does restoring a real photo change its brightness or colour?

    python benchmarks/lowfreq.py --data ../shared/data/real/RNI15 --problem auto --threads 1 \
        --json benchmarks/results/lowfreq_auto_RNI15.json

Every photo of DATA is restored the way the app restores an uploaded photo for the problem (an Enhance
problem, or ``real``: the Denoise tab's "the photo's own noise"), and the output is compared with the
input in 16x16-pixel blocks: per channel, the 99th percentile over the blocks of |block mean of the
output - block mean of the input|, in grey levels (0-255). The bar: at most 3 grey levels on every
photo. x2 / x4 compare with the bicubic enlargement the model starts from.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from vae_demo.core.hub import load_model
from vae_demo.core.images import IMAGE_SUFFIXES
from vae_demo.core.provenance import PROVENANCE_KEY, provenance
from vae_demo.demo import photos
from vae_demo.restoration import problems, serving
from vae_demo.restoration.degradations import resize

BLOCK, PERCENTILE, BAR = 16, 99, 3.0


def block_shift(out: torch.Tensor, ref: torch.Tensor) -> list[float]:
    """Per channel: the PERCENTILE-th percentile of |16x16 block mean difference|, in grey levels."""
    h, w = (s - s % BLOCK for s in ref.shape[-2:])
    d = F.avg_pool2d((out - ref)[..., :h, :w].double() * 255, BLOCK).abs()  # (1, C, h/16, w/16)
    return [round(float(torch.quantile(c.flatten(), PERCENTILE / 100)), 3) for c in d[0]]


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, type=Path, help="folder of real photos")
    p.add_argument("--problem", default="auto", choices=[*problems.PROBLEMS, "real"])
    p.add_argument("--best", action="store_true", help="the app's best quality: the x8 self-ensemble")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", required=True, type=Path)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    files = sorted(f for f in args.data.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES) if args.data.is_dir() else []
    if not files:
        raise SystemExit(f"no photos in {args.data}")
    real = args.problem == "real"
    name = problems.NOISES["real"].model if real else problems.PROBLEMS[args.problem].model
    model = load_model(name, device="cpu")
    rows = []
    for f in files:
        photo = photos.load_photo(str(f))
        if not real and problems.PROBLEMS[args.problem].degradation == "downsample":
            scale = int(problems.PROBLEMS[args.problem].level(0))
            photo = resize(photo, (photo.shape[-2] * scale, photo.shape[-1] * scale))
        big = photo.shape[-2] * photo.shape[-1] > photos.TILE_ABOVE_PIXELS
        opts = {"ensemble": args.best, "tile": photos.TILE if big else None}
        start = time.perf_counter()
        if real:
            r = serving.denoise(model, photo, "real", **opts)
        else:
            r = serving.fix(model, photo, args.problem, None, **opts)
        seconds = time.perf_counter() - start
        shift = block_shift(r.mode, photo)
        rows.append(
            {
                "photo": f.name,
                "shift_per_channel": shift,
                "worst": max(shift),
                "sigma": round(r.noise_sigma, 2),
                "seconds": round(seconds, 3),
            }
        )
        print(
            f"{f.name:22s} sigma {r.noise_sigma:5.1f}  block-mean shift p{PERCENTILE} (R, G, B): "
            f"{', '.join(f'{v:.2f}' for v in shift)} grey levels  {seconds:.2f} s",
            flush=True,
        )
    worst = max(r["worst"] for r in rows)
    passed = sum(r["worst"] <= BAR for r in rows)
    print(f"\n{passed} of {len(rows)} photos within {BAR:g} grey levels; worst {worst:.2f}")
    report = {
        "data": str(args.data),
        "problem": args.problem,
        "model": name,
        "best": args.best,
        "block": BLOCK,
        "percentile": PERCENTILE,
        "bar_grey_levels": BAR,
        "photos_within_bar": passed,
        "n_photos": len(rows),
        "worst": worst,
        "threads": torch.get_num_threads(),
        "rows": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report[PROVENANCE_KEY] = provenance()
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
