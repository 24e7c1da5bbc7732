"""A small training loop that knows nothing of the model (after minGPT's Trainer).

The caller gives a model, a ``loss_fn(model, batch, step) -> dict`` whose ``"loss"`` is minimised,
an iterable of batches, and one ``callback(trainer, event)`` hook called with ``"step"`` and
``"epoch"``. Checkpoints hold the model, optimiser, scheduler, step and RNG states and are written
atomically (temp file + rename), so a crash never leaves a half-written file behind.
"""

from __future__ import annotations

import csv
import math
import os
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

LossFn = Callable[[torch.nn.Module, object, int], dict]
Callback = Callable[["Trainer", str], None]


@dataclass
class TrainerConfig:
    max_epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 100.0
    warmup_steps: int = 200
    checkpoint_every: int = 1000
    max_bad_steps: int = 20
    seed: int = 0
    out_dir: str = "runs/vae"


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
    ) -> None:
        self.model, self.loss_fn, self.batches, self.config = model, loss_fn, batches, config
        self.callback = callback or (lambda trainer, event: None)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.total_steps = config.max_epochs * len(batches)  # type: ignore[arg-type]
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.step, self.epoch, self.bad_steps = 0, 0, 0
        self.last_losses: dict[str, float] = {}
        self.out_dir = Path(config.out_dir)
        self.checkpoint_path = self.out_dir / "trainer_state.pt"

    def _lr_factor(self, step: int) -> float:
        """Linear warm-up, then cosine decay to 5% of the peak rate."""
        if step < self.config.warmup_steps:
            return (step + 1) / self.config.warmup_steps
        progress = min(1.0, (step - self.config.warmup_steps) / max(1, self.total_steps - self.config.warmup_steps))
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))

    # --- checkpoints ------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        atomic_save(
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "step": self.step,
                "epoch": self.epoch,
                "torch_rng": torch.get_rng_state(),
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
        torch.set_rng_state(state["torch_rng"])
        return True

    # --- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        cfg = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.out_dir / "log.csv"
        self.model.train()
        while self.epoch < cfg.max_epochs:
            bar = tqdm(self.batches, desc=f"epoch {self.epoch + 1}/{cfg.max_epochs}", leave=False)
            for batch in bar:
                losses = self.loss_fn(self.model, batch, self.step)
                if not self._optimise(losses["loss"]):
                    continue
                self.last_losses = {k: float(v.detach()) for k, v in losses.items()}
                bar.set_postfix({k: f"{v:.2f}" for k, v in self.last_losses.items()}, refresh=False)
                if self.step % 50 == 0:
                    self._log(log_path)
                self.callback(self, "step")
                if self.step % cfg.checkpoint_every == 0:
                    self.save_checkpoint()
            self.epoch += 1
            self.save_checkpoint()
            self.callback(self, "epoch")
        self.model.eval()

    def _optimise(self, loss: torch.Tensor) -> bool:
        """One optimiser step; a non-finite loss or gradient skips the step and is counted."""
        self.optimizer.zero_grad(set_to_none=True)
        if torch.isfinite(loss):
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            if torch.isfinite(norm):
                self.optimizer.step()
                self.scheduler.step()
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
        new = not path.exists()
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
