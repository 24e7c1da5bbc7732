"""Validation accuracy of digit classifiers: the figures that chose the recipe of ``mnist-classifier``.

    python benchmarks/classifier_val.py --checkpoints checkpoints/mnist-classifier RUN_DIR/final \
        --data ../shared/data/mnist --threads 1 --json benchmarks/results/generative/classifier_val.json

Reads only the validation split (the last ``--val-size`` MNIST training digits, which the classifiers never
trained on), never the test set: each classifier's accuracy on those digits as they are, and on the same digits
moved by fixed random affine maps (``shift_batch`` with a seeded generator; a mild and a strong setting), since
the judge of a generative model must read digits written by other hands than MNIST's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from vae_demo.core.hub import load_checkpoint
from vae_demo.core.provenance import PROVENANCE_KEY, provenance
from vae_demo.generative.classifier import accuracy, shift_batch
from vae_demo.generative.data import load_mnist, split_training_set

MOVES = {  # name: (max shift in px, max degrees, max scale change), seed
    "moved_2px_10deg_10pct": ((2.0, 10.0, 0.1), 0),
    "moved_3px_15deg_15pct": ((3.0, 15.0, 0.15), 1),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoints", nargs="+", required=True, help="classifier checkpoint folders")
    p.add_argument("--data", required=True, help="MNIST root (the folder holding MNIST/raw)")
    p.add_argument("--val-size", type=int, default=5000, help="the last N training digits (as the run config)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--json", required=True, type=Path, help="where to write the results")
    return p.parse_args(argv)


def validation_sets(images: torch.Tensor, labels: torch.Tensor, val_size: int) -> dict:
    """The validation digits as they are and under each of ``MOVES`` (the same moves for every classifier)."""
    _, _, val_x, val_y = split_training_set(images, labels, val_size)
    sets = {"plain": val_x}
    for name, (bounds, seed) in MOVES.items():
        sets[name] = shift_batch(val_x, *bounds, generator=torch.Generator().manual_seed(seed))
    return {"images": sets, "labels": val_y}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    images, labels = load_mnist(args.data, train=True)
    sets = validation_sets(images, labels, args.val_size)
    results = {}
    for folder in args.checkpoints:
        model = load_checkpoint(folder, "cpu")
        summary_path = Path(folder) / "training_summary.json"
        run = json.loads(summary_path.read_text())["run_config"] if summary_path.is_file() else None
        results[str(folder)] = {
            "val_accuracy": {name: accuracy(model, x, sets["labels"]) for name, x in sets["images"].items()},
            "run_config": run,
        }
        print(folder, json.dumps(results[str(folder)]["val_accuracy"]))
    out = {
        "split": f"the last {args.val_size} MNIST training digits (never trained on; the test set is not read)",
        "moves": {
            name: {"max_shift_px": b[0], "max_degrees": b[1], "max_scale": b[2], "seed": s}
            for name, (b, s) in MOVES.items()
        },
        "classifiers": results,
        PROVENANCE_KEY: provenance(),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
