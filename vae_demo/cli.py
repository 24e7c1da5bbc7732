"""Command line: ``python -m vae_demo {train,eval,sample,push} ...``.

    python -m vae_demo train --config configs/mnist-vae.json --data ../shared/data/mnist [--out DIR]
        [--max-steps N] [--resume] [model.latent_dim=16 trainer.lr=0.0005 ...]
    python -m vae_demo eval --checkpoint checkpoints/mnist-vae --data ../shared/data/mnist [--k 100]
    python -m vae_demo sample --checkpoint checkpoints/mnist-vae --n 64 --out samples.png
    HF_TOKEN=... python -m vae_demo push --checkpoint checkpoints/mnist-vae --repo-id ORG/NAME [--private]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

# Where --data points when it is not given (the layout of this project's development machines).
DEFAULT_DATA = {"mnist": "../shared/data/mnist", "olivetti": "../shared/data/olivetti-faces",
                "restoration": "../shared/data/train", "codec": "../shared/data/train/CBSD432", "fashion-mnist": "data", "cifar10": "data"}


def apply_overrides(config: dict, overrides: list[str]) -> dict:
    """``section.key=value`` pairs into a run-config dict; values are JSON (numbers, lists, true) or strings."""
    config = json.loads(json.dumps(config))
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"an override is KEY=VALUE, like model.latent_dim=16; got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            if not isinstance(node.get(part, {}), dict):
                raise SystemExit(f"cannot set {key}: {part} is not a section of the config")
            node = node.setdefault(part, {})
        node[leaf] = value
    return config


def train_command(args: argparse.Namespace) -> None:
    import os

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:  # started by torchrun: one process per rank, rendezvous from the environment
        on_gpu = torch.cuda.is_available() and os.environ.get("VAE_DEMO_DEVICE", "cuda").startswith("cuda")
        if on_gpu:  # one GPU per rank; pick_device() then returns this rank's GPU
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        torch.distributed.init_process_group(backend="nccl" if on_gpu else "gloo")
    try:
        _train(args)
        if distributed:
            torch.distributed.barrier()  # every rank is done before the process group is torn down
    finally:
        if distributed:
            torch.distributed.destroy_process_group()


def _train(args: argparse.Namespace) -> None:
    raw = apply_overrides(json.loads(Path(args.config).read_text()), args.overrides)
    if raw.get("task") == "restoration":
        from vae_demo.restoration.train import RestorationRunConfig
        from vae_demo.restoration.train import train_restoration as train_fn

        run = RestorationRunConfig.from_dict(raw)
    elif raw.get("task") == "codec":
        from vae_demo.codec.train import CodecRunConfig
        from vae_demo.codec.train import train_codec as train_fn

        run = CodecRunConfig.from_dict(raw)
    else:
        from vae_demo.generative.train import RunConfig
        from vae_demo.generative.train import train as train_fn

        run = RunConfig.from_dict(raw)
    if args.max_epochs:
        run.trainer.max_epochs = args.max_epochs
    if args.max_steps:
        run.trainer.max_steps = args.max_steps
    run.trainer.out_dir = f"runs/{run.model.name}"  # training state, logs and snapshots
    extra = {"download": True} if args.download else {}
    data = args.data or DEFAULT_DATA.get(raw.get("task") or raw.get("dataset", "mnist"))
    if data is None:
        raise SystemExit(f"--data is needed for the dataset {raw.get('dataset')!r}")
    train_fn(run, data, args.out or f"runs/{run.model.name}/final", resume=args.resume, **extra)


def eval_command(args: argparse.Namespace) -> None:
    from vae_demo.core.hub import load_checkpoint
    from vae_demo.restoration.model import RestorationVAE

    model = load_checkpoint(args.checkpoint, "cpu")
    if isinstance(model, RestorationVAE):
        import runpy

        bench = runpy.run_path(str(Path(__file__).resolve().parent.parent / "benchmarks" / "restore.py"))
        bench["main"](["--task", args.task, "--level", str(args.level), "--data", args.data, "--methods", "noisy,vae",
                       "--checkpoint", args.checkpoint, "--json", args.json or "/dev/null"]
                      + (["--limit", str(args.limit)] if args.limit else []))
        return
    from vae_demo.generative.data import dynamic_binarize, load_mnist
    from vae_demo.generative.evaluate import evaluate

    images, _ = load_mnist(args.data, train=False)
    images = images[: args.limit] if args.limit else images
    if model.config.likelihood in ("bernoulli", "continuous_bernoulli"):
        images = dynamic_binarize(images, torch.Generator().manual_seed(0))
    metrics = evaluate(model, images, k=args.k, progress=True)
    print(json.dumps(metrics, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=2) + "\n")


def sample_command(args: argparse.Namespace) -> None:
    from torchvision.utils import save_image

    from vae_demo.core.hub import load_checkpoint
    from vae_demo.generative.inference import sample

    model = load_checkpoint(args.checkpoint, "cpu")
    if not hasattr(model, "decode_mean"):
        raise SystemExit(f"{args.checkpoint} is a restoration model: it restores photos, it does not sample them")
    images = sample(model, args.n, args.temperature, args.seed)
    save_image(images, args.out, nrow=max(1, round(args.n**0.5)), padding=2, pad_value=1.0)
    print(f"wrote {args.n} samples to {args.out}")


def push_command(args: argparse.Namespace) -> None:
    from vae_demo.core.hub import push_checkpoint

    url = push_checkpoint(args.checkpoint, args.repo_id, private=args.private, path_in_repo=args.path_in_repo,
                          revision=args.revision)
    print(f"pushed {args.checkpoint} to {args.repo_id}: {url}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vae_demo")
    parser.add_argument("--threads", type=int, help="CPU threads for torch")
    sub = parser.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train a model from a JSON run config")
    tr.add_argument("--config", required=True, help="a JSON file under configs/")
    tr.add_argument("--data", help="dataset root (MNIST root, the Olivetti folder, an image folder, or a folder "
                    "holding CBSD432 and Train400); default: ../shared/data/... for the bundled configs")
    tr.add_argument("--out", help="checkpoint folder to write (default runs/NAME/final); training state: runs/NAME")
    tr.add_argument("--max-epochs", type=int, help="override trainer.max_epochs")
    tr.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    tr.add_argument("--resume", action="store_true", help="continue exactly from the saved training state")
    tr.add_argument("--download", action="store_true", help="let torchvision download MNIST / Fashion-MNIST / CIFAR-10")
    tr.add_argument("overrides", nargs="*", help="config overrides like model.latent_dim=16")
    tr.set_defaults(fn=train_command)

    ev = sub.add_parser("eval", help="test ELBO / NLL of a VAE, or restoration PSNR of a restoration model")
    ev.add_argument("--checkpoint", required=True)
    ev.add_argument("--data", required=True, help="MNIST root, or a folder of clean photos")
    ev.add_argument("--k", type=int, default=0, help="importance samples for the NLL (0: ELBO only)")
    ev.add_argument("--task", default="denoise", help="restoration task (see benchmarks/restore.py)")
    ev.add_argument("--level", type=float, default=25.0)
    ev.add_argument("--limit", type=int)
    ev.add_argument("--json", help="also write the metrics here")
    ev.set_defaults(fn=eval_command)

    sa = sub.add_parser("sample", help="write a PNG grid of samples from the prior")
    sa.add_argument("--checkpoint", required=True)
    sa.add_argument("--n", type=int, default=64)
    sa.add_argument("--temperature", type=float, default=1.0)
    sa.add_argument("--seed", type=int, default=0)
    sa.add_argument("--out", default="samples.png")
    sa.set_defaults(fn=sample_command)

    pu = sub.add_parser("push", help="upload a checkpoint folder with its model card to the Hugging Face Hub")
    pu.add_argument("--checkpoint", required=True)
    pu.add_argument("--repo-id", required=True)
    pu.add_argument("--private", action="store_true")
    pu.add_argument("--path-in-repo", help="folder inside the repo (default: the model's name; '' for the root)")
    pu.add_argument("--revision", help="branch to commit to")
    pu.set_defaults(fn=push_command)

    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    args.fn(args)


if __name__ == "__main__":
    main()
