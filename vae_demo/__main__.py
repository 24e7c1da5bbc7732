"""Command line: ``python -m vae_demo train --config configs/NAME.json --data ROOT --out DIR``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vae_demo")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a VAE from a JSON run config")
    tr.add_argument("--config", required=True, help="a JSON file under configs/")
    tr.add_argument("--data", required=True, help="dataset root (MNIST root, the Olivetti folder, or a folder of photo folders)")
    tr.add_argument("--out", required=True, help="checkpoint folder to write")
    tr.add_argument("--max-epochs", type=int, help="override trainer.max_epochs")
    tr.add_argument("--resume", action="store_true", help="continue from OUT/trainer_state.pt")
    tr.add_argument("--threads", type=int, help="CPU threads for torch")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    if json.loads(Path(args.config).read_text()).get("task") == "restoration":
        from .restoration_train import RestorationRunConfig, train_restoration

        run = RestorationRunConfig.from_json(args.config)
        if args.max_epochs:
            run.trainer.max_epochs = args.max_epochs
        run.trainer.out_dir = f"runs/{run.model.name}"
        train_restoration(run, args.data, args.out, resume=args.resume)
        return

    from .train import RunConfig, train

    run = RunConfig.from_json(args.config)
    if args.max_epochs:
        run.trainer.max_epochs = args.max_epochs
    run.trainer.out_dir = f"runs/{run.model.name}"
    train(run, args.data, args.out, resume=args.resume)


if __name__ == "__main__":
    main()
