"""Model cards (README.md with Hub YAML metadata): the parts every card shares (re-train commands, replacing a
section) and the generative VAEs' card; ``restoration.card`` and ``codec.card`` build theirs on them."""

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


def stage_lines(stages: list[dict], name: str) -> list[str]:
    """One line per earlier stage of a staged recipe (``summary["stages"]``): the last stage started from the
    weights of the one before."""
    return [
        f"- Stage {k} (`configs/{name}-stage{k}.json`, before this one, whose weights it starts from): "
        f"{st['steps']} steps of batch {st['run_config']['batch_size']}, AdamW lr {st['run_config']['trainer']['lr']}, "
        f"seed {st['run_config']['trainer']['seed']}; {st['hardware']}, wall time {st['wall_seconds'] / 60:.1f} min."
        for k, st in enumerate(stages, start=1)
    ]


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
