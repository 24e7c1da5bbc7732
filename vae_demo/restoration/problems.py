"""The one table of photo problems: what a person can ask the app to fix, and how each is served.

Words used across the restoration code, each with one meaning:
- a **problem** is what the user wants fixed in a photo (a row of ``PROBLEMS`` or ``NOISES``);
- a **degradation** is a named corruption in physical units (``degradations.DEGRADATIONS``): the
  app applies it to a clean photo to simulate the problem, and the benchmark to make its inputs;
- a **condition** is the code a restoration model is told (``mixture.CONDITIONS``), one input
  map each; none means the model works the problem out itself (blind).

Each row says how a strength slider in [0, 1] maps to the degradation's level, which condition the
model is told, which checkpoint serves the problem, and which classical method is shown beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vae_demo.light.pipeline import LIGHT_DEGRADATIONS
from vae_demo.restoration.degradations import DEGRADATIONS

# The Gaussian denoiser behind Auto, Noise and every kind of the Denoise tab (``serving`` turns Poisson,
# salt and pepper and a photo's own noise into its problem).
DENOISE_MODEL = "denoise-vae"  # Gaussian noise of a given level alone (sigma 0-55): configs/denoise-vae.json
SR_MODEL = "sr-vae"  # trained on enlargement alone (x2, x3, x4): configs/sr-vae.json
JPEG_MODEL = "jpeg-vae"  # trained on JPEG repair alone (qualities 8-40): configs/jpeg-vae.json
BLUR_MODEL = "deblur-vae"  # trained on Gaussian blur alone (sigma 0.5-3 px): configs/deblur-vae.json
LIGHT_MODEL = "light-vae"  # exposure, haze / flat tone and colour casts, blind: configs/light-vae.json


@dataclass(frozen=True)
class Problem:
    """One thing a person can ask to have fixed."""

    label: str  # as the app shows it
    degradation: str  # the name that simulates it: a DEGRADATIONS one, or LIGHT_DEGRADATIONS for LIGHT_MODEL
    level: Callable[[float], float]  # strength in [0, 1] -> the degradation's level
    condition: str | None  # told to the model; None: blind
    classical: str  # the classical method shown beside the VAE (classical.METHODS)
    model: str  # the checkpoint that serves it

    def __post_init__(self) -> None:
        if self.degradation not in (LIGHT_DEGRADATIONS if self.model == LIGHT_MODEL else DEGRADATIONS):
            raise ValueError(f"unknown degradation {self.degradation!r}")


# What the Enhance tab can fix.
PROBLEMS: dict[str, Problem] = {
    # Auto: a real photo's own noise, blind (``serving.denoise`` "real"); simulated: blur 0.8, noise, JPEG 70.
    "auto": Problem(
        "Auto (a phone photo: blur, noise, JPEG)", "denoise", lambda s: 5 + 45 * s, "noise", "nlm", DENOISE_MODEL
    ),
    "noise": Problem("Noise", "denoise", lambda s: 5 + 45 * s, "noise", "nlm", DENOISE_MODEL),  # sigma 5-50
    "blur": Problem("Blur", "deblur", lambda s: 0.5 + 2.5 * s, "blur", "richardson_lucy", BLUR_MODEL),  # sigma 0.5-3 px
    "jpeg": Problem("JPEG blocks", "jpeg", lambda s: 60 - 50 * s, "jpeg", "tv", JPEG_MODEL),  # quality 60 down to 10
    "x2": Problem("Low resolution x2", "sr", lambda s: 2, "sr", "bicubic", SR_MODEL),
    "x4": Problem("Low resolution x4", "sr", lambda s: 4, "sr", "bicubic", SR_MODEL),
    # Light and colour (light.serving): the level is in LIGHT_DEGRADATIONS' units; the model is blind.
    "lowlight": Problem("Too dark", "lowlight", lambda s: 1 + 3 * s, None, "clahe", LIGHT_MODEL),  # 1-4 stops under
    "haze": Problem("Flat / hazy", "haze", lambda s: 0.2 + 0.6 * s, None, "contrast_stretch", LIGHT_MODEL),
    "colour_cast": Problem("Colour cast", "colour_cast", lambda s: 0.2 + 0.8 * s, None, "white_patch", LIGHT_MODEL),
    "light_auto": Problem("Auto light & colour", "light_auto", lambda s: 0.5, None, "clahe", LIGHT_MODEL),
}


@dataclass(frozen=True)
class Noise:
    """A kind of noise the Denoise tab adds (or, ``real``, finds in the photo) and removes."""

    label: str
    degradation: str | None  # None: the photo's own noise, nothing is added
    level_range: tuple[float, float]  # of the tab's level slider, in the units below
    level_unit: str
    classical: str
    model: str

    def physical_level(self, level: float) -> float:
        """The slider's level in the degradation's units (salt and pepper: percent -> fraction)."""
        return level / 100 if self.degradation == "salt_and_pepper" else level


NOISES: dict[str, Noise] = {
    "gaussian": Noise("Gaussian", "denoise", (0, 100), "sigma on the 0-255 scale", "nlm", DENOISE_MODEL),
    "poisson": Noise("Poisson (photon)", "poisson", (1, 1000), "peak photon count", "nlm", DENOISE_MODEL),
    "salt_and_pepper": Noise(
        "Salt and pepper", "salt_and_pepper", (0, 50), "percent of pixels", "median", DENOISE_MODEL
    ),
    "real": Noise("The photo's own noise", None, (0, 100), "ignored: the level is estimated", "nlm", DENOISE_MODEL),
}


def problem(key: str) -> Problem:
    """The Enhance problem called ``key``, or a sentence naming the choices."""
    if key not in PROBLEMS:
        raise ValueError(f"Unknown problem {key!r}. Choose one of: {', '.join(PROBLEMS)}.")
    return PROBLEMS[key]


def noise(key: str) -> Noise:
    """The Denoise tab's noise kind called ``key``, or a sentence naming the choices."""
    if key not in NOISES:
        raise ValueError(f"Unknown noise type {key!r}. Choose one of: {', '.join(NOISES)}.")
    return NOISES[key]
