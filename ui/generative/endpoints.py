"""The Digits & faces tab's endpoints: thin wrappers over ``vae_demo.demo.generative``.

Each docstring is the endpoint's description in the API page, ``view_api()`` and the MCP tool list (``Args:``
describe the parameters). ``generative`` imports torch, so it is imported on first use: the page is served first.
"""

from __future__ import annotations

import gradio as gr

from ui.gradio_support import PROGRESS, editor_image, gpu, user_errors
from vae_demo.demo import side_process
from vae_demo.demo.examples import is_face_model


@user_errors
@gpu
def sample(model_name: str, n: int, temperature: float, seed: int, progress=PROGRESS):
    """Draw n images from a VAE's prior N(0, T²I) and decode them into one grid image (same seed, same grid).

    Args:
        model_name: mnist-vae, mnist-vae-2d (digits) or faces-vae (Olivetti faces).
        n: number of samples (1-256).
        temperature: T, the prior's standard deviation (lower: cleaner, more typical images).
        seed: random seed.
    """
    progress(0, desc="Loading the model")
    return side_process.call("sample_grid", model_name, n, temperature, seed)


@user_errors
@gpu
def traverse(model_name: str, seed: int, dim: int, span: float, steps: int):
    """Move one latent dimension of the prior sample of a seed from -span to +span; one row of images.

    Args:
        model_name: mnist-vae, mnist-vae-2d or faces-vae.
        seed: seed of the starting prior sample.
        dim: which latent dimension to move, ranked by how much it changes the picture (0: the most).
        span: how far to move, in prior standard deviations.
        steps: number of images in the row.
    """
    return side_process.call("traversal", model_name, seed, dim, span, steps)


@user_errors
@gpu
def manifold(n: int, progress=PROGRESS):
    """The 2-D latent space of mnist-vae-2d: images decoded on an n x n grid, and where the test digits land.

    Args:
        n: grid size (images per side).
    """
    from vae_demo.demo import generative

    progress(0, desc="Decoding the latent grid")
    return generative.manifold(n)


@user_errors
@gpu
def interpolate(
    model_name: str, image_a=None, image_b=None, steps: int = 10, method: str = "spherical", progress=PROGRESS
):
    """Encode two images, walk between their encodings and decode each step: a strip and an animated GIF.

    Args:
        model_name: mnist-vae, mnist-vae-2d or faces-vae.
        image_a: the start image (default: the model's example).
        image_b: the end image (default: the model's example).
        steps: number of images on the path.
        method: spherical or linear path.
    """
    from vae_demo.demo import generative

    progress(0, desc="Encoding the two images")
    strip, gif = generative.interpolation(model_name, editor_image(image_a), editor_image(image_b), steps, method)
    return strip, gif, gif


@user_errors
@gpu
def reconstruct(
    model_name: str,
    image=None,
    noise: str = "gaussian",
    level: float = 0.3,
    k: int = 16,
    seed: int = 0,
    progress=PROGRESS,
):
    """Corrupt a digit or face, restore it by encoding and decoding and by a latent fit; PSNR / SSIM and spread.

    Args:
        model_name: mnist-vae, mnist-vae-2d or faces-vae.
        image: the clean image (default: a typed 5, or a face for faces-vae).
        noise: gaussian, salt_and_pepper or mask.
        level: noise std, fraction of pixels or masked area (0-1).
        k: posterior samples for the spread map.
        seed: random seed.
    """
    from vae_demo.demo import generative

    progress(0, desc="Corrupting and reconstructing")
    r = generative.denoise(model_name, editor_image(image), noise, level, k, seed)
    return r.panel, r.spread, r.rows


@user_errors
def examples_for(model_name: str):
    """A model change: its example inputs and latent range, and only the examples that fit it (digits or faces)."""
    from vae_demo.demo import generative

    a, b = generative.example_pair(model_name)
    latent_dim = generative.get_model(model_name).config.latent_dim
    faces = is_face_model(model_name)
    shown = (gr.Column(visible=not faces), gr.Column(visible=faces))
    return a, b, generative.example_single(model_name), gr.Slider(maximum=latent_dim - 1, value=0), *shown, *shown
