"""The app's endpoints: thin Gradio-facing wrappers over ``photos`` and ``generative``, imported on first use.

Each docstring is the endpoint's description in the API page, ``view_api()`` and the MCP tool list (``Args:``
describe the parameters). ``user_errors`` turns bad input into one sentence in the page and one log line.
``photos`` and ``generative`` import torch, so this module does not import them: app.py serves its page
first and ``warm_up()`` imports them in the background.
"""

from __future__ import annotations

import threading

import gradio as gr

from ui.gradio_support import log, user_error, user_errors
from vae_demo import catalog

DEFAULT_MODEL = catalog.DEFAULT_GENERATIVE
PROGRESS = gr.Progress()  # the default that makes Gradio pass a progress bar (it tracks each event by context)


try:  # ZeroGPU on Hugging Face Spaces: a GPU is attached only while a decorated function runs
    import spaces

    gpu = spaces.GPU
except ImportError:  # anywhere else the decorator does nothing

    def gpu(fn):
        return fn


def _generative():
    from vae_demo.demo import generative  # torch: imported on first use

    return generative


def _photos():
    from vae_demo.demo import photos  # torch: imported on first use

    return photos


def _compress():
    from vae_demo.demo import compress  # torch: imported on first use

    return compress


def _fit_photo():
    from vae_demo.demo import fit_photo  # torch: imported on first use

    return fit_photo


def editor_image(value):
    """The picture in an ImageEditor: what was drawn over what was uploaded (None when empty)."""
    if value is None or isinstance(value, str):
        return value
    return value.get("composite") or value.get("background")


# --- the endpoints (their docstrings are the API's and the MCP tools' descriptions) -------------------------
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
    return _generative().sample_grid(model_name, n, temperature, seed)


@user_errors
@gpu
def traverse(model_name: str, seed: int, dim: int, span: float, steps: int):
    """Move one latent dimension of the prior sample of a seed from -span to +span; one row of images.

    Args:
        model_name: mnist-vae, mnist-vae-2d or faces-vae.
        seed: seed of the starting prior sample.
        dim: the latent dimension to move (0 to latent size - 1).
        span: how far to move, in prior standard deviations.
        steps: number of images in the row.
    """
    return _generative().traversal(model_name, seed, dim, span, steps)


@user_errors
@gpu
def manifold(n: int, progress=PROGRESS):
    """The 2-D latent space of mnist-vae-2d: images decoded on an n x n grid, and where the test digits land.

    Args:
        n: grid size (images per side).
    """
    progress(0, desc="Decoding the latent grid")
    return _generative().manifold(n)


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
    progress(0, desc="Encoding the two images")
    strip, gif = _generative().interpolation(model_name, editor_image(image_a), editor_image(image_b), steps, method)
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
    progress(0, desc="Corrupting and reconstructing")
    return _generative().denoise(model_name, editor_image(image), noise, level, k, seed)


@user_errors
@gpu
def enhance(
    image,
    problem: str,
    strength: float,
    simulate: bool,
    k: int,
    seed: int,
    brightness: float,
    contrast: float,
    saturation: float,
    best: bool = False,
    progress=PROGRESS,
):
    """Fix one problem of a photo with the restoration VAE, beside the classical method for that problem.

    Args:
        image: the photo (default: scikit-image's astronaut); over 2 megapixels it is scaled down to 2 first.
        problem: auto, noise, blur, jpeg, x2, x4 or lowlight.
        strength: 0-1: how much damage to simulate (or the noise level for noise on your own photo).
        simulate: degrade the clean photo first, so PSNR / SSIM can be measured.
        k: posterior samples (0-16) for the gallery and the uncertainty map.
        seed: random seed.
        brightness: final touch, 1 = unchanged.
        contrast: final touch, 1 = unchanged.
        saturation: final touch, 1 = unchanged.
        best: best quality: average the VAE over 8 flips and turns of the photo (8 times slower).

    Returns:
        Before | after: the degraded photo and the VAE result after the final touches.
        Classical method: the classical method's result for the same problem.
        VAE result: the restoration before the final touches (the metrics table says how it was made).
        Posterior samples: other restorations the VAE finds plausible (K of them).
        Uncertainty (per-pixel std): the spread of those samples, bright where the VAE is unsure.
        Metrics: PSNR / SSIM against the clean original (when there is one) and how the result was made.
        Result (PNG): the final picture, at the size it was restored.
    """
    return _photos().enhance(
        image, problem, strength, simulate, k, seed, brightness, contrast, saturation, best, progress=progress
    )


@user_errors
@gpu
def denoise(image, noise: str, level: float, blind: bool, k: int, seed: int, best: bool = False, progress=PROGRESS):
    """Add noise of a kind and level to a clean photo and remove it (or remove a real photo's own noise).

    Args:
        image: the photo (default: scikit-image's astronaut); over 2 megapixels it is scaled down to 2 first.
        noise: gaussian, poisson, salt_and_pepper or real (the photo's own noise).
        level: Gaussian sigma (0-255 scale), Poisson peak photons, or salt-and-pepper percent.
        blind: let the VAE estimate the noise level itself (Gaussian and Poisson noise).
        k: posterior samples (0-16).
        seed: random seed.
        best: best quality: average the VAE over 8 flips and turns of the photo (8 times slower).

    Returns:
        The seven outputs of /enhance, in the same order.
    """
    return _photos().denoise_photo(image, noise, level, blind, k, seed, best, progress=progress)


@user_errors
@gpu
def compress(image, quality: float, progress=PROGRESS):
    """Code a photo with the VAE codec into a .vaez file; JPEG and WebP of the same photo at no more bytes.

    Returns the three decoded pictures, the same zoomed crop of each (original | VAE | JPEG | WebP), a table
    of bytes, bits per pixel, PSNR and SSIM per codec, the .vaez file, and a sentence on this photo's BD-rate
    and the bytes a VAE file as good as WebP's costs.

    Args:
        image: the photo, up to 16.8 megapixels (default: scikit-image's astronaut).
        quality: 0 (smallest file) to 7 (best picture); fractions lie between the trained rates.
    """
    r = _compress().compress(image, quality, progress=progress)
    return r.vae, r.jpeg, r.webp, r.zoom, r.rows, r.path, r.summary


@user_errors
@gpu
def decompress(file=None, progress=PROGRESS):
    """Decode a .vaez file made by /compress (or the Compress tab) back into the picture.

    Args:
        file: the .vaez file (default: the astronaut photo coded at quality 3).
    """
    action = _compress()
    progress(0, desc="Decoding the .vaez file")
    path = file or action.example_file()
    return action.decompress(path), action.describe(path)


_fit_stops: dict[str, threading.Event] = {}  # session -> "Stop was pressed" for its running fit
_fit_stops_lock = threading.Lock()


def _fit_stop(request: gr.Request | None) -> threading.Event:
    key = getattr(request, "session_hash", None) or "api"
    with _fit_stops_lock:
        return _fit_stops.setdefault(key, threading.Event())


def show_bundled_divnoising():
    """Show the bundled DivNoising panel only when its checkpoint is installed (the page's first view)."""
    try:
        return gr.Image(visible=_fit_photo().bundled_model() is not None)
    except Exception:  # noqa: BLE001 - a broken install hides the panel; /fit_photo says why
        log.exception("checking for the bundled divnoising-vae failed")
        return gr.Image(visible=False)


def clear_fit_stop(request: gr.Request):
    """Forget an earlier Stop of this session (runs just before each fit starts)."""
    _fit_stop(request).clear()


def stop_fit(request: gr.Request):
    """Ask this session's fit to stop learning and show what it has learned so far."""
    _fit_stop(request).set()


def fit_photo(
    image,
    noise: str = "gaussian",
    level: float = 25.0,
    blind: bool = False,
    seconds: float = 60.0,
    k: int = 4,
    seed: int = 0,
    request: gr.Request = None,
):
    """Learn from this photo alone: fit a small DivNoising VAE to the noisy photo, streaming its loss curve.

    The VAE is trained on nothing but this noisy photo (no clean image), with the noise model as its
    likelihood; its estimate is decoded at the posterior means and averaged over 8 flips and rotations, shown
    beside the classical method, the supervised restoration VAE and the bundled divnoising-vae (when installed).
    The last output is the final one.

    Args:
        image: the photo (default: scikit-image's astronaut).
        noise: gaussian, poisson or real (the photo's own noise); salt_and_pepper has no noise model here.
        level: Gaussian sigma (0-255 scale) or Poisson peak photons of the noise added to a clean photo.
        blind: fit the noise model to the noisy photo instead of being told it.
        seconds: time budget for learning (1-300 s); the results take a few seconds more.
        k: posterior samples to show (0-16).
        seed: random seed (the added noise, the training, the samples).

    Returns:
        Status ("Stopped early" or "Done" at the end); the loss curve; the fit's preview, then its estimate; the
        classical method; the supervised VAE; the bundled DivNoising (or None); K posterior samples; their
        per-pixel std; PSNR / SSIM (with a clean original), noise model, steps, KL, spread; the estimate as PNG.
    """
    stop, key = _fit_stop(request), getattr(request, "session_hash", None) or "api"
    try:
        for f in _fit_photo().fit_photo(image, noise, level, blind, seconds, k, seed, should_stop=stop.is_set):
            yield (
                f.status,
                f.curve,
                f.estimate,
                f.classical,
                f.supervised,
                f.bundled,
                f.gallery,
                f.heat,
                f.rows,
                f.download,
            )
    except gr.Error:
        raise
    except ValueError as err:  # bad input (ImageError is one): a sentence, not a traceback
        raise user_error(str(err), "Cannot do that", "/fit_photo") from None
    except (RuntimeError, OSError) as err:
        log.exception("/fit_photo failed")
        raise user_error(str(err), "Cannot do that", "/fit_photo") from None
    finally:
        with _fit_stops_lock:
            _fit_stops.pop(key, None)


@user_errors
def touch_up(restored, before_after=None, brightness: float = 1.0, contrast: float = 1.0, saturation: float = 1.0):
    """Re-apply brightness, contrast and saturation to a restored photo; returns the before/after pair and a PNG.

    Args:
        restored: the restored photo (the VAE result of /enhance or /denoise).
        before_after: the before/after pair whose "before" is kept (may be None).
        brightness: 1 = unchanged.
        contrast: 1 = unchanged.
        saturation: 1 = unchanged.
    """
    touched, png = _photos().touch_up(restored, brightness, contrast, saturation)
    before = before_after[0] if before_after else None
    return (before, touched) if before is not None else (touched, touched), png


@user_errors
def examples_for(model_name: str):
    """New default images (and latent-dimension range) when the model changes."""
    generative = _generative()
    a, b = generative.example_pair(model_name)
    latent_dim = generative.get_model(model_name).config.latent_dim
    return a, b, generative.example_single(model_name), gr.Slider(maximum=latent_dim - 1, value=0)


def warm_up() -> None:
    """Import torch and load the default models, so the first click does not wait for them."""
    try:
        _generative().sample_grid(DEFAULT_MODEL, 1)
        photos = _photos()
        for row in (photos.problems.problem("noise"), photos.problems.noise("gaussian")):  # the tabs' first views
            photos.get_restorer(row.model)
        _compress().get_codec()
    except Exception:  # noqa: BLE001 - the first request will say what is wrong
        log.exception("warm-up failed")
