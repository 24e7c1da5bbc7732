"""The app's actions as plain functions: model name and simple values in, display images out.

No Gradio here: ``ui/generative/`` wires these to widgets and turns ``ValueError`` (``ImageError`` and
``CheckpointError`` included) into messages for the user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from vae_demo.catalog import DEFAULT_GENERATIVE, LATENT_MAP_MODEL, models
from vae_demo.core.hub import load_model, resolve_checkpoint
from vae_demo.core.images import to_face_input, to_model_input, to_uint8
from vae_demo.demo.common import enlarge, figure_to_array, heat_map, image_metrics, number, pyplot
from vae_demo.demo.examples import digit_image, face_image, generated_face, is_face_model
from vae_demo.generative import inference

# Steps of semi-amortised inference on a face's encoding: faces-vae learned from 35 people, so its encoder's
# guess for a new face is rough; 50 steps lift the astronaut example's SSIM from 0.57 to 0.63 (benchmarks/faces.py).
FACE_REFINE_STEPS = 50

DISPLAY_PX = 128  # every model image is shown at least this many pixels wide


@lru_cache(maxsize=8)
def get_model(name: str):
    return load_model(name)


def check_name(name: str) -> str:
    """``name`` if it is a bundled generative model, else a ValueError sentence naming the choices."""
    if name not in models("generative"):
        raise ValueError(f"Unknown model {name!r}. Choose one of: {', '.join(models('generative'))}.")
    return name


def display_scale(model) -> int:
    """How many times a model's images are enlarged on screen (at least ``DISPLAY_PX`` wide)."""
    return max(1, DISPLAY_PX // model.config.image_size)


def make_grid(images: torch.Tensor, nrow: int, padding: int = 2, pad_value: float = 1.0) -> torch.Tensor:
    """torchvision's ``make_grid`` for a (N, C, H, W) batch, without importing torchvision (a second of the app's
    start): ``nrow`` images per row, ``padding`` pixels of ``pad_value`` around each, grey made RGB, one image as
    it is."""
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    n, c, h, w = images.shape
    if n == 1:
        return images[0]
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    grid = images.new_full((c, rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value)
    for k in range(n):
        top, left = (k // cols) * (h + padding) + padding, (k % cols) * (w + padding) + padding
        grid[:, top : top + h, left : left + w] = images[k]
    return grid


def grid_image(images: torch.Tensor, nrow: int, scale: int) -> np.ndarray:
    """A uint8 grid (``make_grid``) enlarged ``scale`` times with nearest neighbours."""
    return enlarge(to_uint8(make_grid(images, nrow)), scale)


def load_input(model, image) -> torch.Tensor:
    """An upload / drawing / PIL image, converted to the model's size and channels (a face framed as in training)."""
    return load_input_noted(model, image)[0]


def load_input_noted(model, image) -> tuple[torch.Tensor, str]:
    """``load_input`` and, for a face model, a sentence on how the face was framed ("" for digits)."""
    cfg = model.config
    if is_face_model(cfg.name):
        x, found = to_face_input(image, cfg.image_size)
        return x, FACE_NOTES[found]
    return to_model_input(image, cfg.image_size, cfg.in_channels, digit=cfg.name.startswith("mnist")), ""


FACE_NOTES = {
    True: "The face was found, cropped and scaled like the training faces, and toned to their brightness and contrast.",
    False: "No face was found, so the centre square was used as it is: a frontal face, upright and "
    "well lit, is framed like the training faces.",
}


def example_pair(model_name: str = DEFAULT_GENERATIVE) -> tuple[Image.Image, Image.Image]:
    """Default interpolation endpoints: two typed digits, or two faces the face model generated
    (the model was trained on 35 people; generated faces stay inside what it knows)."""
    if is_face_model(model_name):
        model = get_model(check_name(model_name))
        return generated_face(model, seed=1), generated_face(model, seed=4)
    return digit_image(3), digit_image(8)


def example_single(model_name: str = DEFAULT_GENERATIVE) -> Image.Image:
    """Default image to corrupt and restore: a typed 5, or the astronaut's face for the face model."""
    return face_image() if is_face_model(model_name) else digit_image(5)


# --- Sampling -------------------------------------------------------------------------------
def sample_grid(
    model_name: str = DEFAULT_GENERATIVE, n: int = 64, temperature: float = 1.0, seed: int = 0
) -> np.ndarray:
    """n samples from the prior, decoded, as one grid image."""
    model = get_model(check_name(model_name))
    n = number(n, "The number of samples", 1, 256, integer=True)
    temperature = number(temperature, "The temperature", 0.0, 3.0)
    seed = number(seed, "The seed", 0, 2**31 - 1, integer=True)
    images = inference.sample(model, n, temperature, seed)
    return grid_image(images, nrow=math.ceil(math.sqrt(n)), scale=display_scale(model))


@lru_cache(maxsize=8)
def ranked_dimensions(model_name: str) -> list[int]:
    """The model's latent dimensions, the one that changes its pictures most first (computed once)."""
    return inference.dimensions_by_effect(get_model(model_name))


def traversal(
    model_name: str = DEFAULT_GENERATIVE, seed: int = 0, dim: int = 0, span: float = 3.0, steps: int = 11
) -> np.ndarray:
    """Start from the prior sample of ``seed``; vary latent dimension ``dim`` from -span to +span. Dimensions are
    ranked by how much they change the picture (``inference.dimensions_by_effect``): 0 is the one that changes it
    most."""
    model = get_model(check_name(model_name))
    d = model.config.latent_dim
    dim = ranked_dimensions(model_name)[int(number(dim, "The latent dimension", 0, d - 1, integer=True))]
    span = number(span, "The span", 0.1, 10.0)
    steps = number(steps, "The number of steps", 2, 32, integer=True)
    z = inference.prior_latent(model, number(seed, "The seed", 0, 2**31 - 1, integer=True))
    images = inference.traverse(model, z, dim, torch.linspace(-span, span, steps))
    return grid_image(images, nrow=steps, scale=display_scale(model))


def manifold(n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """For the 2-D model: the decoded latent grid and a scatter of the test digits' encodings."""
    model = get_model(LATENT_MAP_MODEL)
    n = number(n, "The grid size", 2, 40, integer=True)
    grid = grid_image(inference.latent_manifold(model, n), nrow=n, scale=1)
    return grid, latent_scatter()


@lru_cache(maxsize=1)
def latent_scatter() -> np.ndarray:
    """Scatter of the MNIST test set's posterior means (saved beside the 2-D checkpoint)."""
    plt = pyplot()
    data = load_file(resolve_checkpoint(LATENT_MAP_MODEL) / "test_latents.safetensors")
    mu, labels = data["mu"].numpy(), data["labels"].numpy()
    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=100)
    points = ax.scatter(mu[:, 0], mu[:, 1], c=labels, cmap="tab10", s=2, alpha=0.7, vmin=-0.5, vmax=9.5)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set(xlabel="z1", ylabel="z2", title="10,000 test digits in the 2-D latent space")
    fig.tight_layout()
    return figure_to_array(fig)


# --- Interpolation --------------------------------------------------------------------------
def interpolation(
    model_name: str = DEFAULT_GENERATIVE, image_a=None, image_b=None, steps: int = 10, method: str = "spherical"
) -> tuple[np.ndarray, str]:
    """Encode two images, walk between their encodings, decode. Returns (strip, GIF path).

    ``None`` for an image means the built-in example for that model. A face's encoding is refined on its
    own ELBO (``FACE_REFINE_STEPS``, ``inference.refine_posterior``).
    """
    from vae_demo.demo.outputs import new_path

    model = get_model(check_name(model_name))
    steps = number(steps, "The number of steps", 2, 64, integer=True)
    if method not in ("linear", "spherical"):
        raise ValueError(f"The interpolation must be 'linear' or 'spherical', got {method!r}.")
    default_a, default_b = example_pair(model_name)
    x0 = load_input(model, default_a if image_a is None else image_a)
    x1 = load_input(model, default_b if image_b is None else image_b)
    refine = FACE_REFINE_STEPS if is_face_model(model_name) else 0
    images, _ = inference.interpolate(model, x0, x1, steps, method, refine)
    scale = display_scale(model)
    strip = grid_image(images, nrow=steps, scale=scale)
    frames = [Image.fromarray(to_uint8(im)).resize((DISPLAY_PX * 2,) * 2, Image.NEAREST) for im in images]
    frames = frames + frames[-2:0:-1]  # there and back again
    gif = new_path(f"interpolation-{method}", ".gif")  # the process's output folder (pruned, removed at exit)
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=120, loop=0)
    return strip, str(gif)


# --- Reconstruction -------------------------------------------------------------------------
@dataclass
class ReconstructResult:
    """What the Reconstruct tab shows, in its order."""

    panel: np.ndarray  # clean | corrupted | VAE | VAE + fit, side by side
    spread: np.ndarray  # heat map of the per-pixel std of k posterior samples
    rows: list[list]  # [image, PSNR dB, SSIM] per restoration, then the mean spread


def denoise(
    model_name: str = DEFAULT_GENERATIVE,
    image=None,
    noise: str = "gaussian",
    level: float = 0.3,
    k: int = 16,
    seed: int = 0,
) -> ReconstructResult:
    """Corrupt an image, let the VAE reconstruct it, measure both against the clean image.

    Two restorations: one pass through encoder and decoder, and MAP inference in latent space that
    knows the corruption (``inference.fit_latent``); for the masked square the fit fills only the masked
    pixels (the others are known), as inpainting does.
    """
    from vae_demo.restoration.degradations import NOISE_TYPES, corrupt, observed_mask  # torchvision: on first use

    model = get_model(check_name(model_name))
    if noise not in NOISE_TYPES:
        raise ValueError(f"Unknown noise type {noise!r}. Choose one of: {', '.join(NOISE_TYPES)}.")
    level = number(level, "The noise level", 0.0, 1.0)
    k = number(k, "The number of posterior samples", 2, 64, integer=True)
    seed = number(seed, "The seed", 0, 2**31 - 1, integer=True)
    clean = load_input(model, example_single(model_name) if image is None else image)
    noisy = corrupt(clean, noise, level, seed)
    restored = inference.reconstruct(model, noisy)
    mask = observed_mask(noise, clean, noisy)
    fitted = inference.fit_latent(model, noisy, noise, level, mask)  # a mask: only the missing pixels filled
    _, spread = inference.posterior_samples(model, noisy, k, seed)
    panel = grid_image(torch.cat([clean, noisy, restored, fitted]), nrow=4, scale=display_scale(model) * 2)
    fit_label = "VAE + latent fit (observed pixels kept)" if mask is not None else "VAE + latent fit"
    results = (("corrupted", noisy), ("VAE: encode, decode", restored), (fit_label, fitted))
    rows = [[name, *image_metrics(clean, x)] for name, x in results]
    rows.append(["VAE spread (mean std)", round(float(spread.mean()), 4), None])
    return ReconstructResult(panel, heat_map(spread[0], display_scale(model) * 2), rows)
