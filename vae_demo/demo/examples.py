"""Example inputs that ship with the code: typed digits drawn with Pillow's bundled font, and a
face and photos from scikit-image's sample data. Nothing here reads the training data."""

from __future__ import annotations

from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

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
def face_image(size: int = 128) -> Image.Image:
    """A grey head-and-shoulders crop of scikit-image's bundled sample image (astronaut Eileen Collins),
    as a person might upload it: the face models find and frame the face themselves (``vae_demo.core.faces``).

    The PNG is read straight from scikit-image's data folder: importing scikit-image would add
    about 0.6 s to the app's start, which builds this example.
    """
    with Image.open(skimage_data_path("astronaut.png")) as img:
        crop = img.convert("L").crop((143, 35, 303, 195))
    return crop.resize((size, size), Image.LANCZOS)


def generated_face(model, seed: int, temperature: float = 0.8, size: int = 128) -> Image.Image:
    """A face drawn by the model itself from its prior: an in-distribution example."""
    from vae_demo.core.images import to_uint8
    from vae_demo.generative.inference import sample

    a = to_uint8(sample(model, 1, temperature, seed)[0])
    return Image.fromarray(a).resize((size, size), Image.LANCZOS)


def is_face_model(model_name: str) -> bool:
    return model_name.startswith("faces")


PHOTO_EXAMPLES = {
    "astronaut": "astronaut.png",  # colour portrait, 512x512
    "coffee": "coffee.png",  # colour still life, 600x400
    "chelsea": "chelsea.png",  # colour cat, 451x300
    "rocket": "rocket.jpg",  # colour JPEG photo, 640x427
    "camera": "camera.png",  # grey cameraman, 512x512
}


def skimage_data_path(filename: str) -> Path:
    """A file of scikit-image's bundled sample data, found without importing scikit-image."""
    return Path(find_spec("skimage").submodule_search_locations[0]) / "data" / filename


@lru_cache(maxsize=8)
def photo_example(name: str = "astronaut") -> Image.Image:
    """One of scikit-image's sample photos (public domain or CC0; see scikit-image's data/README.txt)."""
    if name not in PHOTO_EXAMPLES:
        raise ValueError(f"unknown example photo {name!r}; choose one of {', '.join(PHOTO_EXAMPLES)}")
    with Image.open(skimage_data_path(PHOTO_EXAMPLES[name])) as img:
        img.load()
        return img.copy()
