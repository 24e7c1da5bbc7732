"""The model card (README.md with Hub YAML metadata) written beside a codec checkpoint."""

from __future__ import annotations

import math
from pathlib import Path

from vae_demo.core.model_card import recipe_commands, retrain_section

CODEC_DATA = (
    "CBSD432 (432 colour photos, 481x321) from the Berkeley Segmentation Dataset (BSDS500 without "
    "the CBSD68 test images); licence of the data: non-commercial research use "
    "(cite Arbelaez et al., TPAMI 2011)"
)


def benchmark_rows(bench: dict) -> list[str]:
    """Markdown lines: every codec's points, BD-rates, the margin over JPEG and the latency."""
    lines = [
        f"Rate-distortion on {Path(bench['data']).name} ({bench['n_images']} images), from "
        "`benchmarks/codec.py` (bpp from the file bytes, headers included; PSNR on 8-bit RGB):",
        "",
        "| codec | setting | bpp | PSNR (dB) | SSIM | encode (s) | decode (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, codec in bench["codecs"].items():
        lines += [
            f"| {name} | {p['setting']} | {p['bpp']:.3f} | {p['psnr']:.2f} | {p['ssim']:.4f} | "
            f"{p['encode_s']:.3f} | {p['decode_s']:.3f} |"
            for p in codec["points"]
        ]
    lines.append("")
    for anchor, label in (("jpeg", "JPEG (optimised Huffman tables)"), ("webp", "WebP (method 6)"), ("avif", "AVIF")):
        for name, bd in bench.get(f"bd_rate_vs_{anchor}", {}).items():
            if name != anchor and bd is not None:
                lines.append(f"- BD-rate of {name} against {label} (Bjøntegaard, PSNR): {bd:+.1f}%.")
    for name, codec in bench["codecs"].items():
        margins = [m["db"] for m in codec.get("psnr_minus_jpeg", []) if m["db"] is not None and not math.isnan(m["db"])]
        if margins:
            lines.append(
                f"- {name} PSNR minus JPEG's at the same bpp, over its points from 0.1 to 1.0 bpp: "
                f"{min(margins):+.2f} to {max(margins):+.2f} dB."
            )
    if "latency_768x512" in bench:
        lat = bench["latency_768x512"]
        lines.append(
            f"- Encode + decode of a 768x512 photo: {lat['median_s']:.2f} s median on "
            f"{lat['threads']} CPU threads (a shared machine)."
        )
    return lines + [""]


def write_codec_card(out: str | Path, summary: dict, bench: dict | None = None) -> None:
    """README.md for a codec: architecture, data and licence, objective, steps, hardware, wall time, benchmark."""
    run = summary["run_config"]
    model, trainer = run["model"], run["trainer"]
    lambdas = ", ".join(f"{v:g}" for v in model["lambdas"])
    stages = summary.get("stages", [])
    stage = (
        f" (stage {len(stages) + 1}, from stage {len(stages)}'s weights{_widened(stages[-1], run)})" if stages else ""
    )
    lines = [
        "---",
        "library_name: vae-demo",
        "license: other",
        "datasets: [bsds500]",
        "tags: [vae, image-compression, learned-image-compression, compressai, pytorch, safetensors]",
        "metrics: [psnr, ssim, bd-rate]",
        "---",
        f"# {model['name']}",
        "",
        (
            "A learned image codec from [vae-demo](https://huggingface.co/spaces/vae-demo/vae-demo): the "
            + (
                "mean-scale hyperprior of Minnen et al. (NeurIPS 2018; the latent's Gaussian has predicted means and "
                "scales, no context model)"
                if model.get("means")
                else "scale hyperprior of Ballé et al. (ICLR 2018)"
            )
            + f" with N = {model['N']} and M = {model['M']} channels (GDN "
            "transforms, a factorised entropy bottleneck for the hyper-latent, a Gaussian conditional for the latent, "
            "CompressAI's range coder), made variable-rate by the gain units of Cui et al. (CVPR 2021): one gain "
            f"vector per trained lambda ({lambdas}), geometric interpolation between them for fractional qualities "
            f"0 to {len(model['lambdas']) - 1}. Files are `.vaez` (see `vae_demo/codec/bitstream.py`); they decode "
            "only with these exact weights (the header carries their hash). The weights file holds the entropy "
            "coder's CDF tables too."
        ),
        "",
        f"- Data: {CODEC_DATA}. Random {run['crop_size']}x{run['crop_size']} crops, flips and rotations"
        + _augmentation(run)
        + ".",
        _chosen_by(run),
        (
            "- Objective: bits per pixel + lambda * 255^2 * MSE per crop (the rate is the KL term of a VAE with a "
            "uniform posterior: additive uniform noise in training), lambda drawn per crop from the levels; the "
            "decoder "
            f"sees the rounded latent (straight-through); plus {run['aux_weight']} x CompressAI's aux loss, which "
            "reaches only the bottleneck's quantiles (refit by bisection before export)."
        ),
        *_earlier_stage_lines(stages),
        (
            f"- Training{stage}: "
            f"seed {trainer['seed']}, {summary['steps']} steps of batch {run['batch_size']}, AdamW lr "
            f"{trainer['lr']} with {trainer['warmup_steps']} warm-up steps and cosine decay, gradient clipping "
            f"{trainer['grad_clip']}"
            + (
                f" (the quantiles apart: their own AdamW group at lr {run['aux_lr']}, outside the clip)"
                if run.get("aux_lr")
                else ""
            )
            + f", exported weights = EMA (decay {trainer['ema_decay']})."
        ),
        f"- Hardware: {summary['hardware']}; wall time {summary['wall_seconds'] / 60:.1f} min"
        + (
            f" (from the last resume, at step {summary['resumed_from']}, to the end)."
            if summary.get("resumed_from")
            else "."
        ),
        *(f"- {note}" for note in summary.get("history", [])),
        "- Licence of the weights: the project's (MIT), subject to the data's terms above; CompressAI is "
        "BSD 3-Clause Clear.",
        "",
    ]
    if bench:
        lines += ["## Benchmarks", "", *benchmark_rows(bench)]
    lines += retrain_section(recipe_commands(model["name"], "DATA/train/CBSD432", summary), run)
    Path(out, "README.md").write_text("\n".join(lines))


def _augmentation(run: dict) -> str:
    """The extra crop augmentation of a run, after a comma; nothing for the older recipes."""
    words = []
    if run.get("scale_min", 1.0) < 1:
        words.append(f"each crop at a random scale from {run['scale_min']:g} to 1")
    if run.get("grey_fraction", 0.0) > 0:
        words.append(f"{run['grey_fraction']:.0%} of crops grey")
    return "".join(f", {w}" for w in words)


def _chosen_by(run: dict) -> str:
    """Which photos validated the run and chose it."""
    if run.get("data_split") == "train":
        return (
            "- Chosen on: the validation split (`vae_demo/core/validation_split.txt`: 32 CBSD432 photos left out of "
            "training, centre 256x256, coded after every epoch); Kodak24 is a report set, run once for the figures."
        )
    return (
        "- Chosen on: Kodak24 crops validated this recipe during training (before the project's validation split): "
        "its Kodak24 figures are not from photos nobody tuned on."
    )


def _widened(stage: dict, run: dict) -> str:
    """The words "its latent widened from M = a to b" (after a comma) when ``run``'s model has more latent
    channels than ``stage``'s, the stage before it; else nothing."""
    before, after = stage["run_config"]["model"]["M"], run["model"]["M"]
    return f", its latent widened from M = {before} to {after}" if after != before else ""


def _earlier_stage_lines(stages: list[dict]) -> list[str]:
    """One line per earlier stage of a staged recipe (``summary["stages"]``); none for a one-stage run."""
    lines = []
    for k, stage in enumerate(stages, start=1):
        run = stage["run_config"]
        trainer, name = run["trainer"], run["model"]["name"]
        start = "from scratch" if k == 1 else f"from stage {k - 1}'s weights{_widened(stages[k - 2], run)}"
        lines.append(
            f"- Stage {k} (`configs/{name}-stage{k}.json`, M = {run['model']['M']}): {start}, {stage['steps']} "
            f"steps of batch {run['batch_size']} on {run['crop_size']}x{run['crop_size']} crops, AdamW lr "
            f"{trainer['lr']} with {trainer['warmup_steps']} warm-up steps and cosine decay; {stage['hardware']}, "
            f"wall time {stage['wall_seconds'] / 60:.1f} min."
        )
    return lines
