"""Conditional accuracy: the share of the class-conditional VAE's digits that a classifier reads as the digit asked for.

    python benchmarks/conditional.py --cvae checkpoints/mnist-cvae --classifier checkpoints/mnist-classifier \
        --data ../shared/data/mnist --threads 1 --json benchmarks/results/generative/conditional_mnist-cvae.json

Two kinds of samples, made as the app makes them (``vae_demo.demo.styles``):

- ``conditional`` (the Lab's "one digit, many styles", ``/conditional``): for each seed, ``--per-seed`` latents
  z ~ N(0, T^2 I) from ``inference.prior_latents(model, n, seed, T)``, each decoded with every digit's label.
- ``styles`` (``/analogies``, "your style, every digit"): the first ``--styles-per-digit`` test digits of each
  class encoded with their true label (the mean of q(z | x, y), times T), each style decoded with every *other* digit's
  label (decoding it with its own label is a reconstruction, reported apart as ``own_label``).

T is the model's ``style_temperature`` (what the app uses); ``--temperature`` and ``--style-scale`` override it
for the two kinds. Choose T on seeds of your own (e.g. ``--seeds $(seq 100 119)``): the conditional samples need
no test digit.

The decoded means (grey levels in [0, 1], as the app shows them) go to the classifier unchanged. The JSON holds
the share per requested digit and overall for each kind and both together, the style shares by the digit the
style came from, and the classifier's own accuracy on all MNIST test digits.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from vae_demo.core.hub import load_checkpoint
from vae_demo.core.model_card import replace_card_section
from vae_demo.core.provenance import PROVENANCE_KEY, provenance
from vae_demo.generative import inference
from vae_demo.generative.classifier import accuracy, predict
from vae_demo.generative.data import load_mnist

BAR = 0.97  # issue 34: at least 97% of conditional samples read as the requested digit
CLASSIFIER_BAR = 0.99
CARD_HEADING = "## Conditional accuracy (benchmarks/conditional.py)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cvae", default="checkpoints/mnist-cvae", help="class-conditional VAE checkpoint folder")
    p.add_argument("--classifier", default="checkpoints/mnist-classifier", help="digit classifier checkpoint folder")
    p.add_argument("--data", required=True, help="MNIST root (the folder holding MNIST/raw)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="seeds of the prior latents")
    p.add_argument("--per-seed", type=int, default=16, help="latents per seed (the app's default grid: 16)")
    p.add_argument("--styles-per-digit", type=int, default=10, help="test digits of each class used as styles")
    p.add_argument("--temperature", type=float, default=None, help="z ~ N(0, T^2 I) (default: the model's)")
    p.add_argument("--style-scale", type=float, default=None, help="decode S * mu for the styles (default: T)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--failures", type=Path, default=None, help="write a PNG grid of the misread samples here")
    p.add_argument("--json", required=True, type=Path, help="where to write the results")
    p.add_argument("--card", type=Path, default=None, help="checkpoint folder whose README.md gets the result")
    return p.parse_args(argv)


@torch.no_grad()
def conditional_samples(cvae, seeds: list[int], per_seed: int, temperature: float = 1.0) -> dict:
    """Every digit decoded from the same prior latents of each seed, as ``styles.conditional`` draws them."""
    k = cvae.config.num_classes
    images, requested, seed_of = [], [], []
    for seed in seeds:
        z = inference.prior_latents(cvae, per_seed, seed, temperature)  # (n, D): the app's draw for this seed
        for digit in range(k):
            images.append(cvae.decode_mean(z, digit).cpu())
            requested.append(torch.full((per_seed,), digit))
            seed_of.append(torch.full((per_seed,), seed))
    return {"images": torch.cat(images), "requested": torch.cat(requested), "seed": torch.cat(seed_of)}


def pick_styles(labels: torch.Tensor, per_digit: int, num_classes: int = 10) -> torch.Tensor:
    """Indices of the first ``per_digit`` images of each class, class by class."""
    picks = [(labels == d).nonzero().squeeze(1)[:per_digit] for d in range(num_classes)]
    short = [d for d, p in enumerate(picks) if len(p) < per_digit]
    if short:
        raise ValueError(f"fewer than {per_digit} images of digit(s) {short} to take styles from")
    return torch.cat(picks)


@torch.no_grad()
def style_samples(cvae, images: torch.Tensor, labels: torch.Tensor, scale: float = 1.0) -> dict:
    """Each image's style (the mean of q(z | x, y) with its true label, times ``scale``) decoded with every
    label, as ``styles.analogies`` does for scale 1; ``style_digit`` is the class the style came from."""
    k = cvae.config.num_classes
    mu, _ = cvae.encode(images.to(cvae.device), labels.to(cvae.device))  # (S, D)
    z = scale * mu.repeat_interleave(k, dim=0)  # (S * K, D): each style K times
    requested = torch.arange(k).repeat(len(images))
    decoded = [
        cvae.decode_mean(z[i : i + 1000], requested[i : i + 1000].to(cvae.device)).cpu() for i in range(0, len(z), 1000)
    ]
    return {"images": torch.cat(decoded), "requested": requested, "style_digit": labels.cpu().repeat_interleave(k)}


def shares(predicted: torch.Tensor, requested: torch.Tensor, num_classes: int = 10) -> dict:
    """The share read as requested, overall and per requested digit, with the counts behind them."""
    hit = predicted == requested
    per_digit = {}
    for d in range(num_classes):
        mask = requested == d
        if mask.any():
            per_digit[str(d)] = {"share": float(hit[mask].float().mean()), "n": int(mask.sum())}
    return {"share": float(hit.float().mean()) if len(hit) else float("nan"), "n": len(hit), "per_digit": per_digit}


def read_as(predicted: torch.Tensor, requested: torch.Tensor, num_classes: int = 10) -> dict:
    """For each requested digit, what the misread samples were read as: {digit: {read as: count}}."""
    out: dict[str, dict[str, int]] = {}
    for d in range(num_classes):
        wrong = predicted[(requested == d) & (predicted != requested)]
        if len(wrong):
            values, counts = wrong.unique(return_counts=True)
            out[str(d)] = {str(int(v)): int(c) for v, c in zip(values, counts, strict=True)}
    return out


def score(classifier, cond: dict, styles: dict, num_classes: int = 10) -> dict:
    """The shares of both kinds of samples, together and apart, and the per-style-digit breakdown."""
    cond_pred = predict(classifier, cond["images"])
    style_pred = predict(classifier, styles["images"])
    own = styles["requested"] == styles["style_digit"]
    other = ~own
    style_result = shares(style_pred[other], styles["requested"][other], num_classes)
    hit = style_pred == styles["requested"]
    style_result["by_style_digit"] = {
        str(d): float(hit[other & (styles["style_digit"] == d)].float().mean())
        for d in range(num_classes)
        if (other & (styles["style_digit"] == d)).any()
    }
    style_result["read_as"] = read_as(style_pred[other], styles["requested"][other], num_classes)
    cond_result = shares(cond_pred, cond["requested"], num_classes)
    cond_result["by_seed"] = {
        str(int(s)): float((cond_pred[cond["seed"] == s] == cond["requested"][cond["seed"] == s]).float().mean())
        for s in cond["seed"].unique()
    }
    cond_result["read_as"] = read_as(cond_pred, cond["requested"], num_classes)
    overall = shares(
        torch.cat([cond_pred, style_pred[other]]),
        torch.cat([cond["requested"], styles["requested"][other]]),
        num_classes,
    )
    return {
        "overall": overall,
        "conditional": cond_result,
        "styles": style_result,
        "own_label": shares(style_pred[own], styles["requested"][own], num_classes),
        "predicted": {"conditional": cond_pred, "styles": style_pred},
    }


def failure_grid(path: Path, cond: dict, styles: dict, predicted: dict, limit: int = 160) -> int:
    """Save the misread samples (at most ``limit``) as a PNG grid; returns how many there were."""
    from torchvision.utils import save_image

    own = styles["requested"] == styles["style_digit"]
    wrong = torch.cat(
        [
            cond["images"][predicted["conditional"] != cond["requested"]],
            styles["images"][(predicted["styles"] != styles["requested"]) & ~own],
        ]
    )
    if len(wrong):
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(wrong[:limit], path, nrow=16, padding=2, pad_value=1.0)
    return len(wrong)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    cvae = load_checkpoint(args.cvae, "cpu")
    classifier = load_checkpoint(args.classifier, "cpu")
    k = getattr(cvae.config, "num_classes", 0)
    if not k or not hasattr(cvae, "decode_mean"):
        raise SystemExit(f"{args.cvae} is not a class-conditional VAE (num_classes > 0)")
    if classifier.config.num_classes != k:
        raise SystemExit(f"the classifier reads {classifier.config.num_classes} classes, the cvae writes {k}")
    if args.temperature is None:
        args.temperature = cvae.config.style_temperature  # what the app draws at
    if args.style_scale is None:
        args.style_scale = args.temperature
    test_x, test_y = load_mnist(args.data, train=False)
    classifier_accuracy = accuracy(classifier, test_x, test_y)
    cond = conditional_samples(cvae, args.seeds, args.per_seed, args.temperature)
    picks = pick_styles(test_y, args.styles_per_digit, k)
    styles = style_samples(cvae, test_x[picks], test_y[picks], args.style_scale)
    result = score(classifier, cond, styles, k)
    predicted = result.pop("predicted")
    if args.failures:
        failure_grid(args.failures, cond, styles, predicted)
    seconds = time.perf_counter() - start
    overall = result["overall"]["share"]
    result.update(
        {
            "bar": BAR,
            "met": overall >= BAR,
            "classifier_test_accuracy": classifier_accuracy,
            "classifier_test_images": len(test_x),
            "classifier_bar_met": classifier_accuracy >= CLASSIFIER_BAR,
            "cvae": str(args.cvae),
            "classifier": str(args.classifier),
            "seeds": args.seeds,
            "per_seed": args.per_seed,
            "styles_per_digit": args.styles_per_digit,
            "style_images": "the first styles_per_digit MNIST test digits of each class, encoded with their label",
            "temperature": args.temperature,
            "style_scale": args.style_scale,
            "seconds": seconds,
        }
    )
    print(summary(result))
    result[PROVENANCE_KEY] = provenance()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.card:
        command = "python benchmarks/conditional.py " + " ".join(argv if argv is not None else sys.argv[1:])
        replace_card_section(args.card, CARD_HEADING, f"```bash\n{command}\n```\n\n```text\n{summary(result)}\n```\n")
    return result


def summary(result: dict) -> str:
    """The shares per requested digit as a text table, with the bar and the classifier's accuracy."""
    rows = [("kind", "samples", "share", *[f"digit {d}" for d in range(10)])]
    for kind in ("conditional", "styles", "overall"):
        r = result[kind]
        per = [f"{r['per_digit'][str(d)]['share']:.1%}" if str(d) in r["per_digit"] else "" for d in range(10)]
        rows.append((kind, str(r["n"]), f"{r['share']:.2%}", *per))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    scale = f"temperature {result['temperature']:g}, style scale {result['style_scale']:g}"
    return "\n".join(lines) + (
        f"\n\n{scale}; bar {result['bar']:.0%}: {'met' if result['met'] else 'not met'}; classifier test accuracy "
        f"{result['classifier_test_accuracy']:.2%} on {result['classifier_test_images']} digits"
    )


if __name__ == "__main__":
    main()
