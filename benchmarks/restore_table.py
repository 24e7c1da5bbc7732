"""Collect ``benchmarks/restore.py`` results into one markdown table (for README and the model card).

    python benchmarks/restore_table.py benchmarks/results/restore_*.json [--card checkpoints/denoise-vae]
    python benchmarks/restore_table.py benchmarks/results/divnoising_*.json --card checkpoints/divnoising-vae
    python benchmarks/restore_table.py benchmarks/results/restore_denoise15_Set12.json --photos vae,bm3d

Each row is one run (task, level, data); each cell a method's mean PSNR / SSIM, with seconds per image.
``--card DIR`` rewrites ``DIR/README.md`` from ``DIR/training_summary.json`` with this table in it (the
restoration VAE's card, or a DivNoising one for a ``family: divnoising`` run). ``--photos A,B`` prints, for each
run instead, method A's PSNR minus method B's photo by photo.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vae_demo.restoration.benchmark_report import photo_gaps, sort_reports, table
from vae_demo.restoration.card import write_restoration_card
from vae_demo.restoration.divnoising_card import write_divnoising_card


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="+", type=Path)
    p.add_argument("--card", type=Path, help="checkpoint folder whose README.md to rewrite with the table")
    p.add_argument("--photos", metavar="A,B", help="print method A minus method B photo by photo, run by run")
    args = p.parse_args(argv)
    reports = sort_reports([json.loads(path.read_text()) for path in args.results])
    if args.photos:
        method, reference = args.photos.split(",")
        text = "\n\n".join(photo_gaps(r, method, reference) for r in reports)
        print(text)
        return text
    text = "PSNR (dB) / SSIM (seconds per image), from `benchmarks/restore.py`:\n\n" + table(reports)
    print(text)
    if args.card:
        summary = json.loads((args.card / "training_summary.json").read_text())
        if summary["run_config"].get("family") == "divnoising":
            write_divnoising_card(args.card, summary, text)
        else:
            write_restoration_card(args.card, summary, text)
    return text


if __name__ == "__main__":
    main()
