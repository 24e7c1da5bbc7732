"""How restoration benchmark reports are shown: one run's lines, and the markdown table of many runs.

A report is the dict ``benchmark.run_benchmark`` returns (and ``benchmarks/restore.py`` writes as
JSON): task, level, data, image count, seed and, per method, mean PSNR, SSIM and seconds per image.
"""

from __future__ import annotations

from pathlib import Path

from vae_demo import catalog

# The table's column order and row labels.
ORDER = (
    "noisy",
    "bicubic",
    "vae",
    "vae_x8",
    "vae_mean",
    "vae_noise",
    "divnoising",
    "divnoising_mode",
    "divnoising_x8",
    "divnoising_fit",
    "divnoising_fit_x8",
    "bm3d",
    "nlm",
    "bm3d_oracle",
    "nlm_oracle",
    "tv",
    "median",
    "adaptive_median",
    "richardson_lucy",
    "unsharp",
    "gamma",
    "clahe",
)
TASK_NAMES = catalog.task_levels()  # task -> what its level means, for the table


def print_summary(report: dict) -> None:
    """The run's table: one line per method."""
    header = (
        f"{report['task']} level {report['level']:g} on {report['data']} ({report['n_images']} images, "
        f"seed {report['seed']})"
    )
    print(f"\n{header}\n{'method':16s} {'PSNR':>8s} {'SSIM':>7s} {'s/image':>9s}")
    for m, r in report["methods"].items():
        print(f"{m:16s} {r['psnr']:8.3f} {r['ssim']:7.4f} {r['sec_per_image']:9.3f}")


def table(reports: list[dict]) -> str:
    """A markdown table: one row per run (task, level, data), one column per method."""
    methods = [m for m in ORDER if any(m in r["methods"] for r in reports)]
    methods += sorted({m for r in reports for m in r["methods"]} - set(methods))
    lines = ["| task | data (images) | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    for r in reports:
        level = "" if r["task"] == "real" else f" {r['level']:g}"
        label = f"{TASK_NAMES.get(r['task'], r['task'])}{level}".replace("x ", "x")
        cells = []
        for m in methods:
            v = r["methods"].get(m)
            cells.append(f"{v['psnr']:.2f} / {v['ssim']:.3f} ({v['sec_per_image']:.2f} s)" if v else "")
        lines.append(f"| {label} | {Path(r['data']).name} ({r['n_images']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def photo_gaps(report: dict, method: str, reference: str) -> str:
    """``method`` against ``reference`` photo by photo (PSNR dB, same inputs): where a mean gap comes from."""
    pairs = zip(report["methods"][method]["per_image"], report["methods"][reference]["per_image"], strict=True)
    gaps = {a["name"]: a["psnr"] - b["psnr"] for a, b in pairs}
    worst = min(gaps, key=gaps.get)
    rest = [g for name, g in gaps.items() if name != worst]
    lines = [f"{name:16s} {gap:+7.2f}" for name, gap in gaps.items()]
    lines.append(
        f"{method} - {reference} on {Path(report['data']).name}, {report['task']} {report['level']:g}: above on "
        f"{sum(g > 0 for g in gaps.values())} of {len(gaps)}, mean {sum(gaps.values()) / len(gaps):+.3f} dB; "
        f"without the worst ({worst}) {sum(rest) / max(1, len(rest)):+.3f} dB"
    )
    return "\n".join(lines)


def sort_reports(reports: list[dict]) -> list[dict]:
    """Benchmark reports only (other JSON, e.g. restore_speed.json, is dropped), in the table's order."""
    reports = [r for r in reports if "task" in r and "methods" in r]
    return sorted(
        reports,
        key=lambda r: (
            list(TASK_NAMES).index(r["task"]) if r["task"] in TASK_NAMES else 99,
            Path(r["data"]).name,
            r["level"],
        ),
    )
