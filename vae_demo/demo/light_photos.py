"""The Enhance tab's light-and-colour problems: Too dark, Flat / hazy, Colour cast, Auto light & colour.

The same inputs and outputs as every Enhance problem (``photos.enhance`` hands these rows here): with
``simulate`` the clean photo is degraded by the light pipeline (``light.pipeline.LIGHT_DEGRADATIONS``:
under-exposure in stops with sensor noise, haze, a colour cast); ``light-vae`` fixes it through
``light.serving.enhance_light`` and the problem's classical method (``light.classical``) is shown beside it.
"""

from __future__ import annotations

import numpy as np
import torch

from vae_demo.core.device import make_generator
from vae_demo.demo import photos
from vae_demo.light import classical
from vae_demo.light.pipeline import LIGHT_DEGRADATIONS
from vae_demo.light.serving import enhance_light
from vae_demo.restoration.problems import Problem


def _classical(method: str, x: torch.Tensor) -> torch.Tensor:
    """The classical method on a (1, 3, H, W) photo in [0, 1]; a photo too big for it comes back as it is."""
    if photos.classical_skipped(x):
        return x
    out = classical.run_method(method, x[0].permute(1, 2, 0).numpy().astype(np.float64))
    return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)).permute(2, 0, 1)[None]


def enhance_light_photo(
    row: Problem,
    problem: str,
    image,
    strength: float,
    simulate: bool,
    k: int,
    seed: int,
    touch: tuple[float, float, float],
    progress: photos.Progress,
) -> photos.PhotoResult:
    """``photos.enhance`` for a light-and-colour ``row``: the same ``PhotoResult``."""
    level = row.level(strength)
    photos.report_progress(progress, 0.0, "Reading the photo")
    photo, scaled = photos.page_photo(image)
    rgb = photo.expand(-1, 3, -1, -1).contiguous()  # (1, 3, H, W): the light pipeline works in colour
    clean, degraded = (rgb, None) if simulate else (None, rgb)
    if simulate:
        degraded = LIGHT_DEGRADATIONS[row.degradation](rgb[0], level, make_generator(seed))[None].clamp(0, 1)
    photos.report_progress(progress, 0.1, f"Re-lighting with {row.model}")
    model = photos.get_restorer(row.model)
    vae = enhance_light(model, degraded[0], problem, k, make_generator(seed)).as_restoration()
    vae.how += f", on {scaled}" if scaled else ""
    photos.report_progress(progress, 0.8, f"Classical baseline: {row.classical}")
    classical_out = _classical(row.classical, degraded)
    return photos.photo_result(
        clean, degraded, classical_out, row.classical, vae, k, touch, f"enhanced-{problem}", progress
    )
