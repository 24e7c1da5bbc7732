"""Command line: ``vae-demo {train,eval,sample,push,restore,app} ...`` (or ``python -m vae_demo ...``).

vae-demo train --config configs/mnist-vae.json --data ../shared/data/mnist [--out DIR] [--run-dir DIR]
    [--max-steps N] [--resume] [model.latent_dim=16 trainer.lr=0.0005 ...]
vae-demo eval --checkpoint checkpoints/mnist-vae --data ../shared/data/mnist [--k 100]
vae-demo sample --checkpoint checkpoints/mnist-vae --n 64 --out samples.png
HF_TOKEN=... vae-demo push --checkpoint checkpoints/mnist-vae --repo-id ORG/NAME [--private]
vae-demo make-noisy --data ../shared/data/train/Train400 --sigma 25 --seed 0 --out NOISY_DIR
vae-demo restore photos/ scan.jpg "old/*.png" --out restored/ --problem noise [--samples 4] [--std-maps]
vae-demo app [--port 7860]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from pathlib import Path

import torch

from vae_demo import catalog
from vae_demo.core.provenance import write_result

DEFAULT_EVAL_DATA = {"vae": "../shared/data/mnist", "restoration": "../shared/data/val/Set12"}
APP_PATH = Path(__file__).resolve().parent.parent / "app.py"  # the Gradio app, at the root of a source checkout


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
    raw["family"] = raw.pop("family", None) or raw.pop("task", None) or "generative"  # "task": configs before 0.2
    if raw["family"] not in catalog.FAMILIES:
        raise SystemExit(f"train: unknown family {raw['family']!r}; choose one of {', '.join(catalog.FAMILIES)}")
    family = catalog.FAMILIES[raw["family"]]
    from vae_demo.core.hub import imported

    run, train_fn = imported(family.run_config).from_dict(raw), imported(family.train)
    if args.max_epochs:
        run.trainer.max_epochs = args.max_epochs
    if args.max_steps:
        run.trainer.max_steps = args.max_steps
    if args.run_dir:  # training state, logs and snapshots: --run-dir, else trainer.out_dir=..., else runs/NAME
        run.trainer.out_dir = args.run_dir
    elif "out_dir" not in raw.get("trainer", {}):
        run.trainer.out_dir = f"runs/{run.model.name}"
    extra = {"download": True} if args.download else {}
    if args.download and "download" not in inspect.signature(train_fn).parameters:
        print(
            f"note: --download is ignored: the {raw['family']} family's data are image folders that torchvision "
            "cannot fetch",
            file=sys.stderr,
        )
        extra = {}
    default = catalog.DATASETS.get(raw.get("dataset", "mnist")) if raw["family"] == "generative" else family.data
    data = args.data or default
    if data is None:
        raise SystemExit(f"--data is needed for the dataset {raw.get('dataset')!r}")
    try:
        train_fn(run, data, args.out or f"{run.trainer.out_dir}/final", resume=args.resume, **extra)
    except (FileNotFoundError, ValueError) as err:  # the data are missing or wrong: one line, not a traceback
        raise SystemExit(f"train: {err}") from None


def eval_command(args: argparse.Namespace) -> None:
    from vae_demo.core.hub import load_checkpoint
    from vae_demo.generative.classifier import DigitClassifier
    from vae_demo.restoration.divnoising import DivNoisingVAE
    from vae_demo.restoration.model import RestorationVAE

    model = load_checkpoint(args.checkpoint, "cpu")
    if isinstance(model, DigitClassifier):
        return _eval_classifier(model, args)
    restoration = isinstance(model, (RestorationVAE, DivNoisingVAE))
    data = args.data or DEFAULT_EVAL_DATA["restoration" if restoration else "vae"]
    if not Path(data).is_dir():
        raise SystemExit(
            f"eval: no test data at {data}: give --data "
            + ("a folder of clean photos" if restoration else "the folder that holds MNIST/raw")
        )
    if restoration:
        from vae_demo.restoration.benchmark import run_benchmark
        from vae_demo.restoration.benchmark_report import print_summary

        if isinstance(model, DivNoisingVAE):  # trained on noisy images only: the bundled-model method
            report = run_benchmark(
                args.task, args.level, data, "noisy,divnoising", args.limit, divnoising_checkpoint=args.checkpoint
            )
        else:
            report = run_benchmark(
                args.task, args.level, data, methods="noisy,vae", limit=args.limit, checkpoint=args.checkpoint
            )
        print_summary(report)
        if args.json:
            write_result(args.json, report)
        return
    from vae_demo.generative.data import dynamic_binarize, load_mnist
    from vae_demo.generative.evaluate import evaluate

    if (model.config.image_size, model.config.in_channels) != (28, 1):
        raise SystemExit(
            f"eval: the test ELBO / NLL is measured on MNIST digits; {model.config.name} is a "
            f"{model.config.image_size}x{model.config.image_size} model"
        )
    try:
        images, labels = load_mnist(data, train=False)
    except FileNotFoundError:
        raise SystemExit(f"eval: no MNIST test set under {data} (expected {data}/MNIST/raw/t10k-*-ubyte.gz)") from None
    images = images[: args.limit] if args.limit else images
    labels = labels[: len(images)] if model.config.num_classes else None  # a class-conditional model: log p(x|y)
    if model.config.likelihood in ("bernoulli", "continuous_bernoulli"):
        images = dynamic_binarize(images, torch.Generator().manual_seed(0))
    metrics = evaluate(model, images, k=args.k, progress=True, labels=labels)
    print(json.dumps(metrics, indent=2))
    if args.json:
        write_result(args.json, metrics)


def _eval_classifier(model, args: argparse.Namespace) -> None:
    """Test accuracy of a digit classifier on MNIST's test digits (the first ``--limit`` of them)."""
    from vae_demo.generative.classifier import accuracy
    from vae_demo.generative.data import load_mnist

    data = args.data or DEFAULT_EVAL_DATA["vae"]
    try:
        images, labels = load_mnist(data, train=False)
    except FileNotFoundError:
        raise SystemExit(f"eval: no MNIST test set under {data} (expected {data}/MNIST/raw/t10k-*-ubyte.gz)") from None
    images, labels = (images[: args.limit], labels[: args.limit]) if args.limit else (images, labels)
    metrics = {"test_accuracy": accuracy(model, images, labels), "n_images": len(images)}
    print(json.dumps(metrics, indent=2))
    if args.json:
        write_result(args.json, metrics)


def sample_command(args: argparse.Namespace) -> None:
    from torchvision.utils import save_image

    from vae_demo.core.hub import load_checkpoint
    from vae_demo.generative.inference import sample

    model = load_checkpoint(args.checkpoint, "cpu")
    if not hasattr(model, "decode_mean"):
        raise SystemExit(f"{args.checkpoint} is not a generative VAE: it has no prior to sample from")
    classes = model.config.num_classes
    if classes:  # a class-conditional model: column j shows label j
        images = sample(model, args.n, args.temperature, args.seed, y=torch.arange(args.n) % classes)
    else:
        images = sample(model, args.n, args.temperature, args.seed)
    nrow = classes or max(1, round(args.n**0.5))
    save_image(images, args.out, nrow=nrow, padding=2, pad_value=1.0)
    print(f"wrote {args.n} samples to {args.out}")


def push_command(args: argparse.Namespace) -> None:
    from vae_demo.core.hub import push_checkpoint

    url = push_checkpoint(
        args.checkpoint, args.repo_id, private=args.private, path_in_repo=args.path_in_repo, revision=args.revision
    )
    print(f"pushed {args.checkpoint} to {args.repo_id}: {url}")


def restore_command(args: argparse.Namespace) -> None:
    from vae_demo.batch_restore import restore_files

    outcome = restore_files(
        args.inputs,
        args.out,
        problem=args.problem,
        samples=args.samples or 0,
        std_maps=args.std_maps,
        level=args.level,
        seed=args.seed,
        checkpoint=args.checkpoint,
    )
    total = len(outcome.restored) + len(outcome.skipped)
    print(
        f"restored {len(outcome.restored)} of {total} inputs into {args.out}"
        + (f"; skipped {len(outcome.skipped)} (reasons above)" if outcome.skipped else "")
    )
    if not outcome.restored:
        raise SystemExit("nothing was restored")


def make_noisy_command(args: argparse.Namespace) -> None:
    from vae_demo.restoration.noisy_copy import MANIFEST, make_noisy_copy

    try:
        manifest = make_noisy_copy(args.data, args.out, sigma=args.sigma, seed=args.seed)
    except (FileNotFoundError, ValueError, OSError) as err:
        raise SystemExit(f"make-noisy: {err}") from None
    print(
        f"wrote {len(manifest['files'])} noisy PNGs (Gaussian sigma {args.sigma:g}, seed {args.seed}) and "
        f"{MANIFEST} to {args.out}"
    )


def app_command(args: argparse.Namespace) -> None:
    import importlib.util
    import runpy

    if not APP_PATH.is_file():
        raise SystemExit(
            f"no app.py at {APP_PATH}: `vae-demo app` runs the app of a source checkout "
            "(git clone, then pip install -e .); or run `python app.py` there"
        )
    if importlib.util.find_spec("gradio") is None:
        raise SystemExit("the app needs Gradio: pip install -r requirements.txt (or pip install -e '.[app]')")
    if args.host:
        os.environ["GRADIO_SERVER_NAME"] = args.host
    if args.port:
        os.environ["GRADIO_SERVER_PORT"] = str(args.port)
    runpy.run_path(str(APP_PATH), run_name="__main__")  # exactly `python app.py`: its own launch settings


def _add_train(sub) -> None:
    """``train``: a model from a JSON run config."""
    tr = sub.add_parser("train", help="train a model from a JSON run config")
    tr.add_argument("--config", required=True, help="a JSON file under configs/")
    tr.add_argument(
        "--data",
        help="dataset root (MNIST root, the Olivetti folder, an image folder, or a folder "
        "holding CBSD432 and Train400); default: ../shared/data/... for the bundled configs",
    )
    tr.add_argument("--out", help="checkpoint folder to write (default RUN_DIR/final)")
    tr.add_argument(
        "--run-dir",
        help="training state, logs and snapshots (default runs/NAME); a folder outside the checkout outlives it",
    )
    tr.add_argument("--max-epochs", type=int, help="override trainer.max_epochs")
    tr.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    tr.add_argument("--resume", action="store_true", help="continue exactly from the saved training state")
    tr.add_argument("--download", action="store_true", help="let torchvision download MNIST / Fashion-MNIST / CIFAR-10")
    tr.add_argument("overrides", nargs="*", help="config overrides like model.latent_dim=16")
    tr.set_defaults(fn=train_command)


def _add_eval(sub) -> None:
    """``eval``: a checkpoint's test figures."""
    ev = sub.add_parser("eval", help="test ELBO / NLL of a VAE, or restoration PSNR of a restoration model")
    ev.add_argument("--checkpoint", required=True)
    ev.add_argument(
        "--data",
        help="MNIST root, or a folder of clean photos (default: ../shared/data/mnist, ../shared/data/val/Set12)",
    )
    ev.add_argument("--k", type=int, default=0, help="importance samples for the NLL (0: ELBO only)")
    ev.add_argument(
        "--task", default="denoise", choices=tuple(catalog.tasks()), help="restoration task (as benchmarks/restore.py)"
    )
    ev.add_argument("--level", type=float, default=25.0)
    ev.add_argument("--limit", type=int)
    ev.add_argument("--json", help="also write the metrics here")
    ev.set_defaults(fn=eval_command)


def _add_sample(sub) -> None:
    """``sample``: a PNG grid from the prior."""
    sa = sub.add_parser("sample", help="write a PNG grid of samples from the prior")
    sa.add_argument("--checkpoint", required=True)
    sa.add_argument("--n", type=int, default=64)
    sa.add_argument("--temperature", type=float, default=1.0)
    sa.add_argument("--seed", type=int, default=0)
    sa.add_argument("--out", default="samples.png")
    sa.set_defaults(fn=sample_command)


def _add_push(sub) -> None:
    """``push``: a checkpoint folder to the Hub."""
    pu = sub.add_parser("push", help="upload a checkpoint folder with its model card to the Hugging Face Hub")
    pu.add_argument("--checkpoint", required=True)
    pu.add_argument("--repo-id", required=True)
    pu.add_argument("--private", action="store_true")
    pu.add_argument("--path-in-repo", help="folder inside the repo (default: the model's name; '' for the root)")
    pu.add_argument("--revision", help="branch to commit to")
    pu.set_defaults(fn=push_command)


def _add_restore(sub) -> None:
    """``restore``: photo files, folders or globs."""
    re_ = sub.add_parser(
        "restore",
        help="restore photo files, folders or globs with the restoration VAE",
        description="Restore photos into --out as NAME_restored.png (PNG). Unreadable files are "
        "skipped with a reason; the exit code is nonzero only if nothing was restored. An input "
        "is never overwritten.",
    )
    re_.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (not recursive) or glob patterns")
    re_.add_argument("--out", required=True, help="folder for the outputs (created if missing)")
    re_.add_argument(
        "--problem",
        default="auto",
        choices=tuple(catalog.PROBLEMS),
        help="what to fix (default auto: the model works it out); x2 / x4 enlarge the photo",
    )
    re_.add_argument(
        "--level",
        type=float,
        metavar="SIGMA",
        help="noise level (sigma, 0-255 scale) for --problem noise; default: estimated from the photo",
    )
    re_.add_argument("--samples", type=int, metavar="K", help="also write K posterior samples, NAME_sample1.png ...")
    re_.add_argument(
        "--std-maps",
        action="store_true",
        help="also write NAME_std.png, the per-pixel std of the samples as a heat map (K = 4 without --samples)",
    )
    re_.add_argument("--seed", type=int, default=0, help="seed of the posterior samples")
    re_.add_argument(
        "--checkpoint",
        help="restoration model folder (default: the model that serves the problem, bundled or from the Hub)",
    )
    re_.set_defaults(fn=restore_command)


def _add_make_noisy(sub) -> None:
    """``make-noisy``: one noisy copy of a folder."""
    mn = sub.add_parser(
        "make-noisy",
        help="write one noisy copy of a folder of clean images (the data of a DivNoising run)",
        description="Add Gaussian noise of std SIGMA (0-255 scale) to every image of --data and write PNGs "
        "(lossless, 8 bits, grey kept grey, colour kept colour) of the same names into --out, with "
        "noisy_copy.json (source, sigma, seed, file hashes). The same seed gives the same bytes.",
    )
    mn.add_argument("--data", required=True, help="folder of clean images (e.g. ../shared/data/train/Train400)")
    mn.add_argument("--sigma", type=float, default=25.0, help="noise std on the 0-255 scale (default 25)")
    mn.add_argument("--seed", type=int, default=0)
    mn.add_argument("--out", required=True, help="folder to write (e.g. ~/.cache/vae-demo/data/Train400-sigma25)")
    mn.set_defaults(fn=make_noisy_command)


def _add_app(sub) -> None:
    """``app``: the Gradio app."""
    ap = sub.add_parser("app", help="run the Gradio app (app.py) on http://127.0.0.1:7860")
    ap.add_argument("--host", help="address to bind (default 127.0.0.1; sets GRADIO_SERVER_NAME)")
    ap.add_argument("--port", type=int, help="port (default 7860; sets GRADIO_SERVER_PORT)")
    ap.set_defaults(fn=app_command)


def build_parser() -> argparse.ArgumentParser:
    """The command line; its choices come from ``vae_demo.catalog`` when it is built."""
    prog = "python -m vae_demo" if Path(sys.argv[0]).name == "__main__.py" else "vae-demo"
    parser = argparse.ArgumentParser(prog=prog, description="What variational autoencoders can do for images.")
    parser.add_argument("--threads", type=int, help="CPU threads for torch")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_train, _add_eval, _add_sample, _add_push, _add_restore, _add_make_noisy, _add_app):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the command (a failure the user can fix exits with one line)."""
    from vae_demo.core.hub import CheckpointError

    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        args.fn(args)
    except CheckpointError as err:
        raise SystemExit(f"{args.command}: {err}") from None


if __name__ == "__main__":
    main()
