"""Example inputs that ship with the code: typed digits drawn with Pillow's bundled font and a
face from scikit-image's sample data. Nothing here reads the training data."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@lru_cache(maxsize=16)
def digit_image(digit: int, size: int = 112) -> Image.Image:
    """A dark digit on a light background, as a person would draw it on the sketchpad."""
    img = Image.new("L", (size, size), 255)
    font = ImageFont.load_default(size=int(size * 0.8))
    draw = ImageDraw.Draw(img)
    box = draw.textbbox((0, 0), str(digit), font=font)
    w, h = box[2] - box[0], box[3] - box[1]
    draw.text(((size - w) / 2 - box[0], (size - h) / 2 - box[1]), str(digit), fill=0, font=font)
    return img


@lru_cache(maxsize=4)
def face_image(which: int = 0, size: int = 128) -> Image.Image:
    """Grey face crops from scikit-image's bundled sample images (astronaut Eileen Collins)."""
    from skimage import data

    astronaut = data.astronaut()
    crops = [(30, 205, 162, 337), (30, 205, 162, 337)]
    top, bottom, left, right = crops[which % len(crops)]
    img = Image.fromarray(astronaut[top:bottom, left:right]).convert("L").resize((size, size), Image.LANCZOS)
    return img.transpose(Image.FLIP_LEFT_RIGHT) if which % 2 else img


def example_pair(model_name: str) -> tuple[Image.Image, Image.Image]:
    """Two default endpoints for interpolation."""
    if model_name.startswith("faces"):
        return face_image(0), face_image(1)
    return digit_image(3), digit_image(8)


def example_single(model_name: str) -> Image.Image:
    """The default image for denoising."""
    return face_image(0) if model_name.startswith("faces") else digit_image(5)


def as_array(img: Image.Image) -> np.ndarray:
    return np.asarray(img)
