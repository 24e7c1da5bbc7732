"""Restore photos with a ``RestorationVAE``: the mode, K posterior samples and a per-pixel std map.

``restore`` handles what a photo brings: grey images (fed as three equal channels, averaged back),
sides that are not a multiple of the U-Net's stride (reflect-padded, then cropped), values outside
[0, 1] (a float image with unclipped noise: clipped first, ``in_range``, and said in ``how``), an unknown
noise level (estimated by ``noise_level.noise_level``) and big images (``tile=``:
overlapping tiles blended with linear ramps, with the latent noise drawn once for the whole image
so tiled and untiled results agree).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vae_demo.restoration.model import RestorationVAE
from vae_demo.restoration.noise_level import noise_level

Progress = Callable[[float, str], None]


@dataclass
class Restoration:
    """Outputs of ``restore`` for a batch (N, C, H, W), all clipped to [0, 1] except ``std``."""

    mode: torch.Tensor  # decoded at the prior's mode: the restored estimate
    mean: torch.Tensor | None  # mean of the K samples (None when K = 0)
    samples: torch.Tensor | None  # (K, N, C, H, W)
    std: torch.Tensor | None  # per-pixel std over the K samples, on the 0-1 scale
    noise_sigma: float  # the noise level the model was told, on the 0-255 scale
    how: str = "mode of p(x | degraded)"  # how the result was made, as the app's table says it


def in_range(y: torch.Tensor) -> tuple[torch.Tensor, float]:
    """``y`` clipped to [0, 1] and the share of its values that were outside. The models were trained on
    clipped noisy images, so a float input with unclipped noise is clipped to what they know: on 4 validation
    photos (CBSD432) it restored as well as the clipped input of the same draw, where the unclipped input fed as
    it is lost 0.9 dB at sigma 25 and 4.7 dB at sigma 50, and shrinking its range into [0, 1] 0.04-0.05 dB."""
    outside = (y < 0) | (y > 1)
    return (y.clamp(0, 1), float(outside.float().mean())) if bool(outside.any()) else (y, 0.0)


def estimate_noise_sigma(y: torch.Tensor) -> float:
    """Blind noise level of an image batch in [0, 1] (its first image), on the 0-255 scale: the sigma to tell
    a Gaussian denoiser (``noise_level``: flat blocks, luma, noise spread over 2x2 pixels counted)."""
    return noise_level(y)


def _run(
    model: RestorationVAE, y: torch.Tensor, sigma01: float, eps: torch.Tensor | None, condition: str | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Mode and samples of a padded 3-channel batch; ``eps`` (K, N, zc, h, w) gives the samples' noise."""
    feats = model.features(y, sigma01, condition)
    prior = model.prior(feats)
    mode = model.decode(prior.mode(), feats, y)
    if eps is None:
        return mode, None
    samples = torch.stack([model.decode(prior.mean + prior.std * e, feats, y) for e in eps])
    return mode, samples


def flip_rotate(x: torch.Tensor, i: int, inverse: bool = False) -> torch.Tensor:
    """The ``i``-th of the 8 symmetries of the square (i // 4: a left-right flip, i % 4: quarter turns)."""
    k, flip = i % 4, i >= 4
    if inverse:
        x = torch.rot90(x, -k, (-2, -1))
        return x.flip(-1) if flip else x
    return torch.rot90(x.flip(-1) if flip else x, k, (-2, -1))


def _pad(y: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    h, w = y.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        y = F.pad(y, (0, pw, 0, ph), mode=mode)
    return y, h, w


def _ramp(n: int, overlap: int, first: bool, last: bool) -> torch.Tensor:
    """1-D blending weights: linear ramps over ``overlap`` pixels at edges shared with a neighbour."""
    w = torch.ones(n)
    ramp = (torch.arange(overlap) + 0.5) / overlap
    if not first:
        w[:overlap] = ramp
    if not last:
        w[-overlap:] = ramp.flip(0)
    return w


def _starts(size: int, tile: int, overlap: int, multiple: int) -> list[int]:
    if size <= tile:
        return [0]
    stride = (tile - overlap) // multiple * multiple
    starts = list(range(0, size - tile, stride)) + [size - tile]
    return sorted(set(starts))


def _run_tiled(
    model: RestorationVAE,
    y: torch.Tensor,
    sigma01: float,
    eps: torch.Tensor | None,
    tile: int,
    overlap: int,
    progress: Progress | None,
    condition: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``_run`` over overlapping tiles of a padded batch, blended with linear ramps."""
    m = model.multiple
    tile, overlap = max(m, tile // m * m), max(m, overlap // m * m)
    h, w = y.shape[-2:]
    mode = torch.zeros_like(y)
    samples = None if eps is None else torch.zeros((eps.shape[0], *y.shape), dtype=y.dtype, device=y.device)
    weight = torch.zeros((1, 1, h, w), dtype=y.dtype, device=y.device)
    rows, cols = _starts(h, tile, overlap, m), _starts(w, tile, overlap, m)
    for i, top in enumerate(rows):
        for j, left in enumerate(cols):
            th, tw = min(tile, h), min(tile, w)
            crop = y[..., top : top + th, left : left + tw]
            e = None if eps is None else eps[..., top // m : (top + th) // m, left // m : (left + tw) // m]
            out, outs = _run(model, crop, sigma01, e, condition)
            wt = (
                _ramp(th, overlap, i == 0, i == len(rows) - 1)[:, None]
                * _ramp(tw, overlap, j == 0, j == len(cols) - 1)[None, :]
            ).to(y)
            mode[..., top : top + th, left : left + tw] += out * wt
            if samples is not None:
                samples[..., top : top + th, left : left + tw] += outs * wt
            weight[..., top : top + th, left : left + tw] += wt
            if progress:
                progress((i * len(cols) + j + 1) / (len(rows) * len(cols)), "restoring tiles")
    return mode / weight, None if samples is None else samples / weight


@torch.no_grad()
def restore(
    model: RestorationVAE,
    y: torch.Tensor,
    noise_sigma: float | None = None,
    samples: int = 0,
    generator: torch.Generator | None = None,
    tile: int | None = None,
    overlap: int = 64,
    progress: Progress | None = None,
    condition: str | None = None,
    ensemble: bool = False,
) -> Restoration:
    """Restore a degraded batch ``y`` (N, 1 or 3, H, W) in [0, 1] (values outside are clipped: ``in_range``).

    ``noise_sigma`` (0-255 scale) tells the model how noisy the input is; None estimates it.
    ``samples`` > 0 also draws that many restorations from p(z | y) and their per-pixel std.
    ``tile`` (pixels) restores big images tile by tile with ``overlap`` pixels blended.
    ``condition`` names the problem (one of ``model.config.conditions``: noise, jpeg, sr, blur, lowlight, tone);
    None lets the model work it out (blind). Models trained without conditions ignore it.
    ``ensemble`` averages the mode over the 8 flips and quarter turns of the image (the x8 self-ensemble:
    8 times slower, a little better); the samples are drawn from the image as it is.
    """
    if y.ndim != 4 or y.shape[1] not in (1, 3):
        raise ValueError(f"expected a batch of grey or RGB images (N, 1|3, H, W), got shape {tuple(y.shape)}")
    model.eval()
    device = model.device
    grey = y.shape[1] == 1
    condition = condition if condition in model.config.conditions else None
    y, outside = in_range(y)
    sigma = estimate_noise_sigma(y) if noise_sigma is None else float(noise_sigma)
    x = y.to(device, torch.float32).expand(-1, 3, -1, -1) if grey else y.to(device, torch.float32)
    x, h, w = _pad(x, model.multiple)
    x = x.contiguous(memory_format=torch.channels_last)
    eps = None
    if samples > 0:
        zc, m = model.config.latent_channels, model.multiple
        shape = (samples, x.shape[0], zc, x.shape[-2] // m, x.shape[-1] // m)
        eps = torch.randn(shape, generator=generator, device=generator.device if generator else "cpu").to(device)

    def run(xx: torch.Tensor, e: torch.Tensor | None, report: Progress | None) -> tuple:
        if tile and max(xx.shape[-2:]) > tile:
            return _run_tiled(model, xx, sigma / 255, e, tile, overlap, report, condition)
        return _run(model, xx, sigma / 255, e, condition)

    n = 8 if ensemble else 1
    mode, draws = run(x, eps, progress if n == 1 else None)
    for i in range(1, n):
        mode = mode + flip_rotate(run(flip_rotate(x, i), None, None)[0], i, inverse=True)
        if progress:
            progress((i + 1) / n, f"self-ensemble: view {i + 1} of {n}")
    mode = mode / n

    def finish(t: torch.Tensor) -> torch.Tensor:
        t = t[..., :h, :w]
        return t.mean(dim=-3, keepdim=True) if grey else t

    mode = finish(mode).clamp(0, 1)
    how = "mode of p(x | degraded)" + (", averaged over 8 flips and turns" if ensemble else "")
    how += f", input clipped to [0, 1] ({outside:.1%} of its values were outside)" if outside else ""
    if draws is None:
        return Restoration(mode, None, None, None, sigma, how)
    draws = finish(draws).clamp(0, 1)
    std = draws.std(0) if samples > 1 else torch.zeros_like(mode)
    return Restoration(mode, draws.mean(0), draws, std, sigma, how)


@torch.no_grad()
def posterior_stats(
    model: RestorationVAE,
    clean: torch.Tensor,
    y: torch.Tensor,
    noise_sigma: float | None,
    samples: int = 4,
    generator: torch.Generator | None = None,
    condition: str | None = None,
) -> dict[str, float]:
    """KL(q(z | clean, y) || p(z | y)) in nats per image (how much the latent carries beyond the degraded
    image: near 0 would mean posterior collapse) and the mean per-pixel std of K samples (0-255 scale)."""
    model.eval()
    y, _ = in_range(y)
    sigma = estimate_noise_sigma(y) if noise_sigma is None else float(noise_sigma)
    x, yy = (t.to(model.device, torch.float32).expand(-1, 3, -1, -1) for t in (clean, y))
    x, _, _ = _pad(x, model.multiple)
    yy, _, _ = _pad(yy, model.multiple)
    condition = condition if condition in model.config.conditions else None
    feats = model.features(yy, sigma / 255, condition)
    kl = model.encode(x, yy, feats).kl(model.prior(feats), dims=(1, 2, 3)).mean().item()
    spread = restore(model, y, sigma, samples=samples, generator=generator, condition=condition).std.mean().item() * 255
    return {"kl_per_image": kl, "sample_std_255": spread}
