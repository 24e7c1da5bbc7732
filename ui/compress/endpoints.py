"""The Compress tab's endpoints: ``/compress`` and ``/decompress``, thin wrappers over ``vae_demo.demo.compress``.

Each docstring is the endpoint's description in the API page, ``view_api()`` and the MCP tool list (``Args:``
describe the parameters). ``compress`` imports torch, so it is imported on first use: the page is served first.
"""

from __future__ import annotations

from ui.gradio_support import PROGRESS, gpu, user_errors


@user_errors
@gpu
def compress(image, quality: float, progress=PROGRESS):
    """Code a photo with the VAE codec into a .vaez file; JPEG and WebP of the same photo at no more bytes.

    Returns the three decoded pictures, the same zoomed crop of each (original | VAE | JPEG | WebP), a table
    of bytes, bits per pixel, PSNR and SSIM per codec, the .vaez file, and a sentence on this photo's BD-rate
    and the bytes a VAE file as good as WebP's costs.

    Args:
        image: the photo, up to 16.8 megapixels (default: scikit-image's astronaut).
        quality: 0 (smallest file) to 7 (best picture); fractions lie between the trained rates.
    """
    from vae_demo.demo import compress as action

    r = action.compress(image, quality, progress=progress)
    return r.vae, r.jpeg, r.webp, r.zoom, r.rows, r.path, r.summary


@user_errors
@gpu
def decompress(file=None, progress=PROGRESS):
    """Decode a .vaez file made by /compress (or the Compress tab) back into the picture.

    Args:
        file: the .vaez file (default: the astronaut photo coded at quality 3).
    """
    from vae_demo.demo import compress as action

    progress(0, desc="Decoding the .vaez file")
    path = file or action.example_file()
    return action.decompress(path), action.describe(path)
