"""Train the restoration VAE on random patches of photo folders, degraded on the fly.

    python -m vae_demo train --config configs/denoise-vae.json \
        --data ../shared/data/train --out checkpoints/denoise-vae

``--data`` is a folder holding ``CBSD432`` (colour) and ``Train400`` (grey) image folders. A run config with
``data_split`` "train" trains on them without their validation split (``vae_demo/core/splits.py``) and scores
that split after every epoch; "all" (the older recipes) trains on every photo and scores the first Set12 and
Kodak24 images (``val/`` beside the data, when present).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import ClassVar

import torch
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from vae_demo.core.config import Config
from vae_demo.core.device import pick_device
from vae_demo.core.distributions import kl_weight
from vae_demo.core.likelihoods import laplace_log_prob
from vae_demo.core.metrics import psnr
from vae_demo.core.run import run_training
from vae_demo.core.splits import split_paths
from vae_demo.core.trainer import Trainer, TrainerConfig, seed_everything
from vae_demo.core.worker_batches import batch_stream
from vae_demo.restoration.card import write_restoration_card
from vae_demo.restoration.degradations import gaussian_noise
from vae_demo.restoration.mixture import DEFAULT_STEPS, DegradationPipeline, Step
from vae_demo.restoration.model import RestorationConfig, RestorationVAE


@dataclass
class RestorationRunConfig(Config):
    """A restoration training run: model, optimisation, patches and the loss weights."""

    ignore_unknown: ClassVar[bool] = False

    model: RestorationConfig = field(default_factory=RestorationConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    family: str = "restoration"  # which model family the run trains (vae_demo.cli dispatches on it)
    colour_folder: str = "CBSD432"
    grey_folder: str = "Train400"
    grey_fraction: float = 0.35  # share of patches that are grey (fed as three equal channels)
    patch_size: int = 64
    batch_size: int = 16
    steps_per_epoch: int = 500
    beta: float = 1.0  # weight of KL(q(z|x,y) || p(z|y))
    kl_warmup_steps: int = 1000  # beta rises linearly from 0, so the decoder learns to use z first
    free_bits: float = 0.25  # nats per latent element and channel below which KL is not penalised
    blind_fraction: float = 0.25  # share of patches whose condition is hidden from the model (the blind / auto mode)
    init_from: str | None = None  # warm start: a checkpoint folder whose matching weights are copied in
    gsnn_weight: float = 0.5  # share of the prior-mode reconstruction term (Sohn et al. 2015, hybrid objective)
    # The training mixture: a list of {"name", "probability", "low", "high"} (mixture.Step); empty: the
    # default mixture of every problem. A model for one problem lists that problem's degradations alone.
    degradations: list[dict] = field(default_factory=list)
    extra_noise: float = 0.3  # share of blurred / downsampled / hazy / tinted patches that also get mild noise
    workers: int = 0  # processes drawing patches (0: this one); part of the recipe, the batches depend on it
    # "train": the validation split is left out of training and scored after every epoch; "all": every photo
    # trains and Set12 / Kodak24 (report sets) are scored, as the recipes before the split did.
    data_split: str = "all"
    val_images: int = 4  # images of each validation set scored after every epoch (their top-left 256 x 256)

    def pipeline(self) -> DegradationPipeline:
        steps = tuple(Step(**s) for s in self.degradations) if self.degradations else DEFAULT_STEPS
        return DegradationPipeline(steps, extra_noise=self.extra_noise)


def load_folder(folder: str | Path, grey: bool, split: str = "all") -> list[torch.Tensor]:
    """Every image of ``folder`` (or its ``split``: see ``core.splits``) as a uint8 (C, H, W) tensor, grey
    (1 channel) or RGB."""
    paths = split_paths(folder, split)
    if not paths:
        raise FileNotFoundError(f"no images in {folder}")
    return [TF.pil_to_tensor(Image.open(p).convert("L" if grey else "RGB")) for p in paths]


def luma(x: torch.Tensor) -> torch.Tensor:
    """ITU-R BT.601 luma of RGB images, keeping a channel axis."""
    if x.shape[-3] == 1:
        return x
    w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * w).sum(dim=-3, keepdim=True)


class PatchBatches:
    """``steps`` random batches per pass: clean patches (N, 3, P, P) in [0, 1] and which are grey."""

    def __init__(
        self, colour: list[torch.Tensor], grey: list[torch.Tensor], run: RestorationRunConfig, seed: int = 0
    ) -> None:
        self.colour, self.grey, self.run = colour, grey, run
        self.generator = torch.Generator().manual_seed(seed)
        self.pipeline = run.pipeline()

    def __len__(self) -> int:
        return self.run.steps_per_epoch

    def _randint(self, high: int) -> int:
        return int(torch.randint(high, (1,), generator=self.generator))

    def patch(self, grey: bool) -> torch.Tensor:
        p = self.run.patch_size
        pool = self.grey if grey and self.grey and self._randint(2) else self.colour
        image = pool[self._randint(len(pool))]
        top, left = self._randint(image.shape[1] - p + 1), self._randint(image.shape[2] - p + 1)
        x = image[:, top : top + p, left : left + p].float() / 255
        if grey:
            x = luma(x)
        x = torch.rot90(x, self._randint(4), dims=(1, 2))
        return x.flip(2) if self._randint(2) else x

    def __iter__(self):
        conditions = self.run.model.conditions
        for _ in range(len(self)):
            clean, degraded, sigmas = [], [], []
            codes = torch.zeros(self.run.batch_size, len(conditions))
            for i in range(self.run.batch_size):
                grey = float(torch.rand(1, generator=self.generator)) < self.run.grey_fraction
                x = self.patch(grey)[None]
                y, sigma, (condition,) = self.pipeline.with_conditions(x, self.generator)
                clean.append(x.expand(1, 3, -1, -1))
                degraded.append(y.expand(1, 3, -1, -1))
                sigmas.append(sigma)
                blind = float(torch.rand(1, generator=self.generator)) < self.run.blind_fraction
                if condition in conditions and not blind:
                    codes[i, conditions.index(condition)] = 1.0
            yield torch.cat(clean), torch.cat(degraded), torch.cat(sigmas), codes


def laplace_nll(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """-log Laplace(x; mean, b) per image, averaged over pixels (nats per pixel)."""
    return -laplace_log_prob(x, mean, log_scale).mean(dim=(1, 2, 3))


def restoration_loss(model: RestorationVAE, batch, run: RestorationRunConfig, step: int) -> dict:
    """The hybrid conditional-VAE objective of Sohn et al. (NeurIPS 2015, eq. 8), per pixel:
    (1 - w) * [-E_q log p(x|z,y) + beta * KL(q(z|x,y) || p(z|y))] + w * [-log p(x | z = mode of p(z|y), y)].
    The second term trains the decoder on the prior's mode, which is what inference decodes. The KL
    uses free bits (Kingma et al. 2016, IAF, eq. 15): each latent channel's mean KL per element is
    floored at ``free_bits``, so encoding that much costs nothing and the posterior does not collapse.
    """
    x, y, sigma, condition = batch
    x, y = (t.contiguous(memory_format=torch.channels_last) for t in (x, y))
    recon, posterior, prior, feats = model(x, y, sigma, condition)
    nll = laplace_nll(x, recon, model.log_scale).mean()
    kl_map = posterior.kl(prior, dims=())  # (N, channels, h, w)
    elements_per_pixel = kl_map[0, 0].numel() / x[0].numel()
    kl = kl_map.mean(dim=(0, 2, 3)).sum() * elements_per_pixel  # nats per pixel value
    kl_floored = kl_map.mean(dim=(0, 2, 3)).clamp(min=run.free_bits).sum() * elements_per_pixel
    mode_nll = laplace_nll(x, model.decode(prior.mode(), feats, y), model.log_scale).mean()
    w, beta = run.gsnn_weight, kl_weight(step, run.beta, run.kl_warmup_steps)
    return {"loss": (1 - w) * (nll + beta * kl_floored) + w * mode_nll, "nll": nll, "kl": kl, "mode_nll": mode_nll}


def warm_start(model: RestorationVAE, folder: str | Path) -> None:
    """Copy a checkpoint's weights into ``model``: same-shaped tensors as they are; an input layer that
    gained channels (new condition maps) keeps its old channels and starts the new ones at zero, so the
    warm-started model first computes exactly what the old one did."""
    from safetensors.torch import load_file

    old = load_file(Path(folder) / "model.safetensors")
    state = model.state_dict()
    for name, tensor in state.items():
        if name not in old:
            continue
        src = old[name]
        if src.shape == tensor.shape:
            state[name] = src
        elif src.ndim == 4 and src.shape[0] == tensor.shape[0] and src.shape[1] < tensor.shape[1]:
            grown = torch.zeros_like(tensor)
            grown[:, : src.shape[1]] = src
            state[name] = grown
        else:
            raise ValueError(f"cannot warm-start {name}: {tuple(src.shape)} -> {tuple(tensor.shape)}")
    model.load_state_dict(state)


@torch.no_grad()
def validate(model: RestorationVAE, images: list[torch.Tensor], sigma: float = 25.0, png: Path | None = None) -> dict:
    """Mean PSNR of the mode, KL per image and sample spread on clean images with Gaussian noise."""
    model.eval()
    psnrs, kls, spreads, restorations = [], [], [], []
    for i, image in enumerate(images):
        x = image.float()[None].to(model.device) / 255
        x = x[..., : x.shape[-2] // model.multiple * model.multiple, : x.shape[-1] // model.multiple * model.multiple]
        noisy = gaussian_noise(x.cpu(), sigma, torch.Generator().manual_seed(i)).to(x.device)
        x3, y = x.expand(1, 3, -1, -1), noisy.expand(1, 3, -1, -1)
        feats = model.features(y, sigma / 255, "noise" if "noise" in model.config.conditions else None)
        prior = model.prior(feats)
        restored = model.decode(prior.mode(), feats, y)
        psnrs.append(psnr(x, restored.mean(dim=1, keepdim=True) if x.shape[1] == 1 else restored))
        kls.append(model.encode(x3, y, feats).kl(prior, dims=(0, 1, 2, 3)).item())
        g = torch.Generator(device=x.device).manual_seed(0)
        samples = torch.stack([model.decode(prior.sample(g), feats, y) for _ in range(4)])
        if i == 0:
            restorations.append(torch.cat([y, restored.clamp(0, 1), x3]))
        spreads.append(samples.std(dim=0).mean().item() * 255)
    model.train()
    n = len(images)
    if png is not None and restorations:  # noisy | restored (mode) | clean, for the first image
        from torchvision.utils import save_image

        save_image(torch.cat(restorations), png, nrow=3)
    return {"psnr": sum(psnrs) / n, "kl_per_image": sum(kls) / n, "sample_std_255": sum(spreads) / n}


def validation_sets(data_root: Path, run: RestorationRunConfig) -> dict[str, list[torch.Tensor]]:
    """The images scored after every epoch (their top-left 256 x 256), by name: with ``data_split`` "train" the
    validation split of the colour and grey folders ("CBSD432_val", "Train400_val"), else the first Set12 and
    Kodak24 images beside the data."""
    if run.data_split == "train":
        folders = {run.colour_folder: False, run.grey_folder: True}
        sets = {
            f"{name}_val": load_folder(data_root / name, grey, split="val")[: run.val_images]
            for name, grey in folders.items()
            if (data_root / name).is_dir() and split_paths(data_root / name, "val")
        }
    else:
        val_root = data_root.parent / "val"
        sets = {
            name: load_folder(val_root / name, grey=name == "Set12")[: run.val_images]
            for name in ("Set12", "Kodak24")
            if (val_root / name).is_dir()
        }
    return {k: [im[:, :256, :256] for im in v] for k, v in sets.items()}


def train_restoration(
    run: RestorationRunConfig, data_root: str | Path, out: str | Path, resume: bool = False
) -> RestorationVAE:
    if run.data_split not in ("all", "train"):
        raise ValueError(f"data_split must be 'all' or 'train', got {run.data_split!r}")
    data_root = Path(data_root)
    seed_everything(run.trainer.seed)
    colour = load_folder(data_root / run.colour_folder, grey=False, split=run.data_split)
    grey_dir = data_root / run.grey_folder
    grey = load_folder(grey_dir, grey=True, split=run.data_split) if grey_dir.is_dir() else []
    val_sets = validation_sets(data_root, run)
    model = RestorationVAE(run.model)
    if run.init_from:
        warm_start(model, run.init_from)
    # Channels-last (NHWC) weights and activations: about 30% faster convolutions on a CPU.
    model = model.to(pick_device(), memory_format=torch.channels_last)
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    seed = run.trainer.seed + rank  # each rank draws its own patches
    batches = batch_stream(partial(PatchBatches, colour, grey, run), run.steps_per_epoch, run.workers, seed)
    history: list[dict] = []

    def on_event(trainer: Trainer, event: str) -> None:
        if event != "epoch":
            return
        row = {"epoch": trainer.epoch, "step": trainer.step, **trainer.last_losses}
        for name, images in val_sets.items():
            png = trainer.out_dir / f"{name}_epoch{trainer.epoch:03d}.png"
            row.update({f"{name}_{k}": v for k, v in validate(model, images, png=png).items()})
        history.append(row)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
        model.save_pretrained(trainer.out_dir / "latest")  # a loadable snapshot while training goes on

    result = run_training(
        model, lambda m, b, step: restoration_loss(m, b, run, step), batches, run.trainer, out, on_event, resume
    )
    if not result.is_main:  # rank 0 writes the checkpoint folder
        return model
    summary = {
        "run_config": asdict(run),
        **result.fields(),
        "validation": history,
    }
    (Path(out) / "training_summary.json").write_text(json.dumps(summary, indent=2, default=list) + "\n")
    write_restoration_card(Path(out), json.loads(json.dumps(summary, default=list)))
    return model
