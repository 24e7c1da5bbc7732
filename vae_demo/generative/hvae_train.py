"""Train the ladder VAE on binarised MNIST: the first 55,000 training digits, the last 5,000 held out to choose on.

    python -m vae_demo train --config configs/mnist-hvae.json --data ../shared/data/mnist

Each batch is binarised afresh (dynamic binarisation). The loss is the negative ELBO with each layer's KL
weighted by a linear warm-up and floored by free bits (nats per image per layer, Kingma et al. 2016). After
every epoch the ELBO of the held-out training digits is printed and logged; no test digit is read here
(``benchmarks/nll.py`` reports the test NLL once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch
from torch.utils.data import TensorDataset
from torchvision.utils import save_image

from vae_demo.core.config import Config
from vae_demo.core.device import pick_device
from vae_demo.core.distributions import kl_weight
from vae_demo.core.hub import load_weights
from vae_demo.core.model_card import recipe_commands, retrain_section, stage_lines
from vae_demo.core.run import run_training
from vae_demo.core.trainer import Trainer, TrainerConfig, seed_everything
from vae_demo.generative.data import dynamic_binarize, load_mnist, shuffled_loader, split_training_set
from vae_demo.generative.hvae import HVAEConfig, LadderVAE

LAYERS = ("z3", "z2", "z1")


@dataclass
class HVAERunConfig(Config):
    """A ladder-VAE training run."""

    ignore_unknown: ClassVar[bool] = False

    family: str = "hvae"
    model: HVAEConfig = field(default_factory=HVAEConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    batch_size: int = 128
    kl_warmup_steps: int = 5000
    free_bits: float = 0.5  # nats per image per layer below which a layer's KL is not penalised
    val_size: int = 5000  # the last training digits, held out
    init_from: str | None = None  # a later stage: start from this mnist-hvae checkpoint folder's weights
    train_only: str | None = None  # a submodule (e.g. "pixel", the autoregressive head): the rest stays frozen


def hvae_loss(model: LadderVAE, batch, run: HVAERunConfig, step: int) -> dict:
    """Negative ELBO per image (nats), each layer's KL warmed up and floored at ``free_bits``; the logged
    ``elbo`` is the plain bound."""
    out = model(dynamic_binarize(batch[0]))
    beta = kl_weight(step, 1.0, run.kl_warmup_steps)
    kls = [kl.mean() for kl in out.kl]
    loss = -out.log_px.mean() + beta * sum(kl.clamp(min=run.free_bits) for kl in kls)
    return {
        "loss": loss,
        "elbo": out.log_px.mean() - sum(kls),
        **{f"kl_{n}": k for n, k in zip(LAYERS, kls, strict=True)},
    }


@torch.no_grad()
def held_out_elbo(model: LadderVAE, images: torch.Tensor, seed: int = 0) -> dict:
    """Mean ELBO and per-layer KL (nats per image) of ``images``, binarised once with ``seed``."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    x_all = dynamic_binarize(images, g)
    rows = []
    for i in range(0, len(x_all), 500):
        out = model(x_all[i : i + 500].to(model.device), torch.Generator(model.device).manual_seed(seed + i))
        rows.append(torch.stack([out.log_px - sum(out.kl), *out.kl], dim=1).cpu())
    model.train()
    mean = torch.cat(rows).mean(0).tolist()
    return {"val_elbo": mean[0], **{f"val_kl_{n}": v for n, v in zip(LAYERS, mean[1:], strict=True)}}


def train_hvae(
    run: HVAERunConfig, data_root: str | Path, out: str | Path, resume: bool = False, download: bool = False
) -> LadderVAE:
    """Train on the first 60,000 - ``val_size`` MNIST training digits, validate on the rest, write ``out``."""
    seed_everything(run.trainer.seed)
    images, labels = load_mnist(data_root, train=True, download=download)
    train_x, _, val_x, _ = split_training_set(images, labels, run.val_size)
    loader = shuffled_loader(TensorDataset(train_x), run.batch_size, run.trainer.seed)
    model = LadderVAE(run.model)
    if run.init_from:
        load_weights(model, run.init_from, new_part="pixel")  # a stage may add the autoregressive head
    if run.train_only:
        part = getattr(model, run.train_only, None)
        if not isinstance(part, torch.nn.Module):
            raise ValueError(f"train_only: the model has no part {run.train_only!r}")
        model.requires_grad_(False)
        part.requires_grad_(True)
    model = model.to(pick_device())
    history: list[dict] = []

    def on_event(trainer: Trainer, event: str) -> None:
        if event != "epoch":
            return
        row = {"epoch": trainer.epoch, "step": trainer.step, **held_out_elbo(model, val_x[:1000])}
        history.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
        samples = model.sample(64, torch.Generator(model.device).manual_seed(0))
        save_image(samples, trainer.out_dir / f"samples_epoch{trainer.epoch:03d}.png", nrow=8)
        model.train()

    result = run_training(
        model, lambda m, b, step: hvae_loss(m, b, run, step), loader, run.trainer, out, on_event, resume
    )
    if not result.is_main:
        return model
    summary = {
        "run_config": run.to_dict(),
        "data": {"train": len(train_x), "val": len(val_x)},
        **held_out_elbo(model, val_x),
        **result.fields(),
        "validation": history,
    }
    out = Path(out)
    (out / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_hvae_card(out, summary)
    return model


def _head_sentence(model: dict, run: dict) -> str:
    """The autoregressive head, in words, when the model has one."""
    config = HVAEConfig.from_dict(model)
    if not config.pixel_width:
        return ""
    trained = " (this stage trained the head alone, the rest frozen)" if run.get("train_only") == "pixel" else ""
    return (
        f" Its decoder has an autoregressive head (`pixel_head.PixelHead`, PixelVAE-style: a masked 7x7 convolution "
        f"and {config.pixel_layers} masked 3x3 layers of {config.pixel_width} channels){trained}: each "
        "pixel's probability also reads the pixels before it, so samples are drawn pixel by pixel and are binary."
    )


def write_hvae_card(out: Path, summary: dict) -> None:
    """README.md: what the model is, data, recipe, the held-out ELBO per layer, and how to re-make it."""
    run, model = summary["run_config"], summary["run_config"]["model"]
    kl = ", ".join(f"{n} {summary[f'val_kl_{n}']:.2f}" for n in LAYERS)
    history = [f"- {note}" for note in summary.get("history", [])]  # the runs tried, and why this one
    lines = [
        "---",
        "library_name: vae-demo",
        "license: cc-by-sa-3.0",
        "datasets: [mnist]",
        "tags: [vae, hierarchical-vae, image-generation, pytorch, safetensors]",
        "---",
        f"# {model['name']}",
        "",
        "A ladder VAE (`vae_demo.generative.hvae.LadderVAE`) for binarised MNIST: three stochastic layers, a "
        f"global {model['top_dim']}-D z3, a {model['mid_channels']}-channel z2 map at 7 x 7 and a "
        f"{model['low_channels']}-channel z1 map at 14 x 14, inferred top-down; width {model['width']}."
        + _head_sentence(model, run),
        "",
        f"- Data: the first {summary['data']['train']:,} MNIST training digits, binarised afresh each batch; the last "
        f"{summary['data']['val']:,} held out to choose on. Licence of the data: CC BY-SA 3.0 (Y. LeCun, C. Cortes).",
        f"- Training: seed {run['trainer']['seed']}, {summary['steps']} steps of batch {run['batch_size']}, AdamW lr "
        f"{run['trainer']['lr']}, KL warm-up {run['kl_warmup_steps']} steps, free bits {run['free_bits']} nats per "
        f"layer; {summary['hardware']}, wall time {summary['wall_seconds'] / 60:.1f} min.",
        *stage_lines(summary.get("stages", []), model["name"]),
        f"- Held-out training digits (one sample, binarised once): ELBO {summary['val_elbo']:.2f} nats; KL per layer "
        f"{kl} nats. The test NLL is measured once by `benchmarks/nll.py`.",
        "",
        "## What chose it",
        "",
        "No test digit: choices are made on the ELBO and the KL of each layer of the held-out training digits, "
        "logged after every epoch; the last weights (their moving average) are kept. `benchmarks/nll.py` reads "
        "the test digits once, for the figures below.",
        *([""] + history if history else []),
        "",
        *retrain_section(recipe_commands(model["name"], "../shared/data/mnist", summary)),
    ]
    (out / "README.md").write_text("\n".join(lines))
