"""The Enhance tab's endpoints: ``/enhance`` and ``/touch_up``, thin wrappers over ``vae_demo.demo.photos``.

Each docstring is the endpoint's description in the API page, ``view_api()`` and the MCP tool list (``Args:``
describe the parameters). ``photos`` imports torch, so it is imported on first use: the page is served first.
"""

from __future__ import annotations

from ui.gradio_support import PROGRESS, gpu, user_errors
from ui.photo_widgets import as_photo_outputs


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
    from vae_demo.demo import photos

    touch = (brightness, contrast, saturation)
    r = photos.enhance(image, problem, strength, simulate, k, seed, *touch, best, progress=progress)
    return as_photo_outputs(r)


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
    from vae_demo.demo import photos

    touched, png = photos.touch_up(restored, brightness, contrast, saturation)
    before = before_after[0] if before_after else None
    return (before, touched) if before is not None else (touched, touched), png
