"""The model card (README.md with Hub YAML metadata) written beside a light-and-colour checkpoint."""

from __future__ import annotations

from pathlib import Path

from vae_demo.core.model_card import recipe_commands, replace_card_section, retrain_section, stage_lines

LIGHT_DATA = (
    "CBSD432 (432 colour photos from the Berkeley Segmentation Dataset, BSDS500 without the CBSD68 test images); "
    "licence of the data: non-commercial research use (cite Arbelaez et al., TPAMI 2011)"
)
PROBLEM_WORDS = {
    "lowlight": "3 stops under-exposed with sensor noise and JPEG",
    "haze": "haze amount 0.5",
    "colour_cast": "colour cast strength 0.6",
    "light_auto": "the training mix",
}

REPORT_HEADING = "## Measured on the report sets"


def _validation_lines(last: dict) -> list[str]:
    """One line per validation problem: input PSNR -> mode PSNR, and the samples' spread."""
    lines = []
    for name, words in PROBLEM_WORDS.items():
        if f"{name}_psnr" in last:
            lines.append(
                f"  - {name} ({words}): {last[f'{name}_input_psnr']:.2f} dB in, {last[f'{name}_psnr']:.2f} dB out "
                f"(mode); samples' per-pixel std {last[f'{name}_std_255']:.1f} / 255"
            )
    return lines


def write_light_card(out: str | Path, summary: dict) -> None:
    """README.md for a light-and-colour VAE: what it does, data and licence, recipe, validation figures."""
    run, model = summary["run_config"], summary["run_config"]["model"]
    trainer = run["trainer"]
    last = summary["validation"][-1] if summary["validation"] else {}
    lines = [
        "---",
        "library_name: vae-demo",
        "license: other",
        "datasets: [bsds500]",
        "tags: [vae, conditional-vae, low-light-enhancement, white-balance, dehazing, pytorch, safetensors]",
        "metrics: [psnr]",
        "---",
        f"# {model['name']}",
        "",
        (
            "A conditional VAE from [vae-demo](https://huggingface.co/spaces/vae-demo/vae-demo) that fixes exposure, "
            "haze / flat tone and colour casts. From a thumbnail (short side "
            f"{model['thumb_size']} px) it predicts a coarse grid of colour transforms in linear light (gains, a 3x3 "
            "channel mix, a non-positive offset), applied bilinearly at full resolution, then a global monotone tone "
            "curve per channel: it re-lights the photo's own pixels and cannot invent structure. A global latent "
            f"z ({model['latent_dim']} dimensions) with a prior network p(z | photo) gives alternative exposures and "
            "white balances; the mode decodes the prior mean."
        ),
        "",
        f"- Data: {LIGHT_DATA}; trained on {summary['data']}. Each example is a random square window degraded at "
        f"{run['degrade_size']} px by `vae_demo.light.pipeline.sample_light_degradation` (colour cast, haze or flat "
        "tone, under- or over-exposure with Poisson-Gaussian sensor noise and JPEG, alone and combined; "
        f"{run['identity_prob']:.0%} untouched), then shrunk to the thumbnail.",
        f"- Objective: the hybrid conditional-VAE loss of Sohn et al. (2015), weight {run['gsnn_weight']} on the "
        f"prior-mode term, Laplace likelihood in sRGB, beta {run['beta']}, free bits {run['free_bits']} nats per "
        "latent dimension.",
        f"- Training: seed {trainer['seed']}, {summary['steps']} steps of batch {run['batch_size']}, AdamW lr "
        f"{trainer['lr']} with warm-up and cosine decay, "
        + (f"exported weights = EMA (decay {trainer['ema_decay']})" if trainer["ema_decay"] else "no EMA")
        + f"; {summary['hardware']}, wall time {summary['wall_seconds'] / 60:.1f} min"
        + (f" (resumed at step {summary['resumed_from']})." if summary.get("resumed_from") else "."),
        *stage_lines(summary.get("stages", []), model["name"]),
        *(f"- {note}" for note in summary.get("history", [])),
        "- Chosen on: the validation split (`vae_demo/core/validation_split.txt`: CBSD432 photos left out of "
        "training); Kodak24, Set5 and `real/lowlight` are report sets, run once for the figures.",
    ]
    if last:
        lines += [
            "- Validation at the last epoch (held-out photos at full resolution, PSNR against the clean photo):",
            *_validation_lines(last),
        ]
    lines += ["", *retrain_section(recipe_commands(model["name"], "DATA/train", summary))]
    Path(out, "README.md").write_text("\n".join(lines))


def report_line(report: dict, json_path: str | Path) -> str:
    """One benchmark run (``light.benchmark.run_light_benchmark``'s report) as a card line: the VAE against the best
    classical method and the best oracle, PSNR (dB) / mean CIEDE2000."""
    from vae_demo.light.classical import ORACLES

    methods = report["methods"]

    def figure(name: str, label: str | None = None) -> str:
        return f"{label or name} {methods[name]['psnr']:.2f} / {methods[name]['ciede2000']:.2f}"

    others = [m for m in methods if m not in {"vae", "noisy"}]
    parts = [figure("vae", Path(report.get("checkpoint") or "vae").name)]
    for group in ([m for m in others if m not in ORACLES], [m for m in others if m in ORACLES]):
        if group:
            parts.append(figure(max(group, key=lambda m: methods[m]["psnr"])))
    where = f"{Path(report['data']).name} ({report['n_images']} images, seed {report['seed']})"
    return f"- {report['task']} {report['level']:g} on {where}: {'; '.join(parts)} (`{json_path}`)"


def add_report_line(folder: str | Path, report: dict, json_path: str | Path) -> None:
    """Put ``report``'s line under the card's report section, replacing the line of the same task, level and data."""
    line = report_line(report, json_path)
    key = line.split(":")[0]
    text = Path(folder, "README.md").read_text()
    old = text.split(REPORT_HEADING, 1)[1].splitlines() if REPORT_HEADING in text else []
    kept = [x for x in old if x.startswith("- ") and x.split(":")[0] != key]
    intro = (
        "`benchmarks/restore.py` with `--card`, each line the model (the app's serving path), then the best classical "
        "method and the best oracle by PSNR: PSNR (dB) / mean CIEDE2000 against the original."
    )
    replace_card_section(folder, REPORT_HEADING, "\n".join([intro, "", *sorted([*kept, line])]))
