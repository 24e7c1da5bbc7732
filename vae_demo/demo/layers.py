"""The Lab's layers panel: what each stochastic layer of the ladder VAE (``mnist-hvae``) decides.

- ``layer_samples``: three rows of prior samples: every layer drawn; z3 held and the layers below redrawn; z3
  and z2 held and only z1 redrawn. What changes along a row is what the redrawn layers decide.
- ``layers_of_digit``: one digit's ELBO split by layer (the KL is what each layer has to say about this digit)
  and rows of images whose top layers come from the posterior q(z | x) and the rest from the prior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from vae_demo.catalog import HIERARCHICAL_MODEL
from vae_demo.demo.common import figure_to_array, number, pyplot
from vae_demo.demo.examples import digit_image
from vae_demo.demo.generative import get_model, load_input, make_grid
from vae_demo.generative.data import dynamic_binarize

LAYER_NAMES = ("z3", "z2", "z1")  # top first, as the model's ``kl`` lists them
DRAWS = 16  # posterior draws the KL and reconstruction terms are averaged over


def _rows_figure(rows: list[torch.Tensor], titles: list[str]) -> np.ndarray:
    """Each (n, 1, H, W) batch as one strip of a figure, its title above it."""
    plt = pyplot()
    fig, axes = plt.subplots(len(rows), 1, figsize=(7.2, 1.45 * len(rows)), dpi=100)
    for ax, images, title in zip(np.atleast_1d(axes), rows, titles, strict=True):
        ax.imshow(make_grid(images.cpu(), nrow=len(images))[0].numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=10, loc="left")
        ax.axis("off")
    fig.tight_layout()
    return figure_to_array(fig)


def layer_samples(seed: int = 0, n: int = 8, temperature: float = 1.0) -> np.ndarray:
    """Three rows of ``n`` samples from ``mnist-hvae``: all layers drawn; z3 held; z3 and z2 held."""
    seed = number(seed, "The seed", 0, 2**31 - 1, integer=True)
    n = number(n, "The number of samples a row", 2, 16, integer=True)
    temperature = number(temperature, "The temperature", 0.1, 1.5)
    model = get_model(HIERARCHICAL_MODEL)
    g = torch.Generator(device=model.device).manual_seed(seed)
    free = model.sample(n, g, temperature)
    top, mid = model.draw_top(1, g, temperature)
    top, mid = top.expand(n, -1), mid.expand(n, -1, -1, -1)
    rows = [free, model.sample(n, g, temperature, top=top), model.sample(n, g, temperature, top=top, mid=mid)]
    titles = [
        "every layer drawn from the prior",
        "z3 held, z2 and z1 redrawn: what the lower layers decide",
        "z3 and z2 held, only z1 redrawn: what the lowest layer decides",
    ]
    return _rows_figure(rows, titles)


@dataclass
class LayersResult:
    """One digit seen through the ladder VAE's layers, in the order the page shows it."""

    table: list[list]  # (term, numbers in the layer, nats, bits)
    figure: np.ndarray  # the binarised digit, then images with the top 1, 2 and 3 layers from q(z | x)
    text: str  # which layer carries most of the digit, in a sentence


def _terms(model, x: torch.Tensor, g: torch.Generator) -> tuple[list[float], float]:
    """Each layer's KL and the reconstruction term, nats, averaged over ``DRAWS`` posterior draws."""
    outs = [model(x, g) for _ in range(DRAWS)]
    kls = [float(torch.stack([o.kl[i] for o in outs]).mean()) for i in range(len(LAYER_NAMES))]
    return kls, float(torch.stack([o.log_px for o in outs]).mean())


def layers_of_digit(image=None, seed: int = 0, n: int = 8) -> LayersResult:
    """Encode a digit (``None``: a typed 5) with ``mnist-hvae``: the KL of each layer and what each layer keeps."""
    seed = number(seed, "The seed", 0, 2**31 - 1, integer=True)
    model = get_model(HIERARCHICAL_MODEL)
    x = load_input(model, digit_image(5) if image is None else image).to(model.device)
    g = torch.Generator(device=model.device).manual_seed(seed)
    x = dynamic_binarize(x, g)  # the model is trained on binarised digits
    cfg, s = model.config, model.config.image_size
    sizes = cfg.layer_sizes
    shapes = [
        "a vector",
        f"a {cfg.mid_channels} x {s // 4} x {s // 4} map",
        f"a {cfg.low_channels} x {s // 2} x {s // 2} map",
    ]
    with torch.no_grad():
        kls, recon = _terms(model, x, g)
        depth_rows = [model.reconstruct_to_depth(x.expand(n, -1, -1, -1), d, g) for d in (1, 2, 3)]
    bits = 1 / math.log(2)
    table = [
        [f"KL of {name}, {shape}", size, round(kl, 2), round(kl * bits, 1)]
        for name, shape, size, kl in zip(LAYER_NAMES, shapes, sizes, kls, strict=True)
    ]
    elbo = recon - sum(kls)
    table += [
        ["reconstruction  E_q[log p(x|z)]", "", round(recon, 2), round(recon * bits, 1)],
        ["ELBO = reconstruction - every KL", "", round(elbo, 2), round(elbo * bits, 1)],
    ]
    figure = _rows_figure(
        [x.cpu(), *depth_rows],
        [
            "the digit, binarised",
            "z3 from q(z | x), z2 and z1 from the prior",
            "z3 and z2 from q(z | x), z1 from the prior",
            "every layer from q(z | x)",
        ],
    )
    most = LAYER_NAMES[int(np.argmax(kls))]
    text = (
        f"This digit costs {sum(kls) * bits:.0f} bits of KL in all: z3 {kls[0] * bits:.0f}, z2 {kls[1] * bits:.0f}, "
        f"z1 {kls[2] * bits:.0f}. {most} says the most about it. A layer whose KL is near 0 is not used for this "
        "digit: its posterior is its prior."
    )
    return LayersResult(table, figure, text)
