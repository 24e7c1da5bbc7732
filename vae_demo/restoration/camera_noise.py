"""A camera's noise as its JPEG keeps it: spread over neighbouring pixels and channels, not white.

A sensor counts photo-electrons behind a Bayer colour filter (one of R, G, B per pixel, RGGB); shot noise
(Poisson) and read noise (Gaussian) are independent per pixel there. Demosaicing fills each pixel's two missing
colours from its neighbours, so the noise a photo shows is correlated over about 3 pixels and across channels;
white balance then amplifies red and blue, the sRGB curve lifts the shadows' noise, and a camera's noise
reduction blurs the colour noise into blotches, and the JPEG keeps what its quantisation does not wipe.
``camera_raw_noise`` adds that noise to a photo and leaves the photo itself as it was (only the noise goes
through the mosaic), so the clean photo stays the target.

The noise level told to a restoration model is what ``noise_level.noise_level`` reads for the noise alone (on
mid-grey), as the app's Auto tells it for a photo: about 0.77 of the std of the noise's luma averaged over 2 x 2
pixels and scaled back by 2, as the estimate's fitted surfaces take up some of the correlated noise.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from vae_demo.light.pipeline import linear_to_srgb, srgb_to_linear
from vae_demo.restoration.degradations import jpeg
from vae_demo.restoration.noise_level import noise_level

RAW_READ_NOISE_E = 3.0  # read noise std, photo-electrons
RED_GAIN, BLUE_GAIN = (1.6, 2.4), (1.3, 2.0)  # white-balance gains of a daylight-balanced sensor
CHROMA_BLUR = (0.0, 2.0)  # px: the camera's colour noise reduction, none to strong
JPEG_QUALITY = (80, 98)  # the camera's JPEG
YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])  # BT.601


def bayer_masks(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """(1, 3, h, w): which pixels of an RGGB mosaic see red, green and blue."""
    m = torch.zeros(1, 3, h, w, dtype=like.dtype, device=like.device)
    m[:, 0, 0::2, 0::2] = 1
    m[:, 1, 0::2, 1::2] = 1
    m[:, 1, 1::2, 0::2] = 1
    m[:, 2, 1::2, 1::2] = 1
    return m


def demosaic_bilinear(mosaic: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) RGGB mosaic -> (B, 3, H, W): each missing colour the mean of its nearest neighbours of it."""
    b, _, h, w = mosaic.shape
    k_rb = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 4
    k_g = torch.tensor([[0.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 0.0]]) / 4
    kernels = torch.stack([k_rb, k_g, k_rb])[:, None].to(mosaic)  # (3, 1, 3, 3)
    planes = mosaic * bayer_masks(h, w, mosaic)  # (B, 3, H, W), zeros where a colour was not seen
    return F.conv2d(F.pad(planes, (1, 1, 1, 1), mode="reflect"), kernels, groups=3)


def told_sigma(noise: torch.Tensor) -> float:
    """The noise level (0-255) ``noise_level`` reads for ``noise`` (1, C, H, W) alone, on mid-grey: what the
    blind estimate will tell the model for a photo with this noise."""
    return noise_level((noise[0] + 0.5).clamp(0, 1))


def _uniform(g: torch.Generator | None, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand(1, generator=g))


def camera_raw_noise(
    x: torch.Tensor, photons: float, generator: torch.Generator | None = None, quality: int | None = None
) -> tuple[torch.Tensor, float]:
    """``x`` (1, C, H, W) sRGB in [0, 1] with a camera's noise at ``photons`` photo-electrons for a white pixel,
    saved as JPEG at ``quality`` (white balance, noise reduction and, for None, the quality drawn from
    ``generator``); returns the noisy photo and the sigma a restoration model is told."""
    h, w = x.shape[-2:]
    colour = x.shape[1] == 3
    rgb = x if colour else x.expand(1, 3, h, w)
    gains = torch.tensor([_uniform(generator, *RED_GAIN), 1.0, _uniform(generator, *BLUE_GAIN)]).view(1, 3, 1, 1)
    lin = srgb_to_linear(rgb)
    raw = (lin / gains * bayer_masks(h, w, x)).sum(1, keepdim=True)  # (1, 1, H, W): what each photosite saw
    electrons = raw.clamp(0, 1) * photons
    shot = torch.poisson(electrons, generator=generator) - electrons
    read = RAW_READ_NOISE_E * torch.randn(raw.shape, generator=generator)
    noise = demosaic_bilinear((shot + read) / photons) * gains  # (1, 3, H, W), linear light
    d = linear_to_srgb(lin + noise) - rgb  # the noise as the sRGB photo shows it
    blur = _uniform(generator, *CHROMA_BLUR)
    if blur > 0.3:  # the camera's colour noise reduction: the noise's chroma blurred
        ycc = torch.einsum("ij,bjhw->bihw", YCC, d)
        size = 2 * math.ceil(3 * blur) + 1
        ycc[:, 1:] = TF.gaussian_blur(ycc[:, 1:], [size, size], [blur, blur])
        d = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(YCC), ycc)
    y = (rgb + d).clamp(0, 1)
    y = jpeg(y if colour else y.mean(1, keepdim=True), quality or round(_uniform(generator, *JPEG_QUALITY)))
    return y, told_sigma(y - x)
