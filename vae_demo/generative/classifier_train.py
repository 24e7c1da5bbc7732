"""Train the MNIST digit classifier from a JSON run config and save it as a bundled checkpoint folder.

    python -m vae_demo --threads 1 train --config configs/mnist-classifier.json --data ../shared/data/mnist \
        --out checkpoints/mnist-classifier

The last ``val_size`` training digits are held out: every recipe choice reads their accuracy, never the
test set's. The folder gets config.json, model.safetensors, training_summary.json (the per-epoch validation
accuracy, the final validation and test accuracy) and a model card README.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from torch.nn import functional as F
from torch.utils.data import TensorDataset

from vae_demo.core.config import Config
from vae_demo.core.device import pick_device
from vae_demo.core.model_card import DATASETS, retrain_section, train_command
from vae_demo.core.run import run_training
from vae_demo.core.trainer import Trainer, TrainerConfig, seed_everything
from vae_demo.generative.classifier import ClassifierConfig, DigitClassifier, accuracy, shift_batch
from vae_demo.generative.data import load_mnist, shuffled_loader, split_training_set


@dataclass
class ClassifierRunConfig(Config):
    """A classifier training run: the model, the split, the augmentation and the optimisation."""

    ignore_unknown: ClassVar[bool] = False

    family: str = "classifier"  # which model family the run trains (vae_demo.cli dispatches on it)
    model: ClassifierConfig = field(default_factory=ClassifierConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    dataset: str = "mnist"
    batch_size: int = 128
    val_size: int = 5000  # the last training digits, held out for recipe choices
    max_shift: float = 2.0  # augmentation: pixels of random shift (0, 0 and 0: none)
    max_degrees: float = 10.0
    max_scale: float = 0.1
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        if self.dataset != "mnist":
            raise ValueError(f"the digit classifier trains on MNIST, got dataset {self.dataset!r}")
        if not 0 < self.val_size < 60_000:
            raise ValueError(f"val_size must be between 1 and 59,999 training digits, got {self.val_size}")


def classifier_loss(model: DigitClassifier, batch, run: ClassifierRunConfig) -> dict:
    """Cross-entropy of a randomly shifted, rotated and scaled batch (torch's global RNG: resumes replay it)."""
    x, y = batch
    if run.max_shift or run.max_degrees or run.max_scale:
        x = shift_batch(x, run.max_shift, run.max_degrees, run.max_scale)
    logits = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=run.label_smoothing)
    return {"loss": loss, "train_accuracy": (logits.argmax(1) == y).float().mean()}


def train_classifier(
    run: ClassifierRunConfig, data_root: str | Path, out: str | Path, resume: bool = False, download: bool = False
) -> DigitClassifier:
    """Train on the first 60,000 - ``val_size`` MNIST training digits, then write ``out``."""
    seed_everything(run.trainer.seed)
    images, labels = load_mnist(data_root, train=True, download=download)
    train_x, train_y, val_x, val_y = split_training_set(images, labels, run.val_size)
    test_x, test_y = load_mnist(data_root, train=False, download=download)
    loader = shuffled_loader(TensorDataset(train_x, train_y), run.batch_size, run.trainer.seed)
    model = DigitClassifier(run.model).to(pick_device())
    history: list[dict] = []

    def on_event(trainer: Trainer, event: str) -> None:
        if event != "epoch":
            return
        row = {"epoch": trainer.epoch, "step": trainer.step, "val_accuracy": accuracy(model, val_x, val_y)}
        history.append(row)
        print(json.dumps(row), flush=True)

    result = run_training(
        model, lambda m, b, step: classifier_loss(m, b, run), loader, run.trainer, out, on_event, resume
    )
    model.eval()
    if not result.is_main:
        return model
    summary = {
        "run_config": run.to_dict(),
        "data": {"train": len(train_x), "val": len(val_x), "test": len(test_x)},
        "val_accuracy": accuracy(model, val_x, val_y),
        "test_accuracy": accuracy(model, test_x, test_y),
        **result.fields(),
        "validation": history,
    }
    out = Path(out)
    (out / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_classifier_card(out, summary)
    print(json.dumps({k: summary[k] for k in ("val_accuracy", "test_accuracy", "steps", "wall_seconds")}))
    return model


def write_classifier_card(out: str | Path, summary: dict) -> None:
    """The model card README.md: data, recipe, how it was chosen, accuracies and the re-train command."""
    run = summary["run_config"]
    model, trainer, data = run["model"], run["trainer"], summary["data"]
    hub_name, licence, _ = DATASETS["mnist"]
    augment = (
        f"each batch shifted by up to {run['max_shift']:g} px, rotated by up to {run['max_degrees']:g} degrees "
        f"and scaled by up to {run['max_scale']:.0%}"
        if run["max_shift"] or run["max_degrees"] or run["max_scale"]
        else "no augmentation"
    )
    lines = [
        "---",
        "library_name: vae-demo",
        "license: other",
        f"datasets: [{hub_name}]",
        "tags: [image-classification, mnist, pytorch, safetensors]",
        "metrics: [accuracy]",
        "---",
        f"# {model['name']}",
        "",
        f"A small CNN digit classifier ({len(model['channels'])} stages of 3x3 convolution, batch norm, ReLU and "
        f"2x2 max-pool with channels {model['channels']}, dropout {model['dropout']:g}, one linear layer) from "
        "[vae-demo](https://huggingface.co/spaces/vae-demo/vae-demo). It is the judge of `benchmarks/conditional.py`: "
        "the share of the class-conditional VAE's samples (`mnist-cvae`) it reads as the digit that was asked for.",
        "",
        f"- Data: the first {data['train']:,} MNIST training digits; the last {data['val']:,} are held out as the "
        f"validation split. Licence of the data: {licence}.",
        f"- Training: seed {trainer['seed']}, {trainer['max_epochs']} epochs ({summary['steps']} steps), batch "
        f"{run['batch_size']}, AdamW lr {trainer['lr']} (warm-up {trainer['warmup_steps']} steps, cosine decay), "
        f"weight decay {trainer['weight_decay']:g}; {augment}.",
        f"- Hardware: {summary['hardware']}; wall time {summary['wall_seconds'] / 60:.1f} min.",
        f"- Recipe: chosen on the validation split alone (validation accuracy "
        f"{summary['val_accuracy']:.2%}); the test accuracy below played no part in it "
        "(docs/models.md lists the recipes compared).",
        f"- Test accuracy: **{summary['test_accuracy']:.2%}** on all {data['test']:,} MNIST test digits.",
        "",
    ]
    lines += retrain_section([train_command(model["name"], "DATA_ROOT")], run)
    Path(out, "README.md").write_text("\n".join(lines))
