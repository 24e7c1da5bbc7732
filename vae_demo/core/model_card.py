"""The model card (README.md with Hub YAML metadata) written beside each checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

DATASETS = {
    "mnist": (
        "mnist",
        "MNIST (Y. LeCun and C. Cortes), CC BY-SA 3.0",
        "60,000 training digits; the 10,000 test digits",
    ),
    "olivetti": (
        "olivetti-faces",
        "AT&T Laboratories Cambridge Olivetti faces, free for research with credit",
        "400 grey 64x64 faces of 40 people; training on 35 people, testing on the other 5",
    ),
    "fashion-mnist": (
        "fashion_mnist",
        "Fashion-MNIST (Zalando Research), MIT",
        "60,000 training images; the 10,000 test images",
    ),
    "cifar10": (
        "cifar10",
        "CIFAR-10 (A. Krizhevsky), see its web page",
        "50,000 training images; the 10,000 test images",
    ),
}


def train_command(name: str, data: str) -> str:
    """The command that re-makes the checkpoint ``name`` from its run config."""
    return f"python -m vae_demo train --config configs/{name}.json --data {data} --out checkpoints/{name}"


def recipe_commands(name: str, data: str, summary: dict) -> list[str]:
    """The commands that re-make ``name``: one per earlier stage of its recipe (``summary["stages"]``; stage k
    writes runs/NAME-stagek/final, which the next config's ``init_from`` names), then its own config's."""
    stages = summary.get("stages", [])
    commands = [
        f"python -m vae_demo train --config configs/{name}-stage{k}.json --data {data}"
        for k in range(1, len(stages) + 1)
    ]
    return [*commands, train_command(name, data)]


def retrain_section(commands: list[str], run: dict | None = None) -> list[str]:
    """The card's closing lines: the commands that re-make the checkpoint, and its run config when given."""
    lines = ["Re-train with:", "", "```bash", *commands, "```", ""]
    if run is not None:
        lines += ["Run config:", "", "```json", json.dumps(run, indent=2, default=list), "```", ""]
    return lines


def replace_card_section(folder: str | Path, heading: str, body: str) -> None:
    """Put ``heading`` and ``body`` at the end of the card ``folder/README.md``, replacing that section (and
    anything after it) when a previous benchmark run wrote it there."""
    card = Path(folder) / "README.md"
    text = card.read_text()
    if heading in text:
        text = text[: text.index(heading)].rstrip() + "\n"
    card.write_text(f"{text}\n{heading}\n\n{body.strip()}\n")


def write_model_card(
    out: str | Path,
    run_config: dict,
    metrics: dict,
    steps: int,
    wall_seconds: float,
    hardware: str,
    resumed_from: int = 0,
) -> None:
    dataset = run_config["dataset"]
    hub_name, licence, split = DATASETS.get(
        dataset,
        (
            dataset.removeprefix("hf:"),
            "as stated by the data's owner (not checked by vae-demo)",
            "a user-supplied image set; the last 10% of files (or the test split) held out",
        ),
    )
    model = run_config["model"]
    trainer = run_config["trainer"]
    likelihood = model["likelihood"]
    protocol = (
        "test images binarised once by Bernoulli sampling of their intensities (seed 0)"
        if run_config.get("binarize")
        else "grey levels in [0, 1] (continuous density: nats are not comparable to the binary case)"
    )
    classes = model.get("num_classes", 0)
    conditional = (
        f" It is class-conditional (Kingma et al. 2014, M2; Sohn et al. 2015): the one-hot label of {classes} "
        "classes enters the encoder as extra input channels, q(z | x, y), and is joined to z before the "
        "decoder, p(x | z, y), so z holds the style and y the class."
        if classes
        else ""
    )
    lines = [
        "---",
        "library_name: vae-demo",
        "license: other",
        f"datasets: [{hub_name}]",
        f"tags: [vae, {'conditional-vae, ' if classes else ''}image-generation, pytorch, safetensors]",
        "metrics: [elbo]",
        "---",
        f"# {model['name']}",
        "",
        (
            f"A convolutional {'class-conditional ' if classes else ''}VAE ({model['latent_dim']}-D latent, "
            f"channels {model['channels']}, {model['blocks_per_level']} residual block(s) per level, {likelihood} "
            "likelihood) from [vae-demo](https://huggingface.co/spaces/vae-demo/vae-demo)." + conditional
        ),
        "",
        f"- Data: {split}. Licence of the data: {licence}.",
        (
            f"- Training: seed {trainer['seed']}, {trainer['max_epochs']} epochs ({steps} steps), batch "
            f"{run_config['batch_size']}, AdamW lr {trainer['lr']}, "
            f"KL warm-up over {run_config['kl_warmup_steps']} steps."
        ),
        f"- Hardware: {hardware}; wall time {wall_seconds / 60:.1f} min"
        + (f" (from the resume at step {resumed_from} to the end)." if resumed_from else "."),
        f"- Test metrics ({protocol}"
        + ("; each image with its true label, so the ELBO bounds log p(x | y), not log p(x)" if classes else "")
        + f"): ELBO {metrics['elbo_nats']:.2f} nats per image"
        + (
            f", importance-sampled log-likelihood -{metrics['nll_nats']:.2f} nats ({run_config['eval_k']} samples)"
            if "nll_nats" in metrics
            else ""
        )
        + f" over {metrics['n_images']} images.",
        "",
    ]
    lines += retrain_section([train_command(model["name"], "DATA_ROOT")], run_config)
    Path(out, "README.md").write_text("\n".join(lines))


RESTORATION_DATA = (
    "Train400 (400 grey 180x180 crops) and CBSD432 (432 colour photos) from the Berkeley Segmentation "
    "Dataset (BSDS500 without the CBSD68 test images); licence of the data: non-commercial research use "
    "(cite Arbelaez et al., TPAMI 2011)"
)


def _trained_on_noise(run: dict) -> bool:
    return not run.get("degradations") or any(s["name"] == "gaussian_noise" for s in run["degradations"])


def _restoration_scope(run: dict) -> str:
    """What the model was trained to fix: every problem (the default mixture) or the run's own list."""
    if not run.get("degradations"):
        return (
            "It removes noise (told its level, or estimating it), JPEG blocks, blur, bicubic downsampling "
            "(x2-x4) and under-exposure."
        )
    steps = "; ".join(
        "enlargement x2, x3 or x4"
        if s["name"] == "low_resolution"
        else f"{s['name'].replace('_', ' ')} {s['low']:g}-{s['high']:g}"
        for s in run["degradations"]
    )
    what = "one problem" if len(run["degradations"]) == 1 else "these problems"
    from vae_demo.restoration.mixture import NOISY_EXTRAS  # the steps that extra_noise reaches

    extra = run.get("extra_noise", 0.0) if any(s["name"] in NOISY_EXTRAS for s in run["degradations"]) else 0.0
    noise = f"; {extra:.0%} of the blurred or enlarged patches also get mild noise" if extra else ""
    return f"It was trained on {what} alone ({steps}, the strength drawn uniformly{noise})."


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
    val = ", ".join(f"{k} {v:.3f}" for k, v in last.items() if k.startswith(("Set12", "Kodak24")))
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
            f"- Data: {RESTORATION_DATA}. Random {run['patch_size']}x{run['patch_size']} patches "
            f"({run['grey_fraction']:.0%} grey), flips and rotations, degraded on the fly by "
            "`vae_demo.restoration.mixture.DegradationPipeline`."
        ),
        (
            f"- Objective: the hybrid conditional-VAE loss of Sohn et al. (2015) with weight {run['gsnn_weight']} on "
            f"the prior-mode term, Laplace likelihood, beta {run['beta']} (warm-up {warmup}), "
            f"free bits {run['free_bits']} nats per latent element."
        ),
        *_restoration_training(summary),
        *(
            [f"- Validation at the last epoch (first 4 images, 256x256 crops, Gaussian sigma 25): {val}."]
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
    for k, stage in enumerate([*stages, summary], start=1):
        schedule = stage["run_config"]["trainer"]
        config = f"{name}-stage{k}" if k <= len(stages) else name
        start = "from scratch," if k == 1 else f"from stage {k - 1}'s weights (`init_from`), a fresh schedule,"
        lines.append(
            f"  {k}. `configs/{config}.json`: {start} {stage['steps']} steps from lr {schedule['lr']} "
            f"({schedule['warmup_steps']} warm-up steps); {stage['hardware']}, "
            f"wall time {stage['wall_seconds'] / 60:.1f} min."
        )
    return lines
