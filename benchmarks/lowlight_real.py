"""No-reference report of low-light enhancement on real photos (no clean originals: no PSNR possible).

    python benchmarks/lowlight_real.py --data ../shared/data/real/lowlight --json lowlight_real.json
    python benchmarks/lowlight_real.py --data ../shared/data/real/lowlight --methods gamma,clahe --limit 2 --json x.json

For every photo and method (the light VAE as the app serves "Too dark", and each classical correction of
``vae_demo.light.classical`` that needs no reference; the oracles need one and are left out), and the median
over the photos:

- ``brightness_in`` / ``brightness_out``: mean luminance (``rgb2gray``, 0-1) of the photo and of the result;
- ``colourfulness_ratio``: Hasler and Suesstrunk's (2003) colourfulness of the result over that of the photo
  brightened by x ** 0.45 (``gamma``): below 1, colour was lost relative to the plain brightening;
- ``noise_ratio``: ``skimage.restoration.estimate_sigma`` of the result over that of the gamma brightening
  (``noise`` and ``noise_gamma`` in 0-255 units): above 1, noise was amplified more than by the plain curve.
  Read it beside ``brightness_out``: a result left darker than the gamma brightening amplifies less noise.

A grey photo has no colourfulness ratio (null; left out of the median).
Outputs are rounded to 8 bits before they are measured. These photos are for checks only: never train on them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from vae_demo.core.provenance import PROVENANCE_KEY, provenance
from vae_demo.light.benchmark import (
    brightness,
    colourfulness,
    load_colour_images,
    load_light_vae,
    noise_sigma,
    run_vae,
)
from vae_demo.light.classical import METHODS, ORACLES, gamma, run_method
from vae_demo.restoration.benchmark_cases import quantise

DEFAULT_METHODS = ",".join(("vae", *(m for m in METHODS if m not in ORACLES)))


def measure(photo: np.ndarray, out: np.ndarray, reference: np.ndarray) -> dict[str, float | None]:
    """The no-reference figures of one result ``out`` of ``photo``, against the gamma brightening ``reference``."""
    out = quantise(out) / 255.0
    colour_ref, noise_ref = colourfulness(reference), noise_sigma(reference)
    noise = noise_sigma(out)
    return {
        "brightness_in": round(brightness(photo), 4),
        "brightness_out": round(brightness(out), 4),
        "colourfulness_ratio": round(colourfulness(out) / colour_ref, 4) if colour_ref > 1e-3 else None,  # grey
        "noise": round(noise, 3),
        "noise_gamma": round(noise_ref, 3),
        "noise_ratio": round(noise / max(noise_ref, 1e-6), 4),
    }


def run(data: Path, methods: str, limit: int | None, checkpoint: str | None) -> dict:
    """The report (JSON-ready), printing each method's medians as it finishes."""
    chosen = methods.split(",")
    unknown = [m for m in chosen if m != "vae" and (m not in METHODS or m in ORACLES)]
    if unknown:
        raise SystemExit(f"unknown or oracle methods {unknown}: real photos have no reference")
    model, name = load_light_vae(checkpoint) if "vae" in chosen else (None, None)
    photos = [(n, a / 255.0) for n, a in load_colour_images(data, limit)]
    references = [quantise(gamma(a)) / 255.0 for _, a in photos]
    results = {}
    for method in chosen:
        rows, seconds = [], []
        for (image, photo), reference in zip(photos, references, strict=True):
            start = time.perf_counter()
            out = run_vae(model, photo, "lowlight") if method == "vae" else run_method(method, photo)
            seconds.append(time.perf_counter() - start)
            rows.append({"name": image, **measure(photo, out, reference)})
        keys = [k for k in rows[0] if k != "name"]
        median = {k: round(statistics.median(r[k] for r in rows if r[k] is not None), 4) for k in keys}
        results[method] = {"median": median, "sec_per_image": round(statistics.fmean(seconds), 4), "per_image": rows}
        print(
            f"  {method:18s} brightness {median['brightness_in']:.3f} -> {median['brightness_out']:.3f}  "
            f"colourfulness x{median['colourfulness_ratio']:.3f}  noise x{median['noise_ratio']:.3f} of gamma's",
            flush=True,
        )
    return {
        "data": str(data),
        "n_images": len(photos),
        "reference": "gamma 0.45 brightening of the same photo",
        "checkpoint": name,
        "threads": torch.get_num_threads(),
        "methods": results,
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, type=Path, help="folder of real low-light photos")
    p.add_argument("--methods", default=DEFAULT_METHODS, help="comma-separated: vae and the classical methods")
    p.add_argument("--limit", type=int, default=None, help="only the first N photos")
    p.add_argument("--checkpoint", default=None, help="light VAE folder (default: the one the app serves)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--json", required=True, type=Path)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    report = run(args.data, args.methods, args.limit, args.checkpoint)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report[PROVENANCE_KEY] = provenance()
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
