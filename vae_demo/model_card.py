"""The model card (README.md with Hub YAML metadata) written beside each checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

DATASETS = {
    "mnist": ("mnist", "MNIST (Y. LeCun and C. Cortes), CC BY-SA 3.0", "60,000 training digits; the 10,000 test digits"),
    "olivetti": ("olivetti-faces", "AT&T Laboratories Cambridge Olivetti faces, free for research with credit",
                 "400 grey 64x64 faces of 40 people; training on 35 people, testing on the other 5"),
}


def write_model_card(
    out: str | Path, run_config: dict, metrics: dict, steps: int, wall_seconds: float, hardware: str,
    resumed_from: int = 0,
) -> None:
    dataset = run_config["dataset"]
    hub_name, licence, split = DATASETS[dataset]
    model = run_config["model"]
    trainer = run_config["trainer"]
    likelihood = model["likelihood"]
    protocol = (
        "test images binarised once by Bernoulli sampling of their intensities (seed 0)"
        if run_config.get("binarize") else "grey levels in [0, 1] (continuous density: nats are not comparable to the binary case)"
    )
    lines = [
        "---",
        "library_name: vae-demo",
        "license: other",
        f"datasets: [{hub_name}]",
        "tags: [vae, image-generation, pytorch, safetensors]",
        "metrics: [elbo]",
        "---",
        f"# {model['name']}",
        "",
        (
            f"A convolutional VAE ({model['latent_dim']}-D latent, channels {model['channels']}, "
            f"{model['blocks_per_level']} residual block(s) per level, {likelihood} likelihood) from "
            "[vae-demo](https://huggingface.co/spaces/vae-demo/vae-demo)."
        ),
        "",
        f"- Data: {split}. Licence of the data: {licence}.",
        (
            f"- Training: seed {trainer['seed']}, {trainer['max_epochs']} epochs ({steps} steps), batch "
            f"{run_config['batch_size']}, AdamW lr {trainer['lr']}, KL warm-up over {run_config['kl_warmup_steps']} steps."
        ),
        f"- Hardware: {hardware}; wall time {wall_seconds / 60:.1f} min"
        + (f" (from the resume at step {resumed_from} to the end)." if resumed_from else "."),
        f"- Test metrics ({protocol}): ELBO {metrics['elbo_nats']:.2f} nats per image"
        + (f", importance-sampled log-likelihood -{metrics['nll_nats']:.2f} nats ({run_config['eval_k']} samples)"
           if "nll_nats" in metrics else "")
        + f" over {metrics['n_images']} images.",
        "",
        "Re-train with:",
        "",
        "```bash",
        f"python -m vae_demo train --config configs/{model['name']}.json --data DATA_ROOT --out checkpoints/{model['name']}",
        "```",
        "",
        "Run config:",
        "",
        "```json",
        json.dumps(run_config, indent=2, default=list),
        "```",
        "",
    ]
    Path(out, "README.md").write_text("\n".join(lines))
