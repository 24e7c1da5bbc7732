"""The model card (README.md with Hub YAML metadata) written beside a restoration checkpoint."""

from __future__ import annotations

from pathlib import Path

from vae_demo.core.model_card import recipe_commands, retrain_section

RESTORATION_DATA = (
    "Train400 (400 grey 180x180 crops) and CBSD432 (432 colour photos) from the Berkeley Segmentation "
    "Dataset (BSDS500 without the CBSD68 test images); licence of the data: non-commercial research use "
    "(cite Arbelaez et al., TPAMI 2011)"
)


def _trained_on_noise(run: dict) -> bool:
    return not run.get("degradations") or any(s["name"] == "gaussian_noise" for s in run["degradations"])


def _step_text(step: dict) -> str:
    """One degradation step of a run's mixture in words, with its strength range."""
    if step["name"] == "low_resolution":
        return "enlargement x2, x3 or x4"
    return f"{step['name'].replace('_', ' ')} {step['low']:g}-{step['high']:g}"


def _restoration_scope(run: dict) -> str:
    """What the model was trained to fix: every problem (the default mixture) or the run's own list."""
    if not run.get("degradations"):
        return (
            "It removes noise (told its level, or estimating it), JPEG blocks, blur, bicubic downsampling "
            "(x2-x4) and under-exposure."
        )
    steps = "; ".join(_step_text(s) for s in run["degradations"])
    # One problem may be listed twice, with two strength ranges (e.g. more of the low noise levels).
    what = "one problem" if len({s["name"] for s in run["degradations"]}) == 1 else "these problems"
    # Imported here: mixture imports torch, which a table printed by benchmarks/restore_table.py does not need.
    from vae_demo.restoration.mixture import NOISY_EXTRAS  # the steps that extra_noise reaches

    extra = run.get("extra_noise", 0.0) if any(s["name"] in NOISY_EXTRAS for s in run["degradations"]) else 0.0
    noise = f"; {extra:.0%} of the blurred or enlarged patches also get mild noise" if extra else ""
    return f"It was trained on {what} alone ({steps}, the strength drawn uniformly{noise})."


def _validation_set(run: dict) -> str:
    """Which images validated the run (and so chose its checkpoint)."""
    if run.get("data_split", "all") == "train":
        return "the validation split held out of the training folders, vae_demo/core/validation_split.txt"
    return "the report sets Set12 and Kodak24"


def write_restoration_card(out: str | Path, summary: dict, benchmark_table: str = "") -> None:
    """README.md for a restoration VAE: data and licence, steps, hardware, wall time, metrics."""
    run = summary["run_config"]
    model = run["model"]
    stages = summary.get("stages", [])  # a staged recipe: the KL warm-up happened in its first stage
    warmup = (
        f"{stages[0]['run_config']['kl_warmup_steps']} steps of stage 1"
        if stages
        else f"{run['kl_warmup_steps']} steps"
    )
    last = summary["validation"][-1] if summary["validation"] else {}
    val = ", ".join(f"{k} {v:.3f}" for k, v in last.items() if k.startswith(("Set12", "Kodak24")) or "_val_" in k)
    lines = [
        "---",
        "library_name: vae-demo",
        "license: other",
        "datasets: [bsds500]",
        "tags: [vae, conditional-vae, image-restoration, denoising, super-resolution, pytorch, safetensors]",
        "metrics: [psnr, ssim]",
        "---",
        f"# {model['name']}",
        "",
        (
            "A conditional VAE for photo restoration from [vae-demo](https://huggingface.co/spaces/vae-demo/vae-demo): "
            f"a U-Net (widths {model['widths']}, residual blocks {model['blocks']}) whose decoder also takes a "
            f"latent map z ({model['latent_channels']} channels at "
            f"1/{2 ** (len(model['widths']) - 1) * model.get('unshuffle', 1)} "
            "resolution) with a prior network p(z | degraded) and a posterior network q(z | clean, degraded). "
            + _restoration_scope(run)
            + " Grey images are fed as three equal channels and averaged back."
        ),
        "",
        (
            f"- Data: {RESTORATION_DATA}. Random "
            + (_draw(run) if len(_draws(summary)) == 1 else "patches (by stage below)")
            + ", flips and rotations, degraded on the fly by `vae_demo.restoration.mixture.DegradationPipeline`."
        ),
        (
            f"- Objective: the hybrid conditional-VAE loss of Sohn et al. (2015) with weight {run['gsnn_weight']} on "
            f"the prior-mode term, Laplace likelihood, beta {run['beta']} (warm-up {warmup}), "
            f"free bits {run['free_bits']} nats per latent element."
        ),
        *_restoration_training(summary),
        *(
            [
                f"- Validation at the last epoch ({_validation_set(run)}: first {run.get('val_images', 4)} images, "
                f"256x256 crops, Gaussian sigma 25): {val}."
            ]
            if _trained_on_noise(run)
            else []
        ),
        *(f"- {note}" for note in summary.get("history", [])),
        "",
    ]
    if benchmark_table:
        lines += ["## Benchmarks", "", benchmark_table, ""]
    lines += retrain_section(recipe_commands(model["name"], "DATA/train", summary))
    Path(out, "README.md").write_text("\n".join(lines))


def _restoration_training(summary: dict) -> list[str]:
    """The card's training lines: one run, or (``summary["stages"]``) the earlier stages and the run from their
    weights, one numbered line each."""
    run, stages = summary["run_config"], summary.get("stages", [])
    trainer = run["trainer"]
    if not stages:
        resumed = f" (from a resume at step {summary['resumed_from']})" if summary.get("resumed_from") else ""
        return [
            f"- Training: seed {trainer['seed']}, {summary['steps']} steps of batch {run['batch_size']}, AdamW "
            f"lr {trainer['lr']} with warm-up and cosine decay, gradient clipping {trainer['grad_clip']}.",
            f"- Hardware: {summary['hardware']}; wall time {summary['wall_seconds'] / 60:.1f} min{resumed}.",
        ]
    name = run["model"]["name"]
    lines = [
        f"- Training in {len(stages) + 1} stages, seed {trainer['seed']}, batch {run['batch_size']}, gradient "
        f"clipping {trainer['grad_clip']}, AdamW with warm-up and cosine decay to 5%, exported weights = EMA "
        f"(decay {trainer['ema_decay']}):",
    ]
    draws = _draws(summary)  # named per stage when they differ
    for k, stage in enumerate([*stages, summary], start=1):
        schedule = stage["run_config"]["trainer"]
        config = f"{name}-stage{k}" if k <= len(stages) else name
        start = "from scratch," if k == 1 else f"from stage {k - 1}'s weights (`init_from`), a fresh schedule,"
        draw = f", {_draw(stage['run_config'])}" if len(draws) > 1 else ""
        lines.append(
            f"  {k}. `configs/{config}.json`: {start} {stage['steps']} steps from lr {schedule['lr']} "
            f"({schedule['warmup_steps']} warm-up steps){draw}; {stage['hardware']}, "
            f"wall time {stage['wall_seconds'] / 60:.1f} min."
        )
    return lines


def _draw(run: dict) -> str:
    """How a run drew its training patches: their size, the grey share and, when the run lists more than one
    degradation step, each step's share of the patches."""
    size, steps = run["patch_size"], run.get("degradations", [])
    mixture = ", ".join(f"{_step_text(s)} for {s['probability']:.0%}" for s in steps)
    return f"{size}x{size} patches ({run['grey_fraction']:.0%} grey)" + (f"; {mixture}" if len(steps) > 1 else "")


def _draws(summary: dict) -> set[str]:
    """The distinct ways a recipe's stages drew their patches (one entry: the same draw throughout)."""
    return {_draw(stage["run_config"]) for stage in [*summary.get("stages", []), summary]}
