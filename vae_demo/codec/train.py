"""Train the variable-rate codec on random crops of a photo folder with the project's Trainer.

    python -m vae_demo train --config configs/codec-vae.json --data ../shared/data/train/CBSD432

The loss is the rate-distortion Lagrangian of Ballé et al.: bits per pixel + lambda * 255^2 * MSE,
with each image's lambda drawn from the model's levels, plus the entropy bottleneck's auxiliary
loss (which reaches only the bottleneck's ``quantiles``: the main loss never touches them while
training, and the aux loss sees every other parameter detached).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import ClassVar

import torch
from torchvision.transforms.v2 import functional as TF

from vae_demo.codec.card import write_codec_card
from vae_demo.codec.model import CodecConfig, HyperpriorCodec
from vae_demo.core.config import Config
from vae_demo.core.device import pick_device
from vae_demo.core.run import run_training
from vae_demo.core.trainer import Trainer, TrainerConfig, seed_everything
from vae_demo.core.worker_batches import batch_stream
from vae_demo.restoration.train import load_folder, luma


@dataclass
class CodecRunConfig(Config):
    """A codec training run: model, optimisation and crops."""

    ignore_unknown: ClassVar[bool] = False

    model: CodecConfig = field(default_factory=CodecConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    family: str = "codec"  # which model family the run trains (vae_demo.cli dispatches on it)
    crop_size: int = 128  # a multiple of 64
    batch_size: int = 8
    steps_per_epoch: int = 250
    aux_weight: float = 1.0  # weight of the entropy bottleneck's quantile loss
    aux_lr: float | None = None  # quantiles in an AdamW group of their own at this lr, outside the clip (None: shared)
    val_images: int = 2  # validation photos (centre 256 x 256) coded for real after every epoch
    data_split: str = "all"  # "train": the validation split is left out and validates; "all": Kodak24 validates
    scale_min: float = 1.0  # each crop is taken at a random scale in [scale_min, 1] (1: always full size)
    grey_fraction: float = 0.0  # share of crops made grey (three equal channels)
    init_from: str | None = None  # warm start from a codec checkpoint folder (its gains too, for the same lambdas)
    workers: int = 0  # processes drawing crops (0: this one); part of the recipe, the batches depend on it


class CropBatches:
    """``steps`` random batches per pass: crops (B, 3, P, P) in [0, 1] and one quality level per crop."""

    def __init__(self, images: list[torch.Tensor], run: CodecRunConfig, seed: int = 0) -> None:
        self.images, self.run = [im for im in images if min(im.shape[1:]) >= run.crop_size], run
        if not self.images:
            raise ValueError(f"no image is at least {run.crop_size} pixels on each side")
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.run.steps_per_epoch

    def _randint(self, high: int) -> int:
        return int(torch.randint(high, (1,), generator=self.generator))

    def _uniform(self) -> float:
        return float(torch.rand((), generator=self.generator))

    def crop(self) -> torch.Tensor:
        """One augmented crop (3, P, P): a random window (shrunk to P from a random scale when ``scale_min`` < 1),
        a quarter turn and a flip, and grey with probability ``grey_fraction``."""
        p, run = self.run.crop_size, self.run
        image = self.images[self._randint(len(self.images))]
        side = p
        if run.scale_min < 1:  # a window of P / s pixels, shrunk to P: the photo seen at scale s
            scale = run.scale_min + (1 - run.scale_min) * self._uniform()
            side = min(round(p / scale), *image.shape[1:])
        top, left = self._randint(image.shape[1] - side + 1), self._randint(image.shape[2] - side + 1)
        x = image[:, top : top + side, left : left + side].float() / 255  # (3, side, side)
        if side != p:
            x = TF.resize(x, [p, p], antialias=True).clamp_(0, 1)  # (3, P, P)
        if run.grey_fraction > 0 and self._uniform() < run.grey_fraction:
            x = luma(x).expand(3, -1, -1)
        x = torch.rot90(x, self._randint(4), dims=(1, 2))
        return x.flip(2) if self._randint(2) else x

    def __iter__(self):
        levels = len(self.run.model.lambdas)
        for _ in range(len(self)):
            x = torch.stack([self.crop() for _ in range(self.run.batch_size)])  # (B, 3, P, P)
            quality = torch.randint(levels, (self.run.batch_size,), generator=self.generator)  # (B,)
            yield x, quality


def rd_loss(model: HyperpriorCodec, batch, run: CodecRunConfig) -> dict:
    """Per image bpp + lambda * 255^2 * MSE, averaged; plus ``aux_weight`` times the aux loss."""
    x, quality = batch
    out = model(x.contiguous(memory_format=torch.channels_last), quality)
    pixels = x.shape[-2] * x.shape[-1]
    bits = sum(torch.log(lk).sum(dim=(1, 2, 3)) for lk in out["likelihoods"].values()) / -math.log(2)  # (B,)
    bpp = bits / pixels
    mse = (out["x_hat"] - x).pow(2).mean(dim=(1, 2, 3))  # (B,)
    lambdas = torch.tensor(model.config.lambdas, device=x.device)[quality]  # (B,)
    aux = model.aux_loss()
    loss = (bpp + lambdas * 255**2 * mse).mean() + run.aux_weight * aux
    psnr = (10 * torch.log10(1 / mse.detach().clamp(min=1e-10))).mean()
    return {"loss": loss, "bpp": bpp.mean(), "mse255": mse.mean() * 255**2, "psnr": psnr, "aux": aux}


@torch.no_grad()
def validate(model: HyperpriorCodec, images: list[torch.Tensor]) -> dict:
    """Real coded bpp and PSNR at the lowest and highest level on centre crops (a copy of the model)."""
    import copy

    from vae_demo.codec.bitstream import decode_image, encode_image

    codec = copy.deepcopy(model).cpu().eval()
    codec.finalize()
    row = {}
    for quality in (0, codec.levels - 1):
        bpps, psnrs = [], []
        for image in images:
            x = image[:, :256, :256]
            data = encode_image(codec, x, quality)
            y = decode_image(codec, data)
            bpps.append(len(data) * 8 / (x.shape[1] * x.shape[2]))
            mse = (x.float() - y.float()).pow(2).mean().item()
            psnrs.append(10 * math.log10(255**2 / max(mse, 1e-10)))
        row[f"q{quality}_bpp"], row[f"q{quality}_psnr"] = sum(bpps) / len(bpps), sum(psnrs) / len(psnrs)
    return row


def warm_start(model: HyperpriorCodec, folder: str | Path) -> None:
    """Copy a codec checkpoint's weights into ``model``: all of them when it was trained for the same levels
    (lambdas), else the transforms and entropy models alone, the gain tables keeping their initial values.
    A ``model`` with a wider latent (larger M, same N) gets the source in its first M channels (``widen``)."""
    from safetensors.torch import load_file

    lambdas = json.loads((Path(folder) / "config.json").read_text()).get("lambdas")
    same_levels = lambdas is not None and list(lambdas) == list(model.config.lambdas)
    weights = load_file(Path(folder) / "model.safetensors")
    state = {k: v.float() if v.is_floating_point() else v for k, v in weights.items() if same_levels or "gain" not in k}
    if "gain" in state and state["gain"].shape[1] < model.config.M:
        state = widen(state, model.state_dict())
    if model.h_m is not None and not any(k.startswith("h_m.") for k in state):
        state.update(zero_means(state))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or missing and (same_levels or any("gain" not in k for k in missing)):
        raise ValueError(f"cannot warm-start from {folder}: missing {missing}, unexpected {unexpected}")


# The tensors with a latent-sized axis, and that axis (every other tensor is the same for any M).
LATENT_AXIS = {
    "g_a.6.weight": 0,  # Conv2d (out = M, in, k, k): the last layer of the analysis transform
    "g_a.6.bias": 0,
    "g_s.0.weight": 0,  # ConvTranspose2d (in = M, out, k, k): the first layer of the synthesis transform
    "h_a.0.weight": 1,  # Conv2d (out, in = M, k, k)
    "h_s.4.weight": 0,  # Conv2d (out = M, in, k, k): one predicted scale per latent channel
    "h_s.4.bias": 0,
    "gain": 1,  # (levels, M)
    "inv_gain": 1,
}


def widen(source: dict[str, torch.Tensor], fresh: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state of a codec with more latent channels (M) that starts as the trained ``source``: each tensor's
    leading block is the source's, the rest keeps a tenth of ``fresh``'s initial values, so the new channels
    start near zero, cost few bits (small predicted scales) and barely move the decoded picture; their gains
    start at the mean of the old ones."""
    state = dict(source)  # everything without a latent axis as it is
    m_old = source["gain"].shape[1]
    for key, axis in LATENT_AXIS.items():
        old, new = source[key], fresh[key].clone()
        new[tuple(slice(0, n) for n in old.shape)] = old
        added = (slice(None),) * axis + (slice(m_old, None),)  # the new channels along the latent axis
        if key in ("gain", "inv_gain"):
            new[added] = old.mean(dim=1, keepdim=True)  # (levels, 1)
        elif key == "h_s.4.bias":  # the new channels' scales start small (cheap zeros) but above ReLU's dead zone
            new[added] = 0.15  # scale 0.15: a zero costs 0.001 bits
        else:
            new[added] *= 0.1
        state[key] = new
    return state


def zero_means(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``h_m``'s tensors for a scale-only source: its trunk a copy of ``h_s``'s (the same features of z), its
    last layer zero, so the mean-scale model starts as the source (every mean 0) and learns means from there."""
    means = {k.replace("h_s.", "h_m.", 1): v.clone() for k, v in state.items() if k.startswith("h_s.")}
    means["h_m.4.weight"].zero_()
    means["h_m.4.bias"].zero_()
    return means


def optimiser_groups(model: HyperpriorCodec, run: CodecRunConfig) -> list[dict] | None:
    """With ``run.aux_lr``: the bottleneck's quantiles apart (their own lr, outside the gradient clip, as in
    CompressAI's examples, which give them an optimiser of their own), everything else in the main group.
    Shared, their gradient (norm about 300, against 1-5 for the rest) sets the clip for every parameter."""
    if run.aux_lr is None:
        return None
    named = list(model.named_parameters())
    aux = [p for n, p in named if n.endswith("quantiles")]
    main = [p for n, p in named if not n.endswith("quantiles")]
    return [{"params": main}, {"params": aux, "lr": run.aux_lr, "clip": False}]


def validation_images(folder: Path, run: CodecRunConfig) -> list[torch.Tensor]:
    """The photos coded after every epoch: the validation split of ``folder`` (``data_split`` "train"), else
    Kodak24 beside the data (the older recipes)."""
    if not run.val_images:
        return []
    if run.data_split == "train":
        return load_folder(folder, grey=False, split="val")[: run.val_images]
    kodak = next((p for p in (folder.parent.parent / "val/Kodak24", folder.parent / "val/Kodak24") if p.is_dir()), None)
    return load_folder(kodak, grey=False)[: run.val_images] if kodak else []


def train_codec(run: CodecRunConfig, data_root: str | Path, out: str | Path, resume: bool = False) -> HyperpriorCodec:
    """Train, then write ``out`` (config.json, model.safetensors, training_summary.json, README.md)."""
    data_root, out = Path(data_root), Path(out)
    if run.crop_size % HyperpriorCodec.multiple:
        raise ValueError(f"crop_size must be a multiple of {HyperpriorCodec.multiple}, got {run.crop_size}")
    seed_everything(run.trainer.seed)
    folder = data_root / "CBSD432" if (data_root / "CBSD432").is_dir() else data_root
    images = load_folder(folder, grey=False, split=run.data_split)
    val_images = validation_images(folder, run)
    model = HyperpriorCodec(run.model)
    if run.init_from:
        warm_start(model, run.init_from)
    # Channels-last (NHWC) weights and activations: about 30% faster convolutions on a CPU.
    model = model.to(pick_device(), memory_format=torch.channels_last)
    batches = batch_stream(partial(CropBatches, images, run), run.steps_per_epoch, run.workers, run.trainer.seed)
    history: list[dict] = []

    def on_event(trainer: Trainer, event: str) -> None:
        if event != "epoch":
            return
        row = {"epoch": trainer.epoch, "step": trainer.step, **trainer.last_losses}
        if val_images:
            row.update(validate(trainer.ema.module if trainer.ema is not None else model, val_images))
        history.append(row)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)

    result = run_training(
        model,
        lambda m, b, step: rd_loss(m, b, run),
        batches,
        run.trainer,
        out,
        callback=on_event,
        resume=resume,
        before_save=model.finalize,  # entropy tables from the final weights, so coding is bit-exact
        param_groups=optimiser_groups(model, run),
    )
    if not result.is_main:
        return model
    summary = {
        "run_config": run.to_dict(),
        "data": str(folder.name),
        **result.fields(),
        "validation": history,
    }
    (out / "training_summary.json").write_text(json.dumps(summary, indent=2, default=list) + "\n")
    write_codec_card(out, json.loads(json.dumps(summary, default=list)))
    return model
