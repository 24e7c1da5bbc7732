"""The Denoise tab's endpoints: ``/denoise`` and ``/fit_photo``, thin wrappers over ``vae_demo.demo.photos`` and
``vae_demo.demo.fit_photo``, and the private helpers of the fit (Stop, the bundled model's panel).

Each docstring is the endpoint's description in the API page, ``view_api()`` and the MCP tool list (``Args:``
describe the parameters). The actions import torch, so they are imported on first use: the page is served first.
"""

from __future__ import annotations

import threading

import gradio as gr

from ui.gradio_support import PROGRESS, gpu, log, user_error, user_errors
from ui.photo_widgets import as_photo_outputs


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
    from vae_demo.demo import photos

    return as_photo_outputs(photos.denoise_photo(image, noise, level, blind, k, seed, best, progress=progress))


_fit_stops: dict[str, threading.Event] = {}  # session -> "Stop was pressed" for its running fit
_fit_stops_lock = threading.Lock()


def _fit_stop(request: gr.Request | None) -> threading.Event:
    key = getattr(request, "session_hash", None) or "api"
    with _fit_stops_lock:
        return _fit_stops.setdefault(key, threading.Event())


def show_bundled_divnoising():
    """Show the bundled DivNoising panel only when its checkpoint is installed (the page's first view)."""
    try:
        from vae_demo.demo import fit_photo as action

        return gr.Image(visible=action.bundled_model() is not None)
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
        from vae_demo.demo import fit_photo as action

        for f in action.fit_photo(image, noise, level, blind, seconds, k, seed, should_stop=stop.is_set):
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
