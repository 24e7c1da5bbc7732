"""Plain functions behind the Lab tab: live training, the latent explorer, and the ELBO of one image.

- ``train_live`` trains a small VAE (or, with beta 0, a plain autoencoder) for a time budget and yields
  a ``LiveFrame`` about once a second: the held-out ELBO's two terms as curves, prior samples,
  reconstructions and the 2-D latent map.
- ``locate`` encodes a drawn digit with ``mnist-vae-2d`` and draws its posterior N(mu, sigma^2) as an
  ellipse on the latent map; ``decode_point`` decodes any point of that map.
- ``elbo_of_image`` splits one image's ELBO into its terms, in nats and in bits.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from safetensors.torch import load_file

from vae_demo.catalog import DEFAULT_GENERATIVE, LATENT_MAP_MODEL
from vae_demo.core.hub import resolve_checkpoint
from vae_demo.core.images import to_uint8
from vae_demo.demo.common import enlarge, figure_to_array, number, pyplot
from vae_demo.demo.examples import digit_image
from vae_demo.demo.generative import check_name, example_single, get_model, grid_image, load_input, load_input_noted
from vae_demo.generative.evaluate import log_likelihood_per_image
from vae_demo.generative.live import LiveRun
from vae_demo.generative.losses import elbo_terms

MAX_SECONDS = 180  # one live run's cap, so a class pressing Train together is served in turn
MAP_EXTENT = 4.0  # the latent map shows z in [-4, 4]^2; pixel (0, 0) is its top-left corner
MAP_PX = 480


@dataclass
class LiveFrame:
    """What the page shows after each second of live training."""

    curves: np.ndarray  # the held-out reconstruction term, KL and ELBO against steps
    samples: np.ndarray  # decoded prior samples
    reconstructions: np.ndarray  # top row: held-out digits; bottom row: their reconstructions
    latent_map: np.ndarray  # held-out digits' posterior means, coloured by class
    status: str
    history: list[dict] = field(default_factory=list)


def _curves(history: list[dict], beta: float) -> np.ndarray:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.4), dpi=100)
    steps = [h["step"] for h in history]
    ax.plot(steps, [h["reconstruction"] for h in history], label="reconstruction  E_q[log p(x|z)]")
    ax.plot(steps, [-h["kl"] for h in history], label="-KL(q(z|x) || p(z))")
    ax.plot(steps, [h["elbo"] for h in history], label="ELBO = reconstruction - KL", linewidth=2)
    ax.set(
        xlabel="training step",
        ylabel="nats per digit (held-out)",
        title="autoencoder: only the first term is trained" if beta == 0 else f"beta = {beta:g}",
    )
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return figure_to_array(fig)


def _scatter(mu: torch.Tensor, labels: torch.Tensor, title: str) -> np.ndarray:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.4, 4), dpi=100)
    points = ax.scatter(mu[:, 0], mu[:, 1], c=labels, cmap="tab10", s=8, vmin=-0.5, vmax=9.5)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    circle = plt.Circle((0, 0), 2.0, fill=False, linestyle="--", color="grey")  # where 95% of N(0, I) falls
    ax.add_patch(circle)
    ax.set(xlabel="z1", ylabel="z2", title=title)
    ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    return figure_to_array(fig)


def train_live(
    beta: float = 1.0, latent_dim: int = 2, lr: float = 0.003, seconds: float = 30.0, seed: int = 0, every: float = 1.0
) -> Iterator[LiveFrame]:
    """Train for ``seconds`` (at most MAX_SECONDS), yielding a frame about every ``every`` seconds."""
    beta = number(beta, "Beta", 0.0, 20.0)
    latent_dim = number(latent_dim, "The latent size", 1, 32, integer=True)
    lr = number(lr, "The learning rate", 1e-5, 0.1)
    seconds = number(seconds, "The time budget", 1, MAX_SECONDS)
    seed = number(seed, "The seed", 0, 2**31 - 1, integer=True)
    run = LiveRun(beta=beta, latent_dim=latent_dim, lr=lr, seed=seed)
    history: list[dict] = []
    elapsed, frames = 0.0, max(1, math.ceil(seconds / every))
    for i in range(frames):
        chunk = min(every, seconds - elapsed)
        run.train_for(chunk)
        elapsed += chunk
        terms, mu = run.evaluate()
        history.append(
            {
                "step": run.step,
                "seconds": round(elapsed, 1),
                "reconstruction": terms.reconstruction,
                "kl": terms.kl,
                "elbo": terms.elbo,
            }
        )
        x, recon = run.reconstructions()
        kind = "autoencoder" if run.is_autoencoder else ("VAE" if beta == 1 else f"beta-VAE (beta {beta:g})")
        dims = "" if latent_dim == 2 else f" (first 2 of {latent_dim} dimensions)"
        done = " (done)" if i == frames - 1 else ""
        status = (
            f"{kind}: {elapsed:.0f} of {seconds:.0f} s, step {run.step}; held-out ELBO {terms.elbo:.1f} nats "
            f"= reconstruction {terms.reconstruction:.1f} - KL {terms.kl:.1f}{done}"
        )
        yield LiveFrame(
            curves=_curves(history, beta),
            samples=grid_image(run.prior_samples(), nrow=8, scale=4),
            reconstructions=grid_image(torch.cat([x, recon]), nrow=8, scale=6),
            latent_map=_scatter(
                mu[:, :2] if latent_dim > 1 else torch.cat([mu, torch.zeros_like(mu)], 1),
                run.test_y,
                f"held-out digits in latent space{dims}",
            ),
            status=status,
            history=list(history),
        )


# --- The latent explorer (mnist-vae-2d) --------------------------------------------------------------
@lru_cache(maxsize=1)
def _test_latents() -> tuple[np.ndarray, np.ndarray]:
    data = load_file(resolve_checkpoint(LATENT_MAP_MODEL) / "test_latents.safetensors")
    return data["mu"].numpy(), data["labels"].numpy()


def latent_map(mean: tuple[float, float] | None = None, std: tuple[float, float] | None = None) -> np.ndarray:
    """The square latent map z in [-4, 4]^2 (no margins: pixel (px, py) is ``pixel_to_latent``), the 10,000
    test digits coloured by class, and, when given, a posterior drawn as its 1- and 2-sigma ellipses."""
    plt = pyplot()
    from matplotlib.patches import Ellipse

    mu, labels = _test_latents()
    fig = plt.figure(figsize=(MAP_PX / 100, MAP_PX / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.scatter(mu[:, 0], mu[:, 1], c=labels, cmap="tab10", s=2, alpha=0.5, vmin=-0.5, vmax=9.5)
    for d in range(10):  # each class's label at its centre
        centre = np.median(mu[labels == d], axis=0)
        ax.text(*centre, str(d), fontsize=14, weight="bold", ha="center", va="center", color="black")
    if mean is not None and std is not None:
        for k in (1, 2):
            ax.add_patch(Ellipse(mean, 2 * k * std[0], 2 * k * std[1], fill=False, color="red", linewidth=2))
        ax.plot(*mean, "r+", markersize=14, markeredgewidth=2)
    ax.set(xlim=(-MAP_EXTENT, MAP_EXTENT), ylim=(-MAP_EXTENT, MAP_EXTENT))
    ax.axis("off")
    return figure_to_array(fig)


def pixel_to_latent(px: float, py: float, size: int = MAP_PX) -> tuple[float, float]:
    """A click on the latent map (pixels from its top-left corner) -> the point z it shows."""
    return (-MAP_EXTENT + 2 * MAP_EXTENT * px / size, MAP_EXTENT - 2 * MAP_EXTENT * py / size)


@dataclass
class LocateResult:
    """Where the latent explorer puts one digit, in the order the page shows it."""

    latent_map: np.ndarray  # the map with the digit's posterior drawn as its 1- and 2-sigma ellipses
    reconstruction: np.ndarray  # the decoded posterior mean, enlarged
    text: str  # mu and sigma in a sentence


def locate(image=None) -> LocateResult:
    """Encode a digit (``None``: a typed 3) with mnist-vae-2d and draw its posterior on the latent map."""
    model = get_model(LATENT_MAP_MODEL)
    x = load_input(model, digit_image(3) if image is None else image)
    with torch.no_grad():
        q = model.posterior(x.to(model.device))
        recon = model.decode_mean(q.mode()).cpu()
    mean, std = q.mean[0].cpu().tolist(), q.std[0].cpu().tolist()
    text = (
        f"q(z|x) = N(mu, sigma^2) with mu = ({mean[0]:.2f}, {mean[1]:.2f}) and sigma = ({std[0]:.3f}, "
        f"{std[1]:.3f}); the ellipses enclose 1 and 2 sigma."
    )
    return LocateResult(latent_map(tuple(mean), tuple(std)), enlarge(to_uint8(recon[0]), 8), text)


def decode_point(x: float = 0.0, y: float = 0.0) -> np.ndarray:
    """The digit ``mnist-vae-2d`` decodes at z = (x, y)."""
    x = number(x, "z1", -10, 10)
    y = number(y, "z2", -10, 10)
    model = get_model(LATENT_MAP_MODEL)
    with torch.no_grad():
        out = model.decode_mean(torch.tensor([[x, y]], dtype=torch.float32, device=model.device)).cpu()
    return enlarge(to_uint8(out[0]), 8)


# --- The ELBO of one image ------------------------------------------------------------------------
def elbo_of_image(model_name: str = DEFAULT_GENERATIVE, image=None, k: int = 1000, seed: int = 0) -> tuple[list, str]:
    """Rows (term, nats, bits) for one image: E_q[log p(x|z)] (averaged over 16 draws of z), KL, ELBO and the
    importance-sampled log p(x) with ``k`` samples; and a sentence comparing the bits with a PNG's bytes."""
    model = get_model(check_name(model_name))
    k = number(k, "The number of importance samples", 1, 5000, integer=True)
    x, note = load_input_noted(model, example_single(model_name) if image is None else image)
    x = x.to(model.device)
    g = torch.Generator(device=model.device).manual_seed(int(number(seed, "The seed", 0, 2**31 - 1, integer=True)))
    if model.config.likelihood in ("bernoulli", "continuous_bernoulli") and model.config.name.startswith("mnist"):
        x = torch.bernoulli(x, generator=g)  # MNIST models are trained on binarised digits
    with torch.no_grad():
        draws = [elbo_terms(model, x, g) for _ in range(16)]
        recon = torch.stack([r for r, _ in draws]).mean().item()
        kl = draws[0][1].sum().item()  # the KL is computed exactly, in closed form
        log_px = log_likelihood_per_image(model, x, k=k, generator=g).item()
    bits = 1 / math.log(2)
    rows = [
        ["reconstruction  E_q[log p(x|z)]", round(recon, 2), round(recon * bits, 1)],
        ["KL(q(z|x) || p(z))", round(kl, 2), round(kl * bits, 1)],
        ["ELBO = reconstruction - KL", round(recon - kl, 2), round((recon - kl) * bits, 1)],
        [f"log p(x), importance-sampled (k = {k})", round(log_px, 2), round(log_px * bits, 1)],
    ]
    png = io.BytesIO()
    from PIL import Image

    Image.fromarray(to_uint8(x[0].cpu())).save(png, format="PNG", optimize=True)
    cost = -log_px * bits
    if model.config.likelihood != "bernoulli":  # a density over continuous pixels is not a code length
        return rows, (
            f"{model_name} models pixels as continuous values, so log p(x) is a density, not a number of "
            f"bits; the {x.shape[-1]}x{x.shape[-2]} picture as an optimised PNG is {png.tell()} bytes."
        ) + (f" {note}" if note else "")
    text = (
        f"Under {model_name} this binarised digit costs {cost:.0f} bits ({cost / 8:.0f} bytes) with an ideal "
        f"entropy coder (-log2 p(x)); the same {x.shape[-1]}x{x.shape[-2]} picture as an optimised PNG is "
        f"{png.tell()} bytes."
    )
    return rows, text
