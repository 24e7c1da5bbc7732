"""A small training loop that knows nothing of the model (after minGPT's Trainer).

The caller gives a model, a ``loss_fn(model, batch, step) -> dict`` whose ``"loss"`` is minimised,
an iterable of batches, and one ``callback(trainer, event)`` hook called with ``"step"`` and
``"epoch"``. Checkpoints hold the model, optimiser, scheduler, EMA, step and RNG states and are
written atomically (temp file + rename), so a crash never leaves a half-written file behind.

Under ``torchrun`` (``torch.distributed`` initialised) the loss is computed inside a
``DistributedDataParallel`` wrapper, so gradients are averaged over ranks; only rank 0 logs, calls
the callback and writes checkpoints. Batches are moved to the model's device.

Resuming is exact: if the batches have a ``generator`` (a ``torch.Generator`` that decides their
order, as a ``DataLoader`` or ``PatchBatches`` has), its state at the start of the epoch is saved
with the number of batches already drawn, and a resume replays the same order from there.
"""

from __future__ import annotations

import csv
import math
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from tqdm.auto import tqdm

from vae_demo.core.config import Config

LossFn = Callable[[torch.nn.Module, object, int], dict]
Callback = Callable[["Trainer", str], None]


class LossModule(torch.nn.Module):
    """``loss_fn(model, batch, step)`` as a module's forward, so DistributedDataParallel sees every
    parameter the loss uses, whichever of the model's methods the loss calls."""

    def __init__(self, model: torch.nn.Module, loss_fn: LossFn) -> None:
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, batch, step: int) -> dict:
        return self.loss_fn(self.model, batch, step)


def to_device(batch, device: torch.device):
    """Move the tensors of a batch (a tensor, or a tuple / list of them) to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, device) for b in batch)
    return batch


def is_main_process() -> bool:
    return not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0


@dataclass
class TrainerConfig(Config):
    ignore_unknown: ClassVar[bool] = False

    max_epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 100.0
    warmup_steps: int = 200
    checkpoint_every: int = 1000
    max_bad_steps: int = 20
    seed: int = 0
    out_dir: str = "runs/vae"
    max_steps: int = 0  # stop after this many optimiser steps (0: run every epoch)
    ema_decay: float = 0.0  # keep an exponential moving average of the weights (0: off)
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    log_every: int = 50


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def atomic_save(obj: object, path: str | Path) -> None:
    """torch.save to a temp file in the same folder, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Trainer:
    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: LossFn,
        batches: Iterable,
        config: TrainerConfig,
        callback: Callback | None = None,
        param_groups: list[dict] | None = None,
    ) -> None:
        """``param_groups`` (default: one group of every parameter) are AdamW's groups: a group's own
        ``"lr"`` replaces ``config.lr`` for it, and ``"clip": False`` keeps it out of the gradient clip."""
        self.model, self.loss_fn, self.batches, self.config = model, loss_fn, batches, config
        self.callback = callback or (lambda trainer, event: None)
        groups = param_groups or [{"params": list(model.parameters())}]
        self.optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
        groups_of = {True: [], False: []}
        for g in self.optimizer.param_groups:
            groups_of[g.get("clip", True)].extend(g["params"])
        self.clipped, self.unclipped = groups_of[True], groups_of[False]
        self.total_steps = config.max_epochs * len(batches)  # type: ignore[arg-type]
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.step, self.epoch, self.bad_steps = 0, 0, 0
        self.epoch_batch = 0  # batches drawn in the current epoch (good or skipped)
        self.last_losses: dict[str, float] = {}
        self.out_dir = Path(config.out_dir)
        self.checkpoint_path = self.out_dir / "trainer_state.pt"
        self.ema = None
        if config.ema_decay > 0:
            from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

            self.ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
        self.is_main = is_main_process()
        self.compute = LossModule(model, loss_fn)
        if torch.distributed.is_initialized():
            from torch.nn.parallel import DistributedDataParallel

            device = next(model.parameters()).device
            self.compute = DistributedDataParallel(self.compute, device_ids=[device] if device.type == "cuda" else None)
        self._data_rng = getattr(batches, "generator", None)
        self._epoch_start_rng = self._data_rng.get_state() if self._data_rng is not None else None
        self._writer = None

    def _lr_factor(self, step: int) -> float:
        """Linear warm-up, then cosine decay to 5% of the peak rate."""
        if step < self.config.warmup_steps:
            return (step + 1) / self.config.warmup_steps
        progress = min(1.0, (step - self.config.warmup_steps) / max(1, self.total_steps - self.config.warmup_steps))
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))

    # --- checkpoints ------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        if not self.is_main:
            return
        atomic_save(
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "step": self.step,
                "epoch": self.epoch,
                "epoch_batch": self.epoch_batch,
                "data_rng_epoch_start": self._epoch_start_rng,
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            },
            self.checkpoint_path,
        )

    def load_checkpoint(self) -> bool:
        """Restore a previous run's state from ``out_dir``; False when there is none."""
        if not self.checkpoint_path.exists():
            return False
        state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=False)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.epoch = state["step"], state["epoch"]
        self.epoch_batch = state.get("epoch_batch", 0)
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        if self._data_rng is not None and state.get("data_rng_epoch_start") is not None:
            self._epoch_start_rng = state["data_rng_epoch_start"]
            self._data_rng.set_state(self._epoch_start_rng)
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        return True

    # --- the loop ---------------------------------------------------------------------------
    def _done(self) -> bool:
        return self.config.max_steps > 0 and self.step >= self.config.max_steps

    def run(self) -> None:
        cfg = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.out_dir / "log.csv"
        self.model.train()
        device = next(self.model.parameters()).device
        if device.type == "cuda":  # fixed batch shapes: let cuDNN time its convolution algorithms once
            torch.backends.cudnn.benchmark = True
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.amp and device.type == "cuda")
        sampler = getattr(self.batches, "sampler", None)
        self._start = time.time()
        while self.epoch < cfg.max_epochs and not self._done():
            for source in (self.batches, sampler):  # DistributedSampler, WorkerBatches: batches of (seed, epoch)
                if hasattr(source, "set_epoch"):
                    source.set_epoch(self.epoch)
            skip = self.epoch_batch  # a resume mid-epoch: these batches were already used
            bar = tqdm(
                self.batches, desc=f"epoch {self.epoch + 1}/{cfg.max_epochs}", leave=False, disable=not self.is_main
            )
            for i, batch in enumerate(bar):
                if i < skip:
                    continue
                self.epoch_batch = i + 1
                with autocast:
                    losses = self.compute(to_device(batch, device), self.step)
                if not self._optimise(losses["loss"]):
                    continue
                self.last_losses = {k: float(v.detach()) for k, v in losses.items()}
                bar.set_postfix({k: f"{v:.2f}" for k, v in self.last_losses.items()}, refresh=False)
                if self.is_main and self.step % cfg.log_every == 0:
                    self._log(log_path)
                if self.is_main:
                    self.callback(self, "step")
                if self.step % cfg.checkpoint_every == 0 or self._done():
                    self.save_checkpoint()
                if self._done():
                    break
            if self._done() and self.epoch_batch < len(self.batches):  # type: ignore[arg-type]
                break
            self.epoch += 1
            self.epoch_batch = 0
            self._epoch_start_rng = self._data_rng.get_state() if self._data_rng is not None else None
            self.save_checkpoint()
            if self.is_main:
                self.callback(self, "epoch")
        self.model.eval()

    def _optimise(self, loss: torch.Tensor) -> bool:
        """One optimiser step; a non-finite loss or gradient skips the step and is counted."""
        self.optimizer.zero_grad(set_to_none=True)
        if torch.isfinite(loss):
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(self.clipped, self.config.grad_clip)
            if self.unclipped:  # a non-finite gradient there must skip the step too
                norm = norm + torch.nn.utils.get_total_norm([p.grad for p in self.unclipped if p.grad is not None])
            if torch.isfinite(norm):
                self.optimizer.step()
                self.scheduler.step()
                if self.ema is not None:
                    self.ema.update_parameters(self.model)
                self.step += 1
                self.bad_steps = 0
                return True
        self.bad_steps += 1
        if self.bad_steps >= self.config.max_bad_steps:
            raise FloatingPointError(
                f"{self.bad_steps} steps in a row had a non-finite loss or gradient at step {self.step}; "
                f"stopping. The last good checkpoint is {self.checkpoint_path}"
            )
        return False

    def _log(self, path: Path) -> None:
        row = {"step": self.step, "epoch": self.epoch, "lr": self.scheduler.get_last_lr()[0], **self.last_losses}
        row["seconds"] = round(time.time() - self._start, 2)  # since this process started training
        writer = self._tensorboard()
        if writer is not None:
            for k, v in row.items():
                if k not in ("step", "epoch", "seconds"):
                    writer.add_scalar(f"train/{k}", v, self.step)
        new = not path.exists()
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)

    def _tensorboard(self):
        """A TensorBoard writer in ``out_dir/tensorboard`` when the tensorboard package is installed."""
        if self._writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self._writer = False
            else:
                self._writer = SummaryWriter(str(self.out_dir / "tensorboard"))
        return self._writer or None
