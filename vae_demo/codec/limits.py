"""The Compress tab's and the ``.vaez`` format's size limits, in one torch-free place (the page quotes them)."""

MAX_SIDE = 16384
MAX_PIXELS = 4096 * 4096  # 16.8 megapixels: a phone photo (12 MP) fits
WHOLE_PIXELS = 4096 * 1024  # up to 4.2 megapixels in one piece (some 0.5 GB of activations); larger ones in tiles
TILE = 1024  # the side of the tiles of a larger picture
MAX_FILE_BYTES = 64 * 2**20


def megapixels(pixels: int) -> str:
    """How every limit is quoted: ``16.8 megapixels``."""
    return f"{pixels / 1e6:.1f} megapixels"
