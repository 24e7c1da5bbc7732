"""Any digit in any style: plain functions behind the class-conditional VAE (``mnist-cvae``).

The cvae models p(x | z, y) with a one-hot label y, so z is left to hold the *style* (slant, stroke
width, size, loops) and y the *class* (Kingma et al. 2014, M2; Sohn et al. 2015).

- ``conditional`` draws n samples of one digit: z ~ N(0, T^2 I), decoded with that label; T is the model's
  ``style_temperature`` (mnist-cvae: 0.8, chosen on how often the samples read as the digit asked for).
- ``classify`` reads a drawn or uploaded digit: p(y | x) from the importance-sampled log p(x | y)
  of every label under a uniform prior over the ten digits.
- ``analogies`` encodes a digit's style (the mean of q(z | x, y)) and decodes it with each of the
  ten labels (times the same T): a row of ten digits written in the drawer's hand.

No Gradio here; bad inputs raise ``ValueError`` with a sentence for the user.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from vae_demo.catalog import CONDITIONAL_MODEL
from vae_demo.core.hub import load_model
from vae_demo.demo.common import number
from vae_demo.demo.examples import digit_image
from vae_demo.demo.generative import display_scale, grid_image, load_input
from vae_demo.generative import inference
from vae_demo.generative.evaluate import log_likelihood_per_image

NUM_DIGITS = 10  # its labels; inputs are checked against this before the model is loaded
DEFAULT_STYLE_DIGIT = 7  # the typed example digit that ``analogies`` reads when given no image
CLASSIFY_SAMPLES = 100  # importance samples per label for log p(x | y)


@lru_cache(maxsize=1)
def get_model():
    """The class-conditional VAE, loaded once (bundled weights, or the Hub when configured)."""
    model = load_model(CONDITIONAL_MODEL)
    if model.config.num_classes != NUM_DIGITS:
        raise ValueError(
            f"{CONDITIONAL_MODEL} must be conditioned on the {NUM_DIGITS} digits; its config has "
            f"num_classes {model.config.num_classes}."
        )
    return model


def _whole(value, name: str, lo: int, hi: int) -> int:
    """A whole number in [lo, hi], or a ValueError sentence (``number`` would round 3.5 to 4 silently)."""
    v = number(value, name, lo, hi)
    if v != math.floor(v):
        raise ValueError(f"{name} must be a whole number, got {v:g}.")
    return int(v)


def _digit(value, name: str = "The digit") -> int:
    return _whole(value, name, 0, NUM_DIGITS - 1)


def conditional(digit: int = 3, seed: int = 0, n: int = 16) -> np.ndarray:
    """A grid of n samples of ``digit``: z ~ N(0, T^2 I) from ``seed`` (T: ``style_temperature``), decoded with
    that label."""
    digit = _digit(digit)
    seed = _whole(seed, "The seed", 0, 2**31 - 1)
    n = _whole(n, "The number of samples", 1, 64)
    model = get_model()
    with torch.no_grad():
        z = inference.prior_latents(model, n, seed, model.config.style_temperature)  # (n, D)
        images = model.decode_mean(z, digit).cpu()  # (n, 1, 28, 28)
    return grid_image(images, nrow=math.ceil(math.sqrt(n)), scale=display_scale(model))


@torch.no_grad()
def classify(image=None, samples: int = CLASSIFY_SAMPLES, seed: int = 0) -> np.ndarray:
    """p(y | x) for each of the ten labels (uniform prior over labels), from log p(x | y) estimated
    with ``samples`` importance samples (Burda et al. 2016). ``None`` means the typed example digit."""
    samples = _whole(samples, "The number of importance samples", 1, 1000)
    seed = _whole(seed, "The seed", 0, 2**31 - 1)
    model = get_model()
    return _label_probabilities(model, _digit_input(model, image), samples, seed)


def _digit_input(model, image) -> torch.Tensor:
    """The picture as the model sees it (``None``: the typed example); a sentence when it holds no ink."""
    x = load_input(model, digit_image(DEFAULT_STYLE_DIGIT) if image is None else image)  # (1, 1, 28, 28)
    if float(x.max()) <= 0.1:  # fit_digit's threshold for ink
        raise ValueError("The picture is blank: there is no digit in it to read. Draw or upload a digit.")
    return x


def _label_probabilities(model, x: torch.Tensor, samples: int = CLASSIFY_SAMPLES, seed: int = 0) -> np.ndarray:
    k = model.config.num_classes
    labels = torch.arange(k, device=model.device)
    xs = x.to(model.device).expand(k, *x.shape[1:])  # (K, C, H, W): the image once per label
    g = torch.Generator(device=model.device).manual_seed(seed)
    log_px_y = log_likelihood_per_image(model, xs, k=samples, chunk=samples, generator=g, y=labels)  # (K,)
    return torch.softmax(log_px_y, dim=0).cpu().numpy()


@torch.no_grad()
def analogies(image=None, label: int | None = None) -> tuple[np.ndarray, str]:
    """The style of one digit written as every digit: a row of ten images and a sentence.

    The style z is the mean of q(z | x, y), with y the caller's ``label`` or else the label the cvae
    finds most likely for the image (``classify``). ``None`` for the image means a typed example digit.
    """
    if label is not None:
        label = _digit(label, "The label")
    model = get_model()
    k = model.config.num_classes
    x = _digit_input(model, image)  # (1, 1, 28, 28)
    if label is None:
        probs = _label_probabilities(model, x)
        label = int(np.argmax(probs))
        note = (
            f"Assumed label {label}: the digit the model finds most likely for this image "
            f"(p = {probs[label]:.2f} among the ten digits)."
        )
    else:
        note = f"Assumed label {label}, as given."
    mu, _ = model.encode(x.to(model.device), label)  # (1, D): the style
    mu = mu * model.config.style_temperature  # drawn towards the typical style, as the samples are
    images = model.decode_mean(mu.expand(k, -1), torch.arange(k, device=model.device)).cpu()  # (K, 1, 28, 28)
    row = grid_image(images, nrow=k, scale=display_scale(model))
    return row, note + f" The row decodes that style with each label, 0 to {k - 1}."
