"""The Lab tab's endpoints: thin wrappers over ``vae_demo.demo.lab``, ``vae_demo.demo.styles`` and
``vae_demo.demo.layers``.

Each docstring is the endpoint's description in the API page, ``view_api()`` and the MCP tool list (``Args:``
describe the parameters). Both actions import torch, so they are imported on first use: the page is served first.
"""

from __future__ import annotations

import gradio as gr

from ui.gradio_support import PROGRESS, editor_image, gpu, user_errors


def train_live(beta: float = 1.0, latent_dim: int = 2, lr: float = 0.003, seconds: float = 30.0, seed: int = 0):
    """Train a small VAE on scikit-learn's 8x8 digits for a time budget, streaming what it learns about once a second.

    Args:
        beta: weight of the KL term: 0 = a plain autoencoder, 1 = a VAE, above 1 = a beta-VAE.
        latent_dim: size of the latent space (2 draws the latent map directly).
        lr: Adam's learning rate.
        seconds: time budget (at most 180 s).
        seed: random seed.
    """
    from vae_demo.demo import lab

    try:
        for frame in lab.train_live(beta, latent_dim, lr, seconds, seed):
            yield frame.status, frame.curves, frame.samples, frame.reconstructions, frame.latent_map
    except ValueError as err:
        raise gr.Error(str(err), print_exception=False) from None


@user_errors
@gpu
def locate(image=None):
    """Encode a digit with mnist-vae-2d and draw its posterior N(mu, sigma^2) on the latent map.

    Args:
        image: a drawn or uploaded digit (default: a typed 3).
    """
    from vae_demo.demo import lab

    r = lab.locate(editor_image(image))
    return r.latent_map, r.reconstruction, r.text


@user_errors
def decode_point(z1: float = 0.0, z2: float = 0.0):
    """Decode the point z = (z1, z2) of mnist-vae-2d's latent space.

    Args:
        z1: first latent coordinate (-10 to 10).
        z2: second latent coordinate (-10 to 10).
    """
    from vae_demo.demo import lab

    return lab.decode_point(z1, z2)


@user_errors
@gpu
def conditional(digit: int = 3, seed: int = 0, n: int = 16):
    """Write one digit in many styles with the class-conditional VAE mnist-cvae: n draws of z ~ N(0, I), each
    decoded with the label of that digit; one grid image.

    Args:
        digit: the digit to write (0-9).
        seed: random seed (same seed, same styles).
        n: number of samples (1-64).
    """
    from vae_demo.demo import styles

    return styles.conditional(digit, seed, n)


@user_errors
@gpu
def analogies(image=None, label: str = "auto"):
    """Copy the style of one digit: encode it with mnist-cvae (the mean of q(z | x, y)) and decode that z with each
    label 0-9; a row of ten digits and a sentence saying which label was assumed.

    Args:
        image: a drawn or uploaded digit (default: a typed 7).
        label: which digit the image shows, 0-9, or auto to let the model read it (the most likely p(y | x)).
    """
    from vae_demo.demo import styles

    label = None if label in (None, "", "auto") else label
    return styles.analogies(editor_image(image), label)


def decode_click(evt: gr.SelectData):
    """A click on the latent map: the point it shows, then its decoding (a private event)."""
    from vae_demo.demo import lab

    z1, z2 = lab.pixel_to_latent(*evt.index)
    return round(z1, 3), round(z2, 3), lab.decode_point(z1, z2)


@user_errors
@gpu
def elbo(model_name: str = "mnist-vae", image=None, k: int = 1000, seed: int = 0, progress=PROGRESS):
    """The ELBO of one image split into its terms, and the importance-sampled log-likelihood, in nats and bits.

    Args:
        model_name: mnist-vae, mnist-vae-2d or faces-vae.
        image: a digit or face (default: the model's example).
        k: importance samples for log p(x).
        seed: random seed (binarisation of digits, samples).
    """
    from vae_demo.demo import lab

    progress(0, desc="Encoding and sampling")
    return lab.elbo_of_image(model_name, editor_image(image), k, seed)


@user_errors
@gpu
def layer_samples(seed: int = 0, n: int = 8, temperature: float = 1.0):
    """Samples from the ladder VAE mnist-hvae in three rows: every layer drawn; the top layer z3 held and the lower
    ones redrawn; z3 and z2 held and only z1 redrawn. One figure.

    Args:
        seed: random seed (same seed, same samples).
        n: samples a row (2-16).
        temperature: scales the prior's spread (0.1-1.5).
    """
    from vae_demo.demo import layers

    return layers.layer_samples(seed, n, temperature)


@user_errors
@gpu
def layers_of_digit(image=None, seed: int = 0):
    """One digit through mnist-hvae's layers: the KL of each layer, the reconstruction term and the ELBO (nats and
    bits), and images whose top 1, 2 or 3 layers come from the posterior q(z | x) and the rest from the prior.

    Args:
        image: a drawn or uploaded digit (default: a typed 5).
        seed: random seed (binarisation and draws).
    """
    from vae_demo.demo import layers

    r = layers.layers_of_digit(editor_image(image), seed)
    return r.table, r.figure, r.text
