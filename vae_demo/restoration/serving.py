"""How the app's restoration VAEs serve every problem and kind of noise: one code path for the app, the
``vae-demo restore`` command and the benchmark.

``fix`` serves the Enhance problems (``problems.PROBLEMS``); ``denoise`` the kinds of noise:

- ``gaussian``: the model told sigma (or the blind estimate of ``noise_level``);
- ``poisson``: the Anscombe transform makes photon noise Gaussian of std 1; the model removes it there and
  the exact unbiased inverse (Makitalo & Foi, IEEE TIP 2011, closed-form approximation) brings it back;
- ``salt_and_pepper``: pixels at 0 or 1 that stand out from their neighbours are impulses; they are filled
  from the other pixels around them, then the model removes what is left at a small estimated sigma;
- ``real``: a photo's own noise, blind: the estimated sigma, then the result's low frequencies are put
  back to the photo's (``keep_low_frequencies``), so brightness and colour never move.

Each returns a ``Restoration`` whose ``how`` says what was done; samples and their std are mapped back
through the same steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from vae_demo.restoration import problems
from vae_demo.restoration.model import RestorationVAE
from vae_demo.restoration.noise_level import noise_level
from vae_demo.restoration.restore import Restoration, restore

KINDS = ("gaussian", "poisson", "salt_and_pepper", "real")
# keep_low_frequencies: the low-pass widths (pixels), how far a restoration may move them (noise removed
# at that scale), and the 16 px averages' 99th percentile it settles for (2.5 grey levels: under the bar of 3).
LOW_PASS_SIGMAS, LOW_PASS_TOLERANCE = (4.0, 2.0), 1.0 / 255
LOW_PASS_TARGET, LOW_PASS_STEPS = 2.5 / 255, 8
MAX_PEAK = 1e4  # photons: beyond this, photon noise is too weak to matter
IMPULSE_WINDOWS = (3, 5, 7)  # pixels: the adaptive median filter's windows


def anscombe(x: torch.Tensor, peak: float) -> torch.Tensor:
    """2 sqrt(counts + 3/8), counts = x * peak: Poisson counts become Gaussian of std about 1."""
    return 2 * torch.sqrt(x.clamp(min=0) * peak + 0.375)


def inverse_anscombe(d: torch.Tensor, peak: float) -> torch.Tensor:
    """The exact unbiased inverse of ``anscombe`` (Makitalo & Foi's closed form), back on the 0-1 scale."""
    d = d.clamp(min=0.8)  # the approximation is meant for D >= ~0.8 (the transform of 0 is 1.22)
    c = math.sqrt(1.5)
    counts = d**2 / 4 + c / (4 * d) - 11 / (8 * d**2) + 5 * c / (8 * d**3) - 1 / 8
    return (counts.clamp(min=0) / peak).clamp(0, 1)


def estimate_peak(y: torch.Tensor) -> float:
    """The Poisson peak photon count of a noisy image. The square root stabilises the noise to std
    1 / (2 sqrt(peak)) at every brightness, which ``noise_level`` measures; then, once, the Anscombe
    transform at that peak, whose noise has std 1 when the peak is right (and sqrt(guess / peak) if not)."""
    s = noise_level(torch.sqrt(y.clamp(min=0))) / 255
    if s <= 0:
        return MAX_PEAK
    guess = min(MAX_PEAK, max(1.0, 1 / (4 * s * s)))
    a = anscombe(y, guess)
    low, high = float(anscombe(torch.zeros(()), guess)), float(a.max())
    s = noise_level((a - low) / max(high - low, 1e-6)) / 255 * (high - low)  # std in the transformed domain
    return float(min(MAX_PEAK, max(1.0, guess / (s * s)))) if s > 0 else MAX_PEAK


def impulses(y: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) True where a pixel is salt or pepper: every channel at 0 or 1, and not the median of
    its 3x3, 5x5 or 7x7 window (the adaptive median filter's growing windows, Hwang & Haddad, IEEE TIP
    1995), so a blown-out highlight or a black border is left alone; nor is a pixel with 5 or more of
    its 8 neighbours at its value (the straight edge of such a region; its corners are taken)."""
    from scipy.ndimage import median_filter

    grey = y.mean(1, keepdim=True)  # (N, 1, H, W): 0 or 1 only where every channel is
    white, black = (grey >= 1).float(), (grey <= 0).float()
    alike = (
        torch.where(
            grey >= 1,
            F.avg_pool2d(F.pad(white, (1, 1, 1, 1), mode="replicate"), 3, stride=1),
            F.avg_pool2d(F.pad(black, (1, 1, 1, 1), mode="replicate"), 3, stride=1),
        )
        * 9
    )
    extreme = ((grey <= 0) | (grey >= 1)) & (alike < 6)
    hit = torch.zeros_like(extreme)
    a = grey.cpu().numpy()  # the windows grow until one's median is not the pixel's value
    for size in IMPULSE_WINDOWS:
        med = torch.from_numpy(median_filter(a, size=(1, 1, size, size), mode="mirror")).to(y.device)
        hit = hit | (extreme & (med != grey))
    return hit


def _fill_from_neighbours(y: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
    """Each pixel's Gaussian-weighted mean of the pixels around it that are not holes (normalised
    convolution), widening until every hole has neighbours; a pixel with none keeps its value."""
    valid, out, done = 1 - holes, y.clone(), torch.zeros_like(holes)
    for sigma in (1.0, 2.0, 4.0, 8.0):
        num, den = gaussian_blur_free(y * valid, sigma), gaussian_blur_free(valid, sigma)
        fill = (den > 1e-3) & (done == 0)
        out = torch.where(fill, num / den.clamp(min=1e-3), out)
        done = done + fill.float()
        if bool((done > 0).all()):
            break
    return out


def gaussian_blur_free(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A Gaussian blur without clipping (weights and sums, not images), reflect-padded."""
    r = math.ceil(3 * sigma)
    k = torch.exp(-((torch.arange(-r, r + 1, dtype=x.dtype, device=x.device) / sigma) ** 2) / 2)
    k = k / k.sum()
    c = x.shape[1]
    mode = "reflect" if r < min(x.shape[-2:]) else "replicate"
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode=mode), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode=mode), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _box(x: torch.Tensor, side: int = 16) -> torch.Tensor:
    """The mean over every side x side window (same size out, edges replicated)."""
    x = F.pad(x, (side // 2 - 1, side // 2, side // 2 - 1, side // 2), mode="replicate")
    return F.avg_pool2d(F.avg_pool2d(x, (side, 1), stride=1), (1, side), stride=1)


def keep_low_frequencies(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``out`` with its low frequencies moved back to ``y``'s, so a restoration never changes brightness or
    colour: a blotch it painted or a colour it shifted is undone, while the detail it restored stays.

    The difference's low-pass (a Gaussian blur of LOW_PASS_SIGMAS[0] px) is added back beyond
    LOW_PASS_TOLERANCE (so noise removed at that scale stays removed). Then, while the 99th percentile
    of |16x16-window means of y - out| is above LOW_PASS_TARGET (a very noisy photo, whose removed noise
    moves its 16 px averages), a narrower one (LOW_PASS_SIGMAS[1] px), at most LOW_PASS_STEPS times.
    """
    for i in range(1 + LOW_PASS_STEPS):
        if i and torch.quantile(_box(y - out).abs().flatten()[::7], 0.99) <= LOW_PASS_TARGET:
            break
        d = gaussian_blur_free(y - out, LOW_PASS_SIGMAS[min(i, 1)])
        out = (out + torch.sign(d) * (d.abs() - LOW_PASS_TOLERANCE).clamp(min=0)).clamp(0, 1)
    return out


def _mapped(r: Restoration, f: Callable[[torch.Tensor], torch.Tensor], how: str) -> Restoration:
    """The restoration with ``f`` applied to its mode and samples (std and mean recomputed)."""
    samples = None if r.samples is None else torch.stack([f(s) for s in r.samples])
    mean = None if samples is None else samples.mean(0)
    std = None if samples is None else (samples.std(0) if len(samples) > 1 else torch.zeros_like(samples[0]))
    return Restoration(f(r.mode), mean, samples, std, r.noise_sigma, how)


def denoise(
    model: RestorationVAE,
    y: torch.Tensor,
    kind: str,
    level: float | None = None,
    samples: int = 0,
    generator: torch.Generator | None = None,
    ensemble: bool = False,
    tile: int | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Restoration:
    """Remove noise of ``kind`` from ``y`` (N, 1 or 3, H, W) in [0, 1] with ``model`` told the condition noise.

    ``level``: the Gaussian sigma (0-255 scale) or the Poisson peak photon count; None estimates it
    (salt and pepper and ``real`` never need it). ``samples``, ``generator``, ``ensemble``, ``tile`` and
    ``progress`` are ``restore``'s.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; choose one of {', '.join(KINDS)}")
    opts = {"samples": samples, "generator": generator, "ensemble": ensemble, "tile": tile, "progress": progress}
    told = "estimated" if level is None else "told"
    if kind == "gaussian":
        r = restore(model, y, level, condition="noise", **opts)
        r.how = f"{r.how}, {told} sigma {r.noise_sigma:.1f}"
        return r
    if kind == "poisson":
        peak = estimate_peak(y) if level is None else float(level)
        low, high = anscombe(torch.zeros(()), peak), anscombe(torch.ones(()), peak)
        scale = float(high - low)  # the transformed [0, 1] range; its noise has std 1
        r = restore(model, (anscombe(y, peak) - low) / scale, 255 / scale, condition="noise", **opts)
        how = (
            f"Anscombe transform ({told} peak {peak:.0f} photons), {r.how} at sigma {r.noise_sigma:.1f} there, "
            "exact unbiased inverse"
        )
        return _mapped(r, lambda t: inverse_anscombe(t * scale + low, peak), how)
    if kind == "salt_and_pepper":
        hit = impulses(y)
        filled = torch.where(hit, _fill_from_neighbours(y, hit.float()), y)
        r = restore(model, filled, None, condition="noise", **opts)
        how = (
            f"{float(hit.float().mean()) * 100:.1f}% of pixels found to be impulses and filled from their "
            f"neighbours, then the {r.how} at the estimated sigma {r.noise_sigma:.1f}"
        )
        return _mapped(r, lambda t: torch.where(hit, t, y.clamp(0, 1)), how)
    r = restore(model, y, None, condition="noise", **opts)
    shift = keep_low_frequencies(r.mode, y) - r.mode  # one correction for the mode and every sample
    how = f"{r.how} at the estimated sigma {r.noise_sigma:.1f}, the photo's brightness and colour kept"
    return _mapped(r, lambda t: (t + shift).clamp(0, 1), how)


def fix(
    model: RestorationVAE,
    y: torch.Tensor,
    problem: str,
    sigma: float | None = None,
    samples: int = 0,
    generator: torch.Generator | None = None,
    ensemble: bool = False,
    tile: int | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Restoration:
    """Fix the Enhance ``problem`` of ``y``: Auto is a real photo's own noise (``denoise`` ``real``), Noise
    the Gaussian kind told ``sigma`` (None: estimated), the others the model told the problem's condition
    and ``sigma``, the noise level on top of it (None: estimated). x2 / x4 take the bicubic enlargement."""
    row = problems.problem(problem)
    opts = {"samples": samples, "generator": generator, "ensemble": ensemble, "tile": tile, "progress": progress}
    if problem == "auto":
        return denoise(model, y, "real", **opts)
    if problem == "noise":
        return denoise(model, y, "gaussian", sigma, **opts)
    return restore(model, y, sigma, condition=row.condition, **opts)
