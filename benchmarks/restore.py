"""Restoration benchmark: the VAE beside classical methods on the same degraded inputs, in one run.

    python benchmarks/restore.py --task denoise --level 25 --data ../shared/data/val/Set12 \
        --methods noisy,vae,bm3d,nlm,tv --json denoise25_set12.json
    python benchmarks/restore.py --task denoise --level 25 --data ../shared/data/val/Set12 \
        --methods noisy,divnoising,divnoising_fit,bm3d,nlm --fit-seconds 60 --json divnoising25_set12.json

Every image of DATA (sorted by name; grey images stay grey) is degraded once with one generator
seeded by ``--seed``, every method restores those same inputs, and the table gives the mean PSNR,
mean SSIM and seconds per image of each. Protocol: outputs clipped to [0, 1] and rounded to 8 bits
against the 8-bit original; denoising and the other tasks on the full image in its own colour
space; SR (``--level`` = scale) on the Y channel (ITU-R BT.601, as MATLAB's rgb2ycbcr) with
``scale`` pixels cropped from each border, from the bicubic upsampling of the bicubic (antialiased)
downsampling. Gaussian noise is added in floating point and the noisy image clipped to [0, 1]
(``--noise-clip on``, the default, as the older runs) or left in floating point (``--noise-clip off``: the
protocol of published DnCNN / BM3D / FFDNet figures, to be used for any comparison with them); the JSON
records which (``noise_clip``). ``--task poisson`` takes the peak photon count, ``salt_and_pepper`` the percent
of pixels, ``camera`` the std at mid-grey of Poisson-Gaussian noise saved as JPEG q85 (blind: no method is told
it; the classical ones get the project's noise estimate, as the VAE). ``--split val`` runs the validation photos
of a training folder (``vae_demo/core/splits.py``), for choices made before a report set is run.

``--task real`` (no ``--level``) scores real noisy photos against a clean reference of the same scene:

    python benchmarks/restore.py --task real --data ../shared/data/val/PolyU-Canon5D2 --json real_polyu.json

with ``vae`` the app's Auto path, ``vae_noise`` its Noise path (at the estimated sigma), ``divnoising_mode``,
and BM3D / non-local means given the project's noise estimate (``bm3d``, ``nlm``) or the sigma that scores
best on the clean photo (``bm3d_oracle``, ``nlm_oracle``: an oracle, also for ``denoise`` and ``camera``).
Salt and pepper adds ``adaptive_median``; Poisson's classical denoisers work in the Anscombe domain.

``vae`` is the app's result for the task's problem, from the model the app uses for it (``--checkpoint``
names another); ``vae_x8`` its x8 self-ensemble; ``vae_mean`` the mean of K samples. On ``denoise``
the VAE line also gives the std map's calibration (Spearman std vs |error|, coverage of 2 std).

``divnoising`` (the bundled DivNoising VAE, trained on noisy images only: the mean of ``--mmse-samples``
posterior samples), ``divnoising_mode`` (the same model decoded at the posterior means, one pass),
``divnoising_fit`` (one fitted to each noisy test image alone for ``--fit-seconds``) and the ``_x8``
variants (``divnoising_x8``, ``divnoising_fit_x8``: the decode at the posterior means averaged over the 8
flips and rotations) denoise only; the sampling ones, like ``vae``, report the KL per image and the spread
of the posterior samples.

The light tasks take the light VAE and the classical light-and-colour corrections, and add the mean CIEDE2000
(``vae_demo.light.benchmark``; ``*_oracle*`` methods read the clean original):

    python benchmarks/restore.py --task lowlight --level 3 --data ../shared/data/val/Kodak24 \
        --methods noisy,gamma,gamma_auto,clahe,exposure_oracle --json lowlight3_kodak24.json

``--task lowlight`` takes stops under-exposed (sensor noise, sRGB curve, JPEG), ``haze`` the amount (0-1),
``colour_cast`` the strength (0-1); ``light_auto`` is a random mix (blind; ``--level`` ignored).

The protocol lives in ``vae_demo.restoration.benchmark``; this is its command line (install the
project first: ``pip install --no-deps -e .``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from vae_demo import catalog
from vae_demo.core.provenance import PROVENANCE_KEY, provenance
from vae_demo.core.splits import SPLITS
from vae_demo.light.benchmark import print_light_summary
from vae_demo.light.card import add_report_line
from vae_demo.restoration.benchmark import run_benchmark
from vae_demo.restoration.benchmark_report import print_summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", required=True, choices=tuple(catalog.tasks()))
    p.add_argument(
        "--level",
        default=None,
        type=float,
        help="strength in the task's units (degradations.DEGRADATIONS; light tasks: LEVEL_MEANING of light.benchmark)",
    )
    p.add_argument(
        "--data", required=True, type=Path, help="folder of clean images (--task real: of noisy/ and clean/ pairs)"
    )
    p.add_argument("--split", default="all", choices=SPLITS, help="the part of --data to run (vae_demo/core/splits.py)")
    p.add_argument(
        "--noise-clip",
        default="on",
        choices=("on", "off"),
        help="--task denoise: clip the noisy image to [0, 1] (on, the older runs) or leave the Gaussian noise "
        "in floating point (off, the protocol of published figures)",
    )
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    p.add_argument("--methods", default=None, help="comma-separated; default depends on the task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--checkpoint", default=None, help="restoration VAE folder (default: the model the app uses for the task)"
    )
    p.add_argument(
        "--samples", type=int, default=8, help="K for vae_mean (the mean of K samples) and the std map's calibration"
    )
    p.add_argument(
        "--divnoising-checkpoint", default="checkpoints/divnoising-vae", help="DivNoising VAE folder (divnoising)"
    )
    p.add_argument(
        "--fit-seconds", type=float, default=60.0, help="divnoising_fit: seconds of training on each noisy image"
    )
    p.add_argument(
        "--mmse-samples", type=int, default=16, help="posterior samples in the DivNoising methods' MMSE estimate"
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--blind",
        action="store_true",
        help="do not tell the VAE the task (its blind / auto mode); the noise level is still given",
    )
    p.add_argument(
        "--parts",
        type=Path,
        default=None,
        help="save each image's result in this folder as it finishes; a rerun with the same folder reads them back "
        "instead of running them again, so a run of hours resumes after a stop (not the light tasks)",
    )
    p.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="with --parts: only every N-th image from the I-th (0-based), so N processes share a slow run; a last "
        "run without --shard reads their parts and writes the whole report",
    )
    p.add_argument("--json", required=True, type=Path)
    p.add_argument("--card", type=Path, default=None, help="light tasks: add the run's line to this model card")
    args = p.parse_args(argv)
    args.shard = parse_shard(p, args.shard, args.parts)
    if args.parts and args.task in catalog.light_tasks():
        p.error("--parts is for the restoration tasks, not the light ones")
    if args.card and args.task not in catalog.light_tasks():
        p.error("--card is for the light tasks")
    if args.level is None and args.task != "real":
        p.error(f"--level is required for --task {args.task}")
    args.level = 0.0 if args.level is None else args.level
    return args


def parse_shard(p: argparse.ArgumentParser, text: str | None, parts: Path | None) -> tuple[int, int] | None:
    if text is None:
        return None
    i, _, n = text.partition("/")
    if not (i.isdigit() and n.isdigit() and int(i) < int(n)):
        p.error(f"--shard takes I/N with 0 <= I < N, as 0/2 or 1/2, not {text!r}")
    if parts is None:
        p.error("--shard needs --parts: the shards' results are merged from there")
    return int(i), int(n)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    report = run_benchmark(
        args.task,
        args.level,
        args.data,
        methods=args.methods,
        limit=args.limit,
        seed=args.seed,
        checkpoint=args.checkpoint,
        samples=args.samples,
        blind=args.blind,
        divnoising_checkpoint=args.divnoising_checkpoint,
        fit_seconds=args.fit_seconds,
        mmse_samples=args.mmse_samples,
        split=args.split,
        **(
            {}
            if args.task in catalog.light_tasks()
            else {"noise_clip": args.noise_clip == "on", "parts": args.parts, "shard": args.shard}
        ),
    )
    report.setdefault(PROVENANCE_KEY, provenance())
    (print_light_summary if args.task in catalog.light_tasks() else print_summary)(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.card:
        add_report_line(args.card, report, args.json)
    return report


if __name__ == "__main__":
    main()
