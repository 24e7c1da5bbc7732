"""The training mixture of a restoration model: which degradations its patches get, and what it is told.

A ``Step`` names a degradation of ``degradations`` with a probability and a strength range; a run
config's ``degradations`` list is a list of them (``DEFAULT_STEPS``: every problem at once). Each step
has a **condition** (``CONDITIONS``), the code the model is given as one input map per condition.
``DegradationPipeline`` draws the steps for each image of a batch and returns the degraded batch, the
std of the noise it added (the noise level the model is told) and each image's condition.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vae_demo.restoration.camera_noise import camera_raw_noise
from vae_demo.restoration.degradations import (
    colour_cast,
    gaussian_blur,
    gaussian_noise,
    jpeg,
    low_light,
    low_resolution,
    motion_blur,
    poisson_noise,
    reduce_contrast,
    salt_and_pepper,
)


@dataclass(frozen=True)
class Step:
    """One degradation of the training mixture, applied with ``probability``, strength in [low, high]."""

    name: str
    probability: float
    low: float
    high: float


# One degradation per image, drawn with these probabilities (3% of images stay clean); blur, low
# resolution, haze and colour casts get extra sensor noise 30% of the time. Noise weighs most.
DEFAULT_STEPS = (
    Step("gaussian_noise", 0.40, 0.0, 55.0),
    Step("poisson_noise", 0.05, 4.0, 100.0),
    Step("salt_and_pepper", 0.03, 0.01, 0.15),
    Step("jpeg", 0.15, 10.0, 60.0),
    Step("low_resolution", 0.15, 1.5, 4.5),  # rounds to x2, x3 or x4
    Step("gaussian_blur", 0.07, 0.5, 2.5),
    Step("motion_blur", 0.03, 3.0, 13.0),
    Step("low_light", 0.05, 0.15, 0.6),
    Step("reduce_contrast", 0.02, 0.1, 0.6),
    Step("colour_cast", 0.02, 0.0, 0.25),
)
NOISY_EXTRAS = ("gaussian_blur", "motion_blur", "low_resolution", "reduce_contrast", "colour_cast")
# The condition codes a restoration model can be told (one input map each), and each training step's.
CONDITIONS = ("noise", "jpeg", "sr", "blur", "lowlight", "tone")
STEP_CONDITION = {
    "gaussian_noise": "noise",
    "poisson_noise": "noise",
    "camera_raw_noise": "noise",  # level: log2 of the photo-electrons of a white pixel
    "salt_and_pepper": "noise",
    "jpeg": "jpeg",
    "low_resolution": "sr",
    "gaussian_blur": "blur",
    "motion_blur": "blur",
    "low_light": "lowlight",
    "reduce_contrast": "tone",
    "colour_cast": "tone",
}


class DegradationPipeline:
    """A random mixture of degradations for training, each ``Step`` with a probability and a strength range.

    ``exclusive`` (the default) draws one step per image with the steps' probabilities (their sum
    must be <= 1; the rest stay clean) and adds mild Gaussian noise (sigma up to 15) to 30% of the
    blurred, downsampled, hazy or tinted ones; otherwise every step fires independently with its
    probability, in order. ``__call__(x, generator)`` degrades each image of the batch on its own and
    also returns the std of the noise it added per image (0-1 scale): the condition a restoration
    model is given.
    """

    def __init__(
        self, steps: tuple[Step, ...] = DEFAULT_STEPS, exclusive: bool = True, extra_noise: float = 0.3
    ) -> None:
        if exclusive and sum(s.probability for s in steps) > 1 + 1e-9:
            raise ValueError("exclusive steps need probabilities that sum to at most 1")
        self.steps, self.exclusive, self.extra_noise = steps, exclusive, extra_noise

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        y, sigmas, _ = self.with_conditions(x, generator)
        return y, sigmas

    def with_conditions(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """Like ``__call__``, plus each image's main problem (a ``CONDITIONS`` code, "" if clean)."""
        out, sigmas, tasks = zip(*(self.one(x[i : i + 1], generator) for i in range(x.shape[0])), strict=True)
        return torch.cat(out), torch.tensor(sigmas, dtype=x.dtype, device=x.device), list(tasks)

    def chosen(self, g: torch.Generator | None) -> list[Step]:
        """The steps to apply to one image."""
        if not self.exclusive:
            return [s for s in self.steps if float(torch.rand(1, generator=g)) < s.probability]
        u, total = float(torch.rand(1, generator=g)), 0.0
        for step in self.steps:
            total += step.probability
            if u < total:
                extra = step.name in NOISY_EXTRAS and float(torch.rand(1, generator=g)) < self.extra_noise
                return [step, Step("gaussian_noise", 1.0, 0.0, 15.0)] if extra else [step]
        return []

    def one(self, x: torch.Tensor, g: torch.Generator | None) -> tuple[torch.Tensor, float, str]:
        def draw(low: float = 0.0, high: float = 1.0) -> float:
            return low + (high - low) * float(torch.rand(1, generator=g))

        noise_var = 0.0
        steps = self.chosen(g)
        for step in steps:
            s = draw(step.low, step.high)
            if step.name == "gaussian_blur":
                x = gaussian_blur(x, s)
            elif step.name == "motion_blur":
                x = motion_blur(x, s, draw(0, 180))
            elif step.name == "low_resolution":
                x = low_resolution(x, round(s))
            elif step.name == "low_light":
                read_noise = draw(0, 12)
                x = low_light(x, s, draw(0.9, 1.5), read_noise, g)
                noise_var += (read_noise / 255) ** 2
            elif step.name == "reduce_contrast":
                x = reduce_contrast(x, s, draw(0.6, 0.95))
            elif step.name == "colour_cast":
                x = colour_cast(x, (1 + draw(-s, s), 1.0, 1 + draw(-s, s)))
            elif step.name == "gaussian_noise":
                x = gaussian_noise(x, s, g)
                noise_var += (s / 255) ** 2
            elif step.name == "poisson_noise":
                before = x
                x = poisson_noise(x, s, g)
                noise_var += float((x - before).var())
            elif step.name == "camera_raw_noise":
                x, told = camera_raw_noise(x, 2.0**s, g)
                noise_var += (told / 255) ** 2
            elif step.name == "salt_and_pepper":
                x = salt_and_pepper(x, s, g)
            elif step.name == "jpeg":
                x = jpeg(x, round(s))
            else:
                raise ValueError(f"unknown degradation step {step.name!r}")
        return x, noise_var**0.5, STEP_CONDITION[steps[0].name] if steps else ""
