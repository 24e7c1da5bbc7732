"""Turning whatever a person uploads into the tensor a model expects, and back.

Any size, orientation (EXIF), or mode (1, L, LA, P, RGB, RGBA, CMYK, I;16, I, F) is accepted.
A file that is not a readable image raises ``ImageError`` with a sentence a person understands.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 50_000_000  # larger uploads are refused before they are decoded

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}  # what image folders may hold


class ImageError(ValueError):
    """An upload that cannot be used as an image; the message is meant for the user."""


def open_image(source: str | Path | Image.Image | np.ndarray) -> Image.Image:
    """Open a path / PIL image / array, apply the EXIF orientation, and load the first frame."""
    if isinstance(source, np.ndarray):
        return Image.fromarray(_array_to_uint8(source))
    if isinstance(source, Image.Image):
        return ImageOps.exif_transpose(source)
    path = Path(source)
    if not path.exists() or path.stat().st_size == 0:
        raise ImageError(f"The file {path.name!r} is empty or missing: please upload an image file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            if img.width * img.height > MAX_PIXELS:
                raise ImageError(
                    f"The image is {img.width}x{img.height} pixels, more than this demo accepts "
                    f"({MAX_PIXELS // 1_000_000} megapixels). Please resize it and try again."
                )
            img.seek(0)  # first frame of an animated GIF / multi-page TIFF
            img.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("The image is far too large to decode safely; please upload a smaller one.") from None
    except UnidentifiedImageError:
        raise ImageError(
            f"{path.name!r} is not an image this demo can read (PNG, JPEG, GIF, BMP, TIFF, WebP)."
        ) from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"{path.name!r} looks damaged or truncated and could not be decoded ({err}).") from None
    return ImageOps.exif_transpose(img)


def _array_to_uint8(a: np.ndarray) -> np.ndarray:
    a = np.nan_to_num(np.asarray(a, dtype=np.float64))
    if a.size and a.max() > 1.0:
        a = a / (65535.0 if a.max() > 255 else 255.0)
    return (np.clip(a, 0, 1) * 255).round().astype(np.uint8)


def to_rgb_or_grey(img: Image.Image, channels: int, background: int = 255) -> Image.Image:
    """Flatten transparency onto ``background`` and convert to 'L' (1 channel) or 'RGB' (3)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if a.max() > 255 else 255.0
        img = Image.fromarray((np.clip(a / top, 0, 1) * 255).round().astype(np.uint8), "L")
    if img.mode == "P" or img.mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "La", "RGBa"):
        base = Image.new("RGBA", img.size, (background,) * 3 + (255,))
        img = Image.alpha_composite(base, img.convert("RGBA"))
    return img.convert("L" if channels == 1 else "RGB")


def center_square(img: Image.Image) -> Image.Image:
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return img.crop((left, top, left + side, top + side))


def fit_digit(a: np.ndarray, size: int = 28, box: int = 20) -> np.ndarray:
    """MNIST's own preprocessing for a drawn digit (white on black, float in [0, 1]): crop the ink,
    scale its longer side to ``box`` pixels, and centre its centre of mass in a size x size frame."""
    ink = a > 0.1
    if not ink.any():
        return np.asarray(Image.fromarray((a * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)) / 255.0
    rows, cols = np.where(ink)
    crop = a[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = crop.shape
    scale = box / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize((nw, nh), Image.LANCZOS)) / 255.0
    canvas = np.zeros((size, size))
    total = small.sum()
    cy = (small.sum(1) * np.arange(nh)).sum() / total if total else nh / 2
    cx = (small.sum(0) * np.arange(nw)).sum() / total if total else nw / 2
    top = int(np.clip(round(size / 2 - cy), 0, size - nh))
    left = int(np.clip(round(size / 2 - cx), 0, size - nw))
    canvas[top : top + nh, left : left + nw] = small
    return np.clip(canvas, 0, 1)


def to_face_input(source, image_size: int) -> tuple[torch.Tensor, bool]:
    """A (1, 1, S, S) grey face in [0, 1] found, framed and toned like the Olivetti faces
    (``vae_demo.core.faces.frame_face``), and whether a face was found (else: the toned centre square)."""
    from vae_demo.core.faces import frame_face

    img = to_rgb_or_grey(_opened(source), 1)
    frame = frame_face(img, image_size)
    return torch.from_numpy(frame.image).float()[None, None], frame.found  # (1, 1, S, S)


def _opened(source) -> Image.Image:
    img = open_image(source)
    if img.width < 1 or img.height < 1:
        raise ImageError("The image has no pixels.")
    return img


def to_model_input(source, image_size: int, channels: int, digit: bool = False, face: bool = False) -> torch.Tensor:
    """A (1, C, S, S) tensor in [0, 1] for a model of ``image_size`` and ``channels``.

    For digit models a dark-on-light image (a sketch, a scan) is inverted to MNIST's light-on-dark
    and the ink is framed as in MNIST; for face models (``face``, grey) the face is framed and toned
    as in the Olivetti faces (``to_face_input``). Anything else is centre-cropped square and resized.
    """
    if face:
        return to_face_input(source, image_size)[0]
    img = to_rgb_or_grey(_opened(source), channels)
    if digit:
        a = np.asarray(img.convert("L"), dtype=np.float64) / 255.0
        border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
        if border.mean() > 0.5:
            a = 1.0 - a
        a = fit_digit(a, size=image_size, box=round(image_size * 20 / 28))
        return torch.from_numpy(a).float()[None, None]
    img = center_square(img).resize((image_size, image_size), Image.LANCZOS, reducing_gap=3.0)
    a = np.asarray(img, dtype=np.float32) / 255.0
    t = torch.from_numpy(a)
    t = t[None] if t.ndim == 2 else t.permute(2, 0, 1)
    return t[None].clamp(0, 1)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) or (H, W) in [0, 1] -> HxW or HxWx3 uint8 for display."""
    a = x.detach().float().clamp(0, 1).cpu().numpy()
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    return (a * 255).round().astype(np.uint8)
