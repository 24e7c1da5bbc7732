"""Collect ``benchmarks/restore.py`` results into one markdown table (for README and the model card).

    python benchmarks/restore_table.py benchmarks/results/restore_*.json [--card checkpoints/restore-vae]

Each row is one run (task, level, data); each cell a method's mean PSNR / SSIM, with seconds per image.
``--card DIR`` rewrites ``DIR/README.md`` from ``DIR/training_summary.json`` with this table in it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
from vae_demo.core.model_card import write_restoration_card

ORDER = ("noisy", "bicubic", "vae", "vae_mean", "bm3d", "nlm", "tv", "median", "richardson_lucy", "unsharp",
         "gamma", "clahe")
TASK_NAMES = {"denoise": "Gaussian noise sigma", "jpeg": "JPEG quality", "sr": "SR x", "deblur": "Gaussian blur sigma",
              "lowlight": "low light, exposure"}


def table(reports: list[dict]) -> str:
    methods = [m for m in ORDER if any(m in r["methods"] for r in reports)]
    methods += sorted({m for r in reports for m in r["methods"]} - set(methods))
    lines = ["| task | data (images) | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    for r in reports:
        label = f"{TASK_NAMES.get(r['task'], r['task'])} {r['level']:g}".replace("x ", "x")
        cells = []
        for m in methods:
            v = r["methods"].get(m)
            cells.append(f"{v['psnr']:.2f} / {v['ssim']:.3f} ({v['sec_per_image']:.2f} s)" if v else "")
        lines.append(f"| {label} | {Path(r['data']).name} ({r['n_images']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="+", type=Path)
    p.add_argument("--card", type=Path, help="checkpoint folder whose README.md to rewrite with the table")
    args = p.parse_args(argv)
    reports = [json.loads(path.read_text()) for path in args.results]
    reports = [r for r in reports if "task" in r and "methods" in r]  # skip other JSON (e.g. restore_speed.json)
    reports.sort(key=lambda r: (list(TASK_NAMES).index(r["task"]) if r["task"] in TASK_NAMES else 99,
                                Path(r["data"]).name, r["level"]))
    text = "PSNR (dB) / SSIM (seconds per image), from `benchmarks/restore.py`:\n\n" + table(reports)
    print(text)
    if args.card:
        summary = json.loads((args.card / "training_summary.json").read_text())
        write_restoration_card(args.card, summary, text)
    return text


if __name__ == "__main__":
    main()
