"""Train the light-and-colour VAE on thumbnails of a colour photo folder's training split, degraded on the fly.

    python -m vae_demo train --config configs/light-vae.json --data ../shared/data/train --out checkpoints/light-vae

Each example is a random square window of a photo, shrunk to ``degrade_size``, degraded there by
``pipeline.sample_light_degradation`` (so its sensor noise is a photo's, averaged down), then clean and degraded
are shrunk to ``model.thumb_size``, where the loss is computed. After every epoch the held-out validation photos
(``core.splits``) are fixed at full resolution under fixed, seeded degradations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F

from vae_demo.core.config import Config
from vae_demo.core.device import pick_device
from vae_demo.core.distributions import kl_weight
from vae_demo.core.hub import load_weights
from vae_demo.core.likelihoods import laplace_log_prob
from vae_demo.core.metrics import psnr
from vae_demo.core.run import run_training
from vae_demo.core.trainer import Trainer, TrainerConfig, seed_everything
from vae_demo.core.worker_batches import batch_stream
from vae_demo.light.card import write_light_card
from vae_demo.light.model import LightConfig, LightVAE
from vae_demo.light.pipeline import LIGHT_DEGRADATIONS, LightMix, sample_light_degradation
from vae_demo.restoration.train import load_folder

VALIDATION_PROBLEMS = {"lowlight": 3.0, "haze": 0.5, "colour_cast": 0.6, "light_auto": 0.0}


@dataclass
class LightRunConfig(Config):
    """A light-and-colour training run: model, optimisation, examples and the loss weights."""

    ignore_unknown: ClassVar[bool] = False

    model: LightConfig = field(default_factory=LightConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    family: str = "light"  # which model family the run trains (vae_demo.cli dispatches on it)
    colour_folder: str = "CBSD432"
    degrade_size: int = 256  # windows are degraded at this side, then shrunk to the thumbnail
    scale_min: float = 0.6  # a window's side is this to 1 times the photo's short side
    identity_prob: float = 0.1  # share of examples left as they are (a good photo must stay as it is)
    mix: LightMix = field(default_factory=LightMix)  # how often each effect is drawn
    batch_size: int = 16
    steps_per_epoch: int = 250
    beta: float = 1.0  # weight of KL(q(z|y,x) || p(z|y))
    kl_warmup_steps: int = 500
    free_bits: float = 0.1  # nats per latent dimension below which the KL is not penalised
    gsnn_weight: float = 0.5  # share of the prior-mode reconstruction term (Sohn et al. 2015, hybrid objective)
    val_images: int = 16  # validation photos, each under every problem of VALIDATION_PROBLEMS
    workers: int = 0  # processes drawing examples (0: this one); part of the recipe, the batches depend on it
    init_from: str | None = None  # start from this light-vae checkpoint folder's weights (a later stage)


class ThumbnailBatches:
    """``steps`` random batches per pass: clean and degraded thumbnails, both (B, 3, T, T) in [0, 1]."""

    def __init__(self, images: list[torch.Tensor], run: LightRunConfig, seed: int = 0) -> None:
        self.images, self.run = images, run
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.run.steps_per_epoch

    def _uniform(self, lo: float = 0.0, hi: float = 1.0) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=self.generator))

    def window(self) -> torch.Tensor:
        """A random square window of a random photo, flipped at random, at (1, 3, degrade_size, degrade_size)."""
        image = self.images[int(torch.randint(len(self.images), (1,), generator=self.generator))]
        _, h, w = image.shape
        side = round(min(h, w) * self._uniform(self.run.scale_min, 1.0))
        top, left = int(self._uniform() * (h - side + 1)), int(self._uniform() * (w - side + 1))
        x = image[None, :, top : top + side, left : left + side].float() / 255  # (1, 3, side, side)
        d = self.run.degrade_size
        x = F.interpolate(x, size=(d, d), mode="bilinear", antialias=True).clamp(0, 1)
        return x.flip(3) if self._uniform() < 0.5 else x

    def __iter__(self):
        t = self.run.model.thumb_size
        for _ in range(len(self)):
            clean = torch.cat([self.window() for _ in range(self.run.batch_size)])  # (B, 3, D, D)
            degraded = sample_light_degradation(clean, self.generator, self.run.identity_prob, self.run.mix)
            both = F.interpolate(torch.cat([clean, degraded]), size=(t, t), mode="bilinear", antialias=True)
            yield tuple(both.clamp(0, 1).chunk(2))  # clean, degraded: (B, 3, T, T) each


def light_loss(model: LightVAE, batch, run: LightRunConfig, step: int) -> dict:
    """The hybrid conditional-VAE objective of Sohn et al. (2015, eq. 8), per pixel value:
    (1 - w) [-E_q log p(x|z,y) + beta KL(q || p)] + w [-log p(x | z = mode of p(z|y), y)], with a Laplace
    likelihood of learned per-channel scale, and free bits (Kingma et al. 2016) on each latent dimension."""
    x, y = batch
    out = model(x, y)
    nll = -laplace_log_prob(x, out.recon, model.log_scale).mean()
    mode_nll = -laplace_log_prob(x, out.mode, model.log_scale).mean()
    kl_dims = out.posterior.kl(out.prior, dims=()).mean(0)  # (latent_dim,) nats per image
    values = x[0].numel()
    kl, kl_floored = kl_dims.sum() / values, kl_dims.clamp(min=run.free_bits).sum() / values
    w, beta = run.gsnn_weight, kl_weight(step, run.beta, run.kl_warmup_steps)
    loss = (1 - w) * (nll + beta * kl_floored) + w * mode_nll
    l1 = (out.mode - x).abs().mean() * 255
    return {"loss": loss, "nll": nll, "kl_nats": kl * values, "mode_nll": mode_nll, "mode_l1_255": l1}


def degraded_copies(images: list[torch.Tensor]) -> list[tuple[str, int, torch.Tensor, torch.Tensor]]:
    """(problem, image index, clean, degraded) for every validation photo and problem, seeded by the index."""
    out = []
    for i, image in enumerate(images):
        x = image.float()[None] / 255  # (1, 3, H, W)
        for name, level in VALIDATION_PROBLEMS.items():
            out.append((name, i, x, LIGHT_DEGRADATIONS[name](x, level, torch.Generator().manual_seed(1000 + i))))
    return out


@torch.no_grad()
def validate(model: LightVAE, copies: list, samples: int = 4) -> dict:
    """Per problem: PSNR (dB) of the degraded photo and of the mode against the clean one, and the samples' mean
    per-pixel std on the 0-255 scale, all at full resolution."""
    model.eval()
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for name, i, x, y in copies:
        r = model.enhance(y, samples=samples, generator=torch.Generator().manual_seed(i))
        rows.setdefault(name, []).append((psnr(x, y), psnr(x, r.mode), float(r.std.mean()) * 255))
    model.train()
    result = {}
    for name, vals in rows.items():
        n = len(vals)
        result[f"{name}_input_psnr"] = sum(v[0] for v in vals) / n
        result[f"{name}_psnr"] = sum(v[1] for v in vals) / n
        result[f"{name}_std_255"] = sum(v[2] for v in vals) / n
    return result


def train_light(run: LightRunConfig, data_root: str | Path, out: str | Path, resume: bool = False) -> LightVAE:
    """Train on ``data_root/colour_folder`` (or ``data_root`` itself) split "train", validate on split "val", then
    write ``out`` (config.json, model.safetensors, training_summary.json, README.md)."""
    data_root, out = Path(data_root), Path(out)
    seed_everything(run.trainer.seed)
    folder = data_root / run.colour_folder if (data_root / run.colour_folder).is_dir() else data_root
    images = load_folder(folder, grey=False, split="train")
    held = load_folder(folder, grey=False, split="val")[: run.val_images] if run.val_images else []
    copies = degraded_copies(held)
    model = LightVAE(run.model)
    if run.init_from:
        load_weights(model, run.init_from)
    model = model.to(pick_device())  # channels-last is slower for this small network (measured)
    batches = batch_stream(partial(ThumbnailBatches, images, run), run.steps_per_epoch, run.workers, run.trainer.seed)
    history: list[dict] = []

    def on_event(trainer: Trainer, event: str) -> None:
        if event != "epoch":
            return
        row = {"epoch": trainer.epoch, "step": trainer.step, **trainer.last_losses}
        if copies:
            row.update(validate(trainer.ema.module if trainer.ema is not None else model, copies))
        history.append(row)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
        (trainer.ema.module if trainer.ema is not None else model).save_pretrained(trainer.out_dir / "latest")

    result = run_training(
        model, lambda m, b, step: light_loss(m, b, run, step), batches, run.trainer, out, on_event, resume
    )
    if not result.is_main:
        return model
    summary = {
        "run_config": run.to_dict(),
        "data": f"{folder.name} (split train: {len(images)} photos; validation: {len(held)} held-out photos)",
        **result.fields(),
        "validation": history,
    }
    (out / "training_summary.json").write_text(json.dumps(summary, indent=2, default=list) + "\n")
    write_light_card(out, summary)
    return model
