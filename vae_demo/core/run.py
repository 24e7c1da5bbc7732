"""The one run skeleton every model family trains with: Trainer, resume, EMA swap, save.

A family's ``train`` function builds its data, model, loss and epoch callback, then calls
``run_training``, which runs the ``Trainer`` (resuming from the run folder when asked), swaps the
moving-average weights in, and on the main process writes the checkpoint folder
(``model.safetensors`` + ``config.json``). The family then evaluates and writes its model card from
the returned ``RunResult``.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from vae_demo.core.trainer import Callback, LossFn, Trainer, TrainerConfig, is_main_process


@dataclass
class RunResult:
    """What a finished run tells its model card."""

    steps: int  # optimiser steps, counted over resumes
    wall_seconds: float  # of this process (a resumed run adds its earlier sessions by hand)
    resumed_from: int  # the step it resumed at, 0 for a fresh run
    hardware: str
    is_main: bool  # False on the other ranks of a torchrun: they write nothing

    def fields(self) -> dict:
        """What a training summary records of the run: steps, wall time, the step it resumed at, the hardware."""
        return {
            "steps": self.steps,
            "wall_seconds": self.wall_seconds,
            "resumed_from": self.resumed_from,
            "hardware": self.hardware,
        }


def hardware() -> str:
    """The machine in words, for model cards: the GPU's name, else the CPU and its threads."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (CUDA)"
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} CPU threads"


def run_training(
    model: torch.nn.Module,
    loss_fn: LossFn,
    batches: Iterable,
    config: TrainerConfig,
    out: str | Path,
    callback: Callback | None = None,
    resume: bool = False,
    model_config: Callable[[], dict] | None = None,
    before_save: Callable[[], None] | None = None,
    param_groups: list[dict] | None = None,
) -> RunResult:
    """Train ``model`` and write its checkpoint folder ``out`` (main process only).

    ``model_config`` gives the JSON written as ``config.json`` (default: ``model.config.to_dict()``);
    ``before_save`` runs on the trained weights just before they are written (the codec fixes its
    entropy-coding tables there); ``param_groups`` go to the Trainer's optimiser.
    """
    trainer = Trainer(model, loss_fn, batches, config, callback, param_groups)
    resumed_from = trainer.step if resume and trainer.load_checkpoint() else 0
    if resumed_from:
        print(f"resumed at epoch {trainer.epoch}, step {trainer.step}", flush=True)
    start = time.time()
    trainer.run()
    wall = time.time() - start
    if trainer.ema is not None:  # the exported weights are the moving average
        model.load_state_dict(trainer.ema.module.state_dict())
    if before_save is not None:
        before_save()
    result = RunResult(trainer.step, wall, resumed_from, hardware(), is_main_process())
    if result.is_main:
        out = Path(out)
        model.save_pretrained(out)  # type: ignore[operator]  (PyTorchModelHubMixin)
        config = model_config() if model_config else model.config.to_dict()  # type: ignore[operator]
        (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return result
