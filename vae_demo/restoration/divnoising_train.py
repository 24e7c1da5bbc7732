"""Train a DivNoising VAE on a folder of noisy images alone (its only data), with the shared run skeleton.

    vae-demo make-noisy --data ../shared/data/train/Train400 --sigma 25 --seed 0 \
        --out ~/.cache/vae-demo/data/Train400-sigma25
    vae-demo train --config configs/divnoising-vae.json --data ~/.cache/vae-demo/data/Train400-sigma25 \
        --out checkpoints/divnoising-vae

``--data`` is the noisy folder itself; nothing else is read (no clean image, no validation set: the
held-out images are the last ``val_images`` noisy files, scored by their ELBO; with ``data_split`` "train"
the noisy copies of the source folder's validation split, ``vae_demo/core/splits.py``, are held out and the
first ``val_images`` of them scored). The folder's
``noisy_copy.json`` (from ``make-noisy``), when present, must agree with the config's noise model, and
is recorded in ``training_summary.json`` and the model card with the folder's path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from vae_demo.core.config import Config
from vae_demo.core.distributions import kl_weight
from vae_demo.core.run import run_training
from vae_demo.core.splits import validation_names
from vae_demo.core.trainer import Trainer, TrainerConfig, seed_everything
from vae_demo.restoration.divnoising import DivNoisingConfig, DivNoisingVAE, denoise, divnoising_loss
from vae_demo.restoration.noise_models import NoiseModel, noise_model_from_dict
from vae_demo.restoration.noisy_copy import image_paths, read_manifest


@dataclass
class DivNoisingRunConfig(Config):
    """A DivNoising run: the model (with its noise model), optimisation, patches and the KL schedule."""

    ignore_unknown: ClassVar[bool] = False

    model: DivNoisingConfig = field(default_factory=DivNoisingConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    family: str = "divnoising"  # which model family the run trains (vae_demo.cli dispatches on it)
    patch_size: int = 64
    batch_size: int = 16
    steps_per_epoch: int = 500
    beta: float = 1.0  # weight of the KL term (1: the ELBO)
    kl_warmup_steps: int = 500  # beta rises linearly from 0, so the decoder learns to use z first
    val_images: int = 8  # the last noisy files by name, held out: their ELBO after each epoch
    # "train": the noisy copies of the validation split (core.splits) are held out instead (needs noisy_copy.json)
    data_split: str = "all"


def held_out(paths: list[Path], run: DivNoisingRunConfig, manifest: dict | None) -> tuple[list[Path], list[Path]]:
    """(training files, held-out files): the last ``val_images`` by name, or with ``data_split`` "train" every
    noisy copy of a validation photo (the first ``val_images`` of them are scored)."""
    if run.data_split == "all":
        return paths[: len(paths) - run.val_images], paths[len(paths) - run.val_images :]
    if run.data_split != "train":
        raise ValueError(f"data_split must be 'all' or 'train', got {run.data_split!r}")
    if manifest is None:
        raise ValueError("data_split 'train' needs the noisy folder's noisy_copy.json to know each file's source")
    source = Path(manifest["source"]).name
    held = {f["name"] for f in manifest["files"] if f"{source}/{f['source']}" in validation_names()}
    val = [p for p in paths if p.name in held]
    if not val:
        raise ValueError(f"no file of the noisy copy of {source} is in the validation split (core/splits.py)")
    return [p for p in paths if p.name not in held], val


def load_noisy(paths: list[Path], channels: int) -> list[torch.Tensor]:
    """uint8 (C, H, W) tensors; for a grey model each channel of a colour file is a grey image of its own
    (white noise is independent per channel, so each channel has the same noise model)."""
    images = []
    for path in paths:
        with Image.open(path) as img:
            grey = img.mode in ("L", "I;16", "I", "1")
            if channels == 3 and grey:
                raise ValueError(f"{path} is grey: a colour (3-channel) model needs colour noisy images")
            x = TF.pil_to_tensor(img.convert("L" if grey else "RGB"))
        images.extend(x.split(1) if channels == 1 else [x])
    return images


class NoisyPatches:
    """``steps`` random batches per pass: noisy patches (B, C, P, P) in [0, 1], flipped and rotated."""

    def __init__(self, images: list[torch.Tensor], run: DivNoisingRunConfig, seed: int = 0) -> None:
        self.images = [im for im in images if min(im.shape[1:]) >= run.patch_size]
        if not self.images:
            raise ValueError(f"no noisy image is at least {run.patch_size} pixels on each side")
        self.run = run
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.run.steps_per_epoch

    def _randint(self, high: int) -> int:
        return int(torch.randint(high, (1,), generator=self.generator))

    def patch(self) -> torch.Tensor:
        p = self.run.patch_size
        image = self.images[self._randint(len(self.images))]
        top, left = self._randint(image.shape[1] - p + 1), self._randint(image.shape[2] - p + 1)
        y = image[:, top : top + p, left : left + p].float() / 255  # (C, P, P)
        y = torch.rot90(y, self._randint(4), dims=(1, 2))
        return y.flip(2) if self._randint(2) else y

    def __iter__(self):
        for _ in range(len(self)):
            yield torch.stack([self.patch() for _ in range(self.run.batch_size)])  # (B, C, P, P)


@torch.no_grad()
def validate(model: DivNoisingVAE, images: list[torch.Tensor], noise: NoiseModel, crop: int = 128) -> dict:
    """On held-out noisy images (centre crops): the negative ELBO per pixel and its terms (nats), the KL per
    image and the spread of 4 posterior samples (0-255 scale). No clean image is needed or read."""
    model.eval()
    rows = []
    for i, image in enumerate(images):
        h, w = (min(crop, d) // model.multiple * model.multiple for d in image.shape[1:])
        top, left = (image.shape[1] - h) // 2, (image.shape[2] - w) // 2
        y = image[None, :, top : top + h, left : left + w].float() / 255
        terms = divnoising_loss(model, y, noise, generator=torch.Generator().manual_seed(i))
        out = denoise(model, y, k=4, seed=i)
        rows.append({**{k: v.item() for k, v in terms.items()}, "kl_image": out.kl_per_image, "std": out.std.mean()})
    model.train()
    n = len(rows)
    return {
        "val_neg_elbo": sum(r["loss"] for r in rows) / n,
        "val_nll": sum(r["nll"] for r in rows) / n,
        "val_kl_per_pixel": sum(r["kl"] for r in rows) / n,
        "val_kl_per_image": sum(r["kl_image"] for r in rows) / n,
        "val_sample_std_255": float(sum(r["std"] for r in rows) / n * 255),
    }


def train_divnoising(
    run: DivNoisingRunConfig, data_root: str | Path, out: str | Path, resume: bool = False
) -> DivNoisingVAE:
    """Train on the noisy images of ``data_root`` alone; write ``out`` (weights, config, summary, model card)."""
    from vae_demo.restoration.divnoising_card import write_divnoising_card

    folder = Path(data_root).expanduser().resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder of noisy images at {folder} (make one with `vae-demo make-noisy`)")
    noise = noise_model_from_dict(run.model.noise_model)
    manifest = read_manifest(folder)
    told = run.model.noise_model
    if manifest is not None and told.get("kind") == "gaussian" and abs(manifest["sigma"] - told["sigma"]) > 1e-6:
        raise ValueError(
            f"{folder} has noise of sigma {manifest['sigma']:g} but the config's noise model says {told['sigma']:g}"
        )
    paths = image_paths(folder)
    if len(paths) <= run.val_images:
        raise FileNotFoundError(f"{folder} holds {len(paths)} images; need more than val_images = {run.val_images}")
    train_paths, val_paths = held_out(paths, run, manifest)
    seed_everything(run.trainer.seed)
    channels = run.model.image_channels
    images, val_images = load_noisy(train_paths, channels), load_noisy(val_paths[: run.val_images], channels)
    model = DivNoisingVAE(run.model)
    batches = NoisyPatches(images, run, seed=run.trainer.seed)
    history: list[dict] = []

    def on_event(trainer: Trainer, event: str) -> None:
        if event != "epoch":
            return
        row = {"epoch": trainer.epoch, "step": trainer.step, **trainer.last_losses}
        row.update(validate(trainer.ema.module if trainer.ema is not None else model, val_images, noise))
        history.append(row)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)

    def loss(m: DivNoisingVAE, y: torch.Tensor, step: int) -> dict:
        return divnoising_loss(m, y, noise, kl_weight(step, run.beta, run.kl_warmup_steps))

    result = run_training(model, loss, batches, run.trainer, out, callback=on_event, resume=resume)
    if not result.is_main:
        return model
    summary = {
        "run_config": run.to_dict(),
        "data": {
            "folder": str(folder),
            "train_files": [p.name for p in train_paths],
            "held_out_files": [p.name for p in val_paths],
            "manifest": manifest and {k: v for k, v in manifest.items() if k != "files"},
        },
        **result.fields(),
        "validation": history,
    }
    (Path(out) / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_divnoising_card(Path(out), summary)
    return model
