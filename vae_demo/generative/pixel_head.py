"""An autoregressive head for a VAE's decoder (PixelVAE, Gulrajani et al. 2017): each pixel's logit also reads the
pixels before it in raster order, through masked convolutions (PixelCNN, van den Oord et al. 2016).

A factorised decoder draws every pixel independently given z, so whatever neighbouring pixels share beyond z (where a
stroke goes next) must be carried by the latents or is lost to the likelihood. The head adds f(x_<ij, decoder state)
to the logit of pixel (i, j). It is trained on the ELBO with the true pixels as its input (teacher forcing, one pass
for every pixel) and sampled one pixel at a time. Its last layer starts at zero, so a head added to a trained
decoder starts as that decoder. One-channel (binarised) images.

Shapes, for a decoder state (S, H/2, W/2) and a head of ``width`` P: x (B, 1, H, W) -> features (B, P, H, W) ->
logit offsets (B, 1, H, W).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FIRST_SIZE = 7  # the first masked convolution, which reads x: 3 rows above and 3 pixels to the left


class MaskedConv2d(nn.Conv2d):
    """A square convolution that sees the rows above its centre and the pixels left of it on its row; type "A" hides
    the centre (the first layer, which reads x), type "B" lets it through (later layers, whose centre has only seen
    earlier pixels)."""

    def __init__(self, kind: str, in_channels: int, out_channels: int, size: int) -> None:
        if kind not in ("A", "B") or size % 2 == 0:
            raise ValueError(f"a masked convolution is of type 'A' or 'B' with an odd size; got {kind!r}, {size}")
        super().__init__(in_channels, out_channels, size, padding=size // 2)
        mask = torch.ones_like(self.weight)  # (out, in, size, size)
        c = size // 2
        mask[..., c, c + (kind == "B") :] = 0
        mask[..., c + 1 :, :] = 0
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelHead(nn.Module):
    """Logit offsets from the pixels before each one and the decoder state (at half the image side)."""

    def __init__(self, state_width: int, width: int, layers: int) -> None:
        super().__init__()
        self.read = MaskedConv2d("A", 1, width, FIRST_SIZE)
        self.cond = nn.ConvTranspose2d(state_width, width, 4, stride=2, padding=1)  # (S, H/2, W/2) -> (P, H, W)
        self.blocks = nn.ModuleList(MaskedConv2d("B", width, width, 3) for _ in range(layers))
        self.out = nn.Conv2d(width, 1, 1)
        nn.init.zeros_(self.out.weight)  # starts as the decoder it is added to
        nn.init.zeros_(self.out.bias)

    @property
    def reach(self) -> int:
        """Rows above a pixel (and pixels left of it) that its logit can read."""
        return FIRST_SIZE // 2 + len(self.blocks)

    def offsets(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Logit offsets (B, 1, H, W) for pixels x (B, 1, H, W), given ``cond`` = ``self.cond(state)``."""
        h = self.read(x) + cond
        for block in self.blocks:
            h = h + block(F.relu(h))
        return self.out(F.relu(h))

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return self.offsets(x, self.cond(state))

    @torch.no_grad()
    def sample(self, logits: torch.Tensor, state: torch.Tensor, generator: torch.Generator | None = None):
        """Binary images (B, 1, H, W) drawn pixel by pixel in raster order, each from sigmoid(decoder logit + offset).
        Each step computes the head on the window its pixel can read (``reach`` rows above it, ``reach`` columns
        either side): what the window cuts off changes only the window's outer pixels, never the one drawn."""
        cond, r = self.cond(state), self.reach
        x = torch.zeros_like(logits)
        height, width = x.shape[-2:]
        for i in range(height):
            rows = slice(max(0, i - r), i + 1)
            for j in range(width):
                lo = max(0, j - r)
                cols = slice(lo, min(width, j + r + 1))
                offset = self.offsets(x[..., rows, cols], cond[..., rows, cols])[..., -1, j - lo]  # (B, 1)
                x[..., i, j] = torch.bernoulli(torch.sigmoid(logits[..., i, j] + offset), generator=generator)
        return x
