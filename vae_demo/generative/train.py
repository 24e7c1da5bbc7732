"""Train a ConvVAE from a JSON run config and save it as a bundled checkpoint folder.

python -m vae_demo train --config configs/mnist-vae.json --data ../shared/data/mnist --out checkpoints/mnist-vae
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar

import torch
from safetensors.torch import save_file
from torch.utils.data import DataLoader, TensorDataset
from torchvision.utils import save_image

from vae_demo.core.config import Config
from vae_demo.core.device import pick_device
from vae_demo.core.distributions import kl_weight
from vae_demo.core.model_card import write_model_card
from vae_demo.core.run import run_training
from vae_demo.core.trainer import Trainer, TrainerConfig, seed_everything
from vae_demo.generative.data import (
    AugmentedImages,
    dynamic_binarize,
    load_hf_images,
    load_image_folder,
    load_mnist,
    load_olivetti,
    load_torchvision,
    shuffled_loader,
    split_by_subject,
)
from vae_demo.generative.evaluate import evaluate
from vae_demo.generative.losses import elbo_loss, label_kwargs
from vae_demo.generative.model import ConvVAE, VAEConfig


@dataclass
class RunConfig(Config):
    """A whole training run: the model, the data and the optimisation."""

    ignore_unknown: ClassVar[bool] = False

    family: str = "generative"  # which model family the run trains (vae_demo.cli dispatches on it)
    model: VAEConfig = field(default_factory=VAEConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    dataset: str = "mnist"  # mnist | fashion-mnist | cifar10 | olivetti | folder | hf:NAME (Hugging Face datasets)
    batch_size: int = 128
    beta: float = 1.0
    kl_warmup_steps: int = 2000
    free_bits: float = 0.0
    binarize: bool = True
    test_subjects: tuple[int, ...] = (35, 36, 37, 38, 39)
    eval_k: int = 100


LABELLED_DATASETS = ("mnist", "fashion-mnist", "cifar10")  # a class-conditional model trains on these


def load_splits(run: RunConfig, root: str | Path, download: bool = False, train_labels: bool = False):
    """(train images, test images, test labels) for the run's dataset; with ``train_labels``
    (a class-conditional run) (train images, train labels, test images, test labels)."""
    if train_labels and run.dataset not in LABELLED_DATASETS:
        raise ValueError(
            f"a class-conditional model (num_classes > 0) needs labelled data: "
            f"{', '.join(LABELLED_DATASETS)}; got {run.dataset!r}"
        )
    if run.dataset in LABELLED_DATASETS:
        if run.dataset == "mnist":
            train_x, train_y = load_mnist(root, train=True, download=download)
            test_x, test_y = load_mnist(root, train=False, download=download)
        else:
            train_x, train_y = load_torchvision(run.dataset, root, train=True, download=download)
            test_x, test_y = load_torchvision(run.dataset, root, train=False, download=download)
        return (train_x, train_y, test_x, test_y) if train_labels else (train_x, test_x, test_y)
    if run.dataset == "olivetti":
        images, subjects = load_olivetti(root)
        train_idx, test_idx = split_by_subject(subjects, run.test_subjects)
        return images[train_idx], images[test_idx], subjects[test_idx]
    cfg = run.model
    if run.dataset == "folder":
        train_x, test_x = load_image_folder(root, cfg.image_size, cfg.in_channels)
        return train_x, test_x, torch.zeros(len(test_x), dtype=torch.int64)
    if run.dataset.startswith("hf:"):
        name = run.dataset[3:]
        train_x = load_hf_images(name, cfg.image_size, cfg.in_channels, "train")
        test_x = load_hf_images(name, cfg.image_size, cfg.in_channels, "test")
        return train_x, test_x, torch.zeros(len(test_x), dtype=torch.int64)
    raise ValueError(f"unknown dataset {run.dataset!r}: mnist, fashion-mnist, cifar10, olivetti, folder or hf:NAME")


@torch.no_grad()
def save_test_latents(model: ConvVAE, test_x: torch.Tensor, test_y: torch.Tensor, conditional: bool, out: Path) -> None:
    """``test_latents.safetensors``: the posterior means of the test images and their labels (2-D models)."""
    mu = torch.cat(
        [
            model.encode(
                test_x[i : i + 500].to(model.device), **label_kwargs(test_y[i : i + 500] if conditional else None)
            )[0].cpu()
            for i in range(0, len(test_x), 500)
        ]
    )
    save_file({"mu": mu.contiguous(), "labels": test_y.to(torch.int64)}, out / "test_latents.safetensors")


def train(
    run: RunConfig, data_root: str | Path, out: str | Path, resume: bool = False, download: bool = False
) -> ConvVAE:
    seed_everything(run.trainer.seed)
    conditional = run.model.num_classes > 0
    if conditional:  # the loader yields (images, labels)
        train_x, train_y, test_x, test_y = load_splits(run, data_root, download=download, train_labels=True)
        dataset = TensorDataset(train_x, train_y)
    else:
        train_x, test_x, test_y = load_splits(run, data_root, download=download)
        dataset = AugmentedImages(train_x) if run.dataset in ("olivetti", "folder") else TensorDataset(train_x)
    test_labels = test_y if conditional else None
    if torch.distributed.is_initialized():  # torchrun: each rank reads its own share, reshuffled every epoch
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(dataset, shuffle=True, seed=run.trainer.seed, drop_last=True)
        loader = DataLoader(dataset, batch_size=run.batch_size, sampler=sampler, drop_last=True)
    else:
        loader = shuffled_loader(dataset, run.batch_size, run.trainer.seed)
    model = ConvVAE(run.model).to(pick_device())

    def loss_fn(model: ConvVAE, batch, step: int) -> dict:
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        y = batch[1] if conditional else None
        if run.binarize:
            x = dynamic_binarize(x)
        beta = kl_weight(step, run.beta, run.kl_warmup_steps)
        return elbo_loss(model, x, beta=beta, free_bits=run.free_bits, y=y)

    eval_x = dynamic_binarize(test_x, torch.Generator().manual_seed(0)) if run.binarize else test_x

    def on_event(trainer: Trainer, event: str) -> None:
        if event != "epoch":
            return
        model.eval()
        with torch.no_grad():
            metrics = evaluate(model, eval_x[:1000], labels=None if test_labels is None else test_labels[:1000])
            n, nrow = (80, 10) if conditional else (64, 8)  # conditional: column j shows digit j
            z = torch.randn(n, run.model.latent_dim, generator=torch.Generator().manual_seed(0)).to(model.device)
            y = (torch.arange(n, device=model.device) % nrow) if conditional else None
            samples = model.decode_mean(z, **label_kwargs(y))
            save_image(samples, trainer.out_dir / f"samples_epoch{trainer.epoch:03d}.png", nrow=nrow)
            x = eval_x[:8].to(model.device)  # top row: test images; bottom row: their reconstructions
            y = test_labels[:8].to(model.device) if conditional else None
            recon = model.decode_mean(model.posterior(x, **label_kwargs(y)).mode(), **label_kwargs(y))
            save_image(torch.cat([x, recon]), trainer.out_dir / f"reconstructions_epoch{trainer.epoch:03d}.png", nrow=8)
        print(
            f"epoch {trainer.epoch}: step {trainer.step} test ELBO (1000 images) {metrics['elbo_nats']:.2f} nats",
            flush=True,
        )
        model.train()

    result = run_training(model, loss_fn, loader, run.trainer, out, on_event, resume)
    if not result.is_main:  # rank 0 evaluates and writes the checkpoint folder
        return model

    metrics = evaluate(model, eval_x, k=run.eval_k, progress=True, labels=test_labels)
    if run.model.latent_dim == 2:  # the latent scatter the app draws for 2-D models
        save_test_latents(model, test_x, test_y, conditional, Path(out))
    write_model_card(
        out,
        run_config=asdict(run),
        metrics=metrics,
        steps=result.steps,
        wall_seconds=result.wall_seconds,
        resumed_from=result.resumed_from,
        hardware=result.hardware,
    )
    print(json.dumps(metrics))
    return model
