"""The model card (README.md with Hub YAML metadata) written beside a DivNoising checkpoint."""

from __future__ import annotations

from pathlib import Path

from vae_demo.core.model_card import retrain_section

BSDS_LICENCE = "non-commercial research use (cite Arbelaez et al., TPAMI 2011)"
SOURCES = {  # what the bundled noisy copies are made from, and the data's licence
    "Train400": f"Train400 (400 grey 180x180 crops of the Berkeley Segmentation Dataset); licence: {BSDS_LICENCE}",
    "CBSD432": f"CBSD432 (432 colour photos, BSDS500 without the CBSD68 test images); licence: {BSDS_LICENCE}",
}


def data_lines(summary: dict) -> list[str]:
    """Where the images came from, and that they were noisy."""
    data = summary["data"]
    manifest = data.get("manifest")
    n_train, n_val = len(data["train_files"]), len(data["held_out_files"])
    if manifest:
        source = Path(manifest["source"]).name
        origin = SOURCES.get(source, f"{source} (licence: as stated by the data's owner, not checked by vae-demo)")
        made = (
            f"one noisy copy of {origin}, made by `vae-demo make-noisy --sigma {manifest['sigma']:g} "
            f"--seed {manifest['seed']}` (Gaussian noise, clipped and rounded to 8-bit PNGs)"
        )
    else:
        made = "a folder of noisy images without a `make-noisy` manifest (its origin is not recorded)"
    return [
        "- **Trained on noisy images only.** The run's only data source was the folder "
        f"`{Path(data['folder']).name}`: {made}. No clean image was opened by the training run; the "
        f"validation is the ELBO of {n_val} held-out noisy files of that folder ({n_train} files trained on).",
    ]


def write_divnoising_card(out: str | Path, summary: dict, benchmark_table: str = "") -> None:
    """README.md for a DivNoising VAE: model, data and licence, objective, steps, hardware, wall time, benchmarks."""
    run = summary["run_config"]
    model, trainer = run["model"], run["trainer"]
    noise = model["noise_model"]
    noise_text = f"Gaussian, sigma {noise['sigma']:g} (0-255 scale)" if noise.get("kind") == "gaussian" else str(noise)
    last = summary["validation"][-1] if summary["validation"] else {}
    val = ", ".join(f"{k.removeprefix('val_')} {v:.3f}" for k, v in last.items() if k.startswith("val_"))
    levels = model["latent_levels"]
    colour = (
        "It is a grey model: a colour photo is denoised channel by channel (the noise is independent per channel)."
        if model["image_channels"] == 1
        else "It is a colour model."
    )
    lines = [
        "---",
        "library_name: vae-demo",
        "license: other",
        "datasets: [bsds500]",
        "tags: [vae, divnoising, unsupervised-denoising, self-supervised, image-denoising, pytorch, safetensors]",
        "metrics: [psnr, ssim]",
        "---",
        f"# {model['name']}",
        "",
        (
            "A DivNoising VAE (Prakash, Krull and Jug, ICLR 2021) from "
            "[vae-demo](https://huggingface.co/spaces/vae-demo/vae-demo), with the ladder of latents of "
            f"Hierarchical DivNoising (ICLR 2022): {levels} latent level(s) of {model['latent_channels']} channels, "
            f"widths {model['widths']}, {model['blocks']} residual block(s) per level and path, pixel-unshuffle "
            f"x{model['unshuffle']}. The decoder predicts the clean signal and the likelihood is the noise model "
            f"({noise_text}), so it learns to denoise from noisy data alone. Posterior samples are plausible "
            "clean images; their mean is the MMSE estimate, and the signal decoded at the posterior means "
            "(`divnoising_mode` below, one pass) is what the app shows: it scored higher than the mean of 16 "
            f"samples on Set12. {colour}"
        ),
        "",
        *data_lines(summary),
        (
            f"- Objective: the ELBO of the noisy patches, -log p_noise(y | s(z)) + beta KL(q(z | y) || p(z)), beta "
            f"{run['beta']} (warm-up over {run['kl_warmup_steps']} steps); random {run['patch_size']}x"
            f"{run['patch_size']} patches, flips and rotations."
        ),
        (
            f"- Training: seed {trainer['seed']}, {summary['steps']} steps of batch {run['batch_size']}, AdamW lr "
            f"{trainer['lr']} with {trainer['warmup_steps']} warm-up steps and cosine decay, gradient clipping "
            f"{trainer['grad_clip']}"
            + (f", exported weights = EMA (decay {trainer['ema_decay']})." if trainer.get("ema_decay") else ".")
        ),
        f"- Hardware: {summary['hardware']}; wall time {summary['wall_seconds'] / 60:.1f} min"
        + (f" (from a resume at step {summary['resumed_from']})." if summary.get("resumed_from") else "."),
        f"- Held-out noisy images at the last epoch (nats per pixel; KL per image; spread 0-255): {val}.",
        *(f"- {note}" for note in summary.get("history", [])),
        "- Licence of the weights: the project's (MIT), subject to the data's terms above.",
        "",
    ]
    if benchmark_table:
        lines += ["## Benchmarks", "", benchmark_table, ""]
    manifest = summary["data"].get("manifest") or {"source": "DATA/train/Train400", "sigma": 25, "seed": 0}
    noisy = Path(summary["data"]["folder"]).name
    commands = [
        f"vae-demo make-noisy --data DATA/train/{Path(manifest['source']).name} --sigma {manifest['sigma']:g} "
        f"--seed {manifest['seed']} --out NOISY/{noisy}",
        f"vae-demo train --config configs/{model['name']}.json --data NOISY/{noisy} --out checkpoints/{model['name']}",
    ]
    lines += retrain_section(commands, run)
    Path(out, "README.md").write_text("\n".join(lines))
