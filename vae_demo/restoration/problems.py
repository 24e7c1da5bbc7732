"""The photo problems and kinds of noise, as the restoration code looks them up (the rows live in ``vae_demo.catalog``).

``problem(key)`` and ``noise(key)`` give a row or a sentence naming the choices; the constants name the models
that serve them. See ``vae_demo.catalog`` for what each field of a row means.
"""

from __future__ import annotations

from vae_demo.catalog import (
    BLUR_MODEL,
    DENOISE_MODEL,
    JPEG_MODEL,
    LIGHT_MODEL,
    NOISES,
    PROBLEMS,
    SR_MODEL,
    Noise,
    Problem,
)

__all__ = ["BLUR_MODEL", "DENOISE_MODEL", "JPEG_MODEL", "LIGHT_MODEL", "NOISES", "PROBLEMS", "SR_MODEL"]
__all__ += ["Noise", "Problem", "noise", "problem"]


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
