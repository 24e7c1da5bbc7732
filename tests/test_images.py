"""Uploads of every kind become model input, and unusable files give a sentence, not a traceback."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vae_demo.core.images import ImageError, open_image, to_model_input, to_uint8
from vae_demo.demo.examples import digit_image


def check_tensor(t: torch.Tensor, channels: int, size: int) -> None:
    assert t.shape == (1, channels, size, size)
    assert t.dtype == torch.float32
    assert torch.isfinite(t).all()
    assert t.min() >= 0.0 and t.max() <= 1.0


def gradient_image(mode: str, size=(24, 24)) -> Image.Image:
    """A left-to-right grey ramp in the given mode."""
    ramp = np.tile(np.linspace(0, 255, size[0]), (size[1], 1)).astype(np.uint8)
    return Image.fromarray(ramp, "L").convert(mode)


def palette_with_transparency() -> Image.Image:
    img = Image.new("P", (20, 20), 0)
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 6))  # 0 red, 1 blue
    img.paste(1, (0, 0, 10, 20))
    img.info["transparency"] = 1  # the blue half is transparent
    return img


MODES = {
    "L": lambda: gradient_image("L"),
    "RGB": lambda: gradient_image("RGB"),
    "RGBA": lambda: gradient_image("RGBA"),
    "LA": lambda: gradient_image("LA"),
    "P": palette_with_transparency,
    "I;16": lambda: Image.fromarray((np.arange(24 * 24).reshape(24, 24) * 100).astype(np.uint16)),
    "I": lambda: Image.fromarray((np.arange(24 * 24).reshape(24, 24) * 100).astype(np.int32)),
    "F": lambda: Image.fromarray(np.linspace(0, 255, 24 * 24, dtype=np.float32).reshape(24, 24)),
    "1": lambda: gradient_image("1"),
    "CMYK": lambda: gradient_image("CMYK"),
}
SAVE_AS = {"I": "TIFF", "F": "TIFF", "CMYK": "JPEG", "I;16": "PNG"}


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("mode", list(MODES))
def test_every_pil_mode_in_memory_and_from_a_file(mode, channels, tmp_path):
    img = MODES[mode]()
    assert img.mode == mode
    check_tensor(to_model_input(img, 16, channels), channels, 16)

    fmt = SAVE_AS.get(mode, "PNG")
    path = tmp_path / f"upload.{fmt.lower()}"
    img.save(path, format=fmt)
    check_tensor(to_model_input(path, 16, channels), channels, 16)
    check_tensor(to_model_input(str(path), 16, channels), channels, 16)


def test_transparent_pixels_become_the_white_background(tmp_path):
    rgba = Image.new("RGBA", (16, 16), (0, 0, 0, 0))  # fully transparent black
    assert to_model_input(rgba, 16, 1).min() == 1.0
    palette = palette_with_transparency()  # left half transparent, right half red
    palette.save(tmp_path / "p.png")
    t = to_model_input(tmp_path / "p.png", 16, 3)[0]
    assert torch.allclose(t[:, :, :6], torch.ones(3, 16, 6))
    assert t[0, :, 10:].min() > 0.9 and t[1:, :, 10:].max() < 0.1


def test_sixteen_bit_grey_keeps_its_scale():
    img = Image.fromarray(np.full((8, 8), 32768, dtype=np.uint16))
    assert to_model_input(img, 8, 1).mean().item() == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (3000, 20), (20, 3000)])
def test_tiny_and_very_non_square_images(size, tmp_path):
    img = Image.new("RGB", size, (200, 100, 50))
    img.save(tmp_path / "x.png")
    for digit in (False, True):
        check_tensor(to_model_input(tmp_path / "x.png", 16, 1, digit=digit), 1, 16)
    check_tensor(to_model_input(tmp_path / "x.png", 16, 3), 3, 16)


def test_numpy_arrays_are_accepted():
    check_tensor(to_model_input(np.random.default_rng(0).random((10, 12)), 8, 1), 1, 8)
    check_tensor(to_model_input(np.full((10, 12, 3), 200, dtype=np.uint8), 8, 3), 3, 8)


def test_exif_orientation_is_applied(tmp_path):
    """A 40x20 photo, black left half, stored with orientation 6 (display rotated 90 degrees clockwise)."""
    a = np.full((20, 40), 255, dtype=np.uint8)
    a[:, :20] = 0
    img = Image.fromarray(a, "L")
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    img.save(tmp_path / "plain.jpg", quality=95)

    assert open_image(tmp_path / "rotated.jpg").size == (20, 40)
    rotated = to_model_input(tmp_path / "rotated.jpg", 16, 1)[0, 0]
    plain = to_model_input(tmp_path / "plain.jpg", 16, 1)[0, 0]
    # unrotated: dark on the left; rotated clockwise: the dark half is on top
    assert plain[:, :6].mean() < 0.2 and plain[:, 10:].mean() > 0.8
    assert rotated[:6, :].mean() < 0.2 and rotated[10:, :].mean() > 0.8


def test_animated_gif_gives_the_first_frame(tmp_path):
    frames = [Image.new("L", (16, 16), v) for v in (0, 255, 128)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(tmp_path / "anim.gif").n_frames == 3
    assert to_model_input(tmp_path / "anim.gif", 16, 1).max() < 0.05


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a picture")
    return buf.getvalue()


NOISE = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
BAD_FILES = {
    "text.png": b"this is a text file, not an image\n" * 20,
    "notes.txt": b"hello",
    "empty.png": b"",
    "truncated.png": png_bytes(NOISE)[: len(png_bytes(NOISE)) // 2],
    "truncated.jpg": jpeg_bytes(NOISE)[: len(jpeg_bytes(NOISE)) // 2],
    "header_only.png": png_bytes(NOISE)[:40],
    "archive.png": zip_bytes(),
}


def assert_user_message(err: ImageError) -> None:
    msg = str(err)
    assert len(msg) > 20
    assert msg.rstrip().endswith("."), msg
    assert "\n" not in msg and "Traceback" not in msg, msg
    assert err.__suppress_context__ or err.__cause__ is None


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_unreadable_files_raise_image_error_with_a_sentence(name, tmp_path):
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(ImageError) as info:
        to_model_input(path, 16, 1)
    assert_user_message(info.value)
    assert isinstance(info.value, ValueError)  # the app turns ValueError into a message


def test_missing_file_raises_image_error(tmp_path):
    with pytest.raises(ImageError) as info:
        to_model_input(tmp_path / "nope.png", 16, 1)
    assert_user_message(info.value)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def blank_bilevel_png(path: Path, width: int, height: int) -> None:
    """A valid, all-black 1-bit PNG written row by row: a few KB on disk, width*height pixels decoded."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)))
        f.write(png_chunk(b"IDAT", idat))
        f.write(png_chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [8000, 20000])  # 64 MP: over the demo's limit; 400 MP: a decompression bomb
def test_huge_images_are_refused_before_decoding(side, tmp_path):
    path = tmp_path / "bomb.png"
    blank_bilevel_png(path, side, side)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(ImageError) as info:
        to_model_input(path, 16, 1)
    assert_user_message(info.value)
    assert "large" in str(info.value) or "megapixels" in str(info.value)


def test_digit_sketch_is_inverted_and_centred():
    """A dark stroke in the top-left corner of a light canvas becomes a light, centred MNIST digit."""
    canvas = np.full((112, 112), 255, dtype=np.uint8)
    canvas[10:50, 15:25] = 0  # a '1' in the corner
    t = to_model_input(Image.fromarray(canvas), 28, 1, digit=True)
    check_tensor(t, 1, 28)
    a = t[0, 0].numpy()
    assert a[0].max() < 0.05 and a[-1].max() < 0.05 and a[:, 0].max() < 0.05  # dark background
    assert a.max() > 0.9  # light ink
    rows, cols = np.indices(a.shape)
    cy, cx = (a * rows).sum() / a.sum(), (a * cols).sum() / a.sum()
    assert abs(cy - 13.5) < 1.5 and abs(cx - 13.5) < 1.5
    ink_rows = np.where(a.max(1) > 0.1)[0]
    assert 18 <= len(ink_rows) <= 22  # the longer side of the ink is scaled to 20 of 28 pixels, as in MNIST


def test_typed_example_digit_looks_like_mnist():
    t = to_model_input(digit_image(7), 28, 1, digit=True)
    a = t[0, 0]
    assert a.mean() < 0.3 and a.max() > 0.9


def test_light_on_dark_digit_is_not_inverted():
    canvas = np.zeros((56, 56), dtype=np.uint8)
    canvas[20:40, 25:30] = 255
    a = to_model_input(Image.fromarray(canvas), 28, 1, digit=True)[0, 0]
    assert a[0, 0] < 0.05 and a.max() > 0.9


def test_grey_into_colour_and_colour_into_grey():
    grey = gradient_image("L")
    rgb = to_model_input(grey, 16, 3)
    check_tensor(rgb, 3, 16)
    assert torch.allclose(rgb[:, 0], rgb[:, 1]) and torch.allclose(rgb[:, 1], rgb[:, 2])

    colour = Image.new("RGB", (30, 30), (255, 0, 0))
    grey_t = to_model_input(colour, 16, 1)
    check_tensor(grey_t, 1, 16)
    assert grey_t.mean().item() == pytest.approx(0.299, abs=0.01)  # ITU-R 601 luma of pure red


def test_display_helpers():
    x = torch.rand(3, 8, 6)
    a = to_uint8(x)
    assert a.shape == (8, 6, 3) and a.dtype == np.uint8
    assert to_uint8(torch.rand(1, 8, 6)).shape == (8, 6)
