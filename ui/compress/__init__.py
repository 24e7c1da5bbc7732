"""The Compress tab: the VAE as an image codec, its ``.vaez`` file beside JPEG and WebP at no more bytes, and
the file decoded back.

``layout.create_compress_tab`` builds it; ``endpoints`` holds ``/compress`` and ``/decompress`` over
``vae_demo.demo.compress``."""

from ui.compress.layout import create_compress_tab

__all__ = ["create_compress_tab"]
