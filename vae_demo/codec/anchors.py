"""The classical codecs the VAE codec is compared with, each at its best settings that Pillow writes.

- JPEG: libjpeg-turbo with optimised Huffman tables (``optimize=True``: the same pixels, 5-24% smaller
  files than the default tables) and Pillow's default chroma subsampling, 4:2:0.
- WebP: libwebp's slowest, best method (``method=6``), 4:2:0 as WebP always is.
- AVIF: libavif (AV1 intra) at Pillow's default speed 6 and 4:2:0: the modern anchor, where this Pillow
  was built with AVIF (``available``).

The benchmark (``vae_demo.codec.benchmark``) and the Compress tab code with these same settings.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, features


@dataclass(frozen=True)
class Anchor:
    """A Pillow format with the save options it is compared at."""

    name: str  # as tables show it
    format: str  # Pillow's format name
    qualities: tuple[int, int]  # Pillow's useful quality range (lowest, highest)
    options: dict = field(default_factory=dict)
    feature: str | None = None  # the Pillow feature it needs, if any

    @property
    def available(self) -> bool:
        return self.feature is None or bool(features.check(self.feature))

    def encode(self, image: Image.Image, quality: int) -> bytes:
        buf = io.BytesIO()
        image.save(buf, format=self.format, quality=int(quality), **self.options)
        return buf.getvalue()

    @staticmethod
    def decode(data: bytes, mode: str = "RGB") -> np.ndarray:
        """uint8 (H, W, 3), or (H, W) for ``mode`` "L"."""
        return np.array(Image.open(io.BytesIO(data)).convert(mode))

    def at_most(self, image: Image.Image, budget: int) -> tuple[bytes, int]:
        """(file bytes, quality): the highest quality whose file is at most ``budget`` bytes (bisection on
        quality); the lowest quality's file when even that is larger."""
        lo, hi = self.qualities
        best, best_q = self.encode(image, lo), lo
        if len(best) > budget:
            return best, lo
        while lo < hi:  # invariant: quality lo fits
            mid = (lo + hi + 1) // 2
            data = self.encode(image, mid)
            if len(data) <= budget:
                lo, best, best_q = mid, data, mid
            else:
                hi = mid - 1
        return best, best_q


ANCHORS: dict[str, Anchor] = {
    "jpeg": Anchor("JPEG", "JPEG", (1, 95), {"optimize": True}),
    "webp": Anchor("WebP", "WEBP", (0, 100), {"method": 6}, feature="webp"),
    "avif": Anchor("AVIF", "AVIF", (0, 100), {"speed": 6}, feature="avif"),
}
