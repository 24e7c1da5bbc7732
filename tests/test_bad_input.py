"""Bad input, as people send it: every case through the real API (gradio_client -> a running app) or
the core functions, ending in a correct result or a gr.Error sentence, never a stack trace; afterwards
the server still answers and its memory is back near where it started.

Needs the bundled weights (skipped without them).
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import bundled_marks, running_app
from PIL import Image

pytestmark = [
    pytest.mark.bad_input,
    *bundled_marks("mnist-vae", "mnist-vae-2d", "mnist-cvae", "denoise-vae", "light-vae", "codec-vae"),
]


def png_with_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims ``width`` x ``height`` (a decompression bomb's header)."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def photo(mode: str = "RGB", size: tuple[int, int] = (48, 40)) -> Image.Image:
    rng = np.random.default_rng(0)
    small = Image.fromarray(rng.integers(0, 255, (5, 6, 3), dtype=np.uint8)).resize(size, Image.BICUBIC)
    return small.convert(mode)


def saved(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def exif_rotated_jpeg() -> bytes:
    img = photo(size=(60, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    return saved(img, "JPEG", exif=exif)


def animated_gif() -> bytes:
    frames = [photo("P"), photo("P").transpose(Image.FLIP_LEFT_RIGHT)]
    return saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


# (name, file name, bytes, expected: an (width, height) of the result, or a phrase of the error)
UPLOADS = [
    ("text", "notes.png", b"these are words, not pixels\n" * 20, "could not be read as an image"),
    ("pdf", "paper.png", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "could not be read as an image"),
    ("zip", "archive.png", b"PK\x03\x04" + b"\x00" * 200, "could not be read as an image"),
    ("empty", "empty.png", b"", "could not be read as an image"),
    ("truncated png", "cut.png", saved(photo(), "PNG")[:300], "could not be read as an image|damaged or truncated"),
    ("truncated jpeg", "cut.jpg", saved(photo(), "JPEG")[:400], "could not be read as an image|damaged or truncated"),
    ("bomb 20000x20000", "bomb.png", png_with_size(20000, 20000), "could not be read as an image"),
    ("1x1", "dot.png", saved(photo(size=(1, 1)), "PNG"), "at least 8 pixels on each side"),
    ("2x2", "tiny.png", saved(photo(size=(2, 2)), "PNG"), "at least 8 pixels on each side"),
    (
        "16-bit png",
        "deep.png",
        saved(Image.fromarray((np.arange(48 * 40).reshape(40, 48) * 20).astype(np.uint16)), "PNG"),
        (48, 40),
    ),
    (
        "16-bit tiff",
        "deep.tif",
        saved(Image.fromarray((np.arange(48 * 40).reshape(40, 48) * 20).astype(np.uint16)), "TIFF"),
        (48, 40),
    ),
    ("cmyk jpeg", "print.jpg", saved(photo("CMYK"), "JPEG"), (48, 40)),
    ("rgba", "alpha.png", saved(photo("RGBA"), "PNG"), (48, 40)),
    ("la", "grey-alpha.png", saved(photo("LA"), "PNG"), (48, 40)),
    ("palette", "palette.png", saved(photo("P"), "PNG"), (48, 40)),
    ("animated gif", "anim.gif", animated_gif(), (48, 40)),
    ("exif rotated", "phone.jpg", exif_rotated_jpeg(), (30, 60)),  # displayed upright: 30 wide, 60 high
    ("grey into colour model", "grey.png", saved(photo("L"), "PNG"), (48, 40)),
    ("jpeg named .png", "really-a-jpeg.png", saved(photo(), "JPEG"), (48, 40)),
    ("webp", "photo.webp", saved(photo(), "WEBP"), (48, 40)),
    ("bmp", "photo.bmp", saved(photo(), "BMP"), (48, 40)),
    ("very thin", "thin.png", saved(photo(size=(300, 3)), "PNG"), "at least 8 pixels on each side"),
    ("small but enough", "small.png", saved(photo(size=(9, 8)), "PNG"), (9, 8)),
]

# (name, endpoint, keyword arguments, a phrase of the error or None for success)
VALUES = [
    ("strength above 1", "/enhance", {"strength": 5.0}, "greater than maximum"),
    ("negative samples", "/enhance", {"k": -1}, "less than minimum"),
    ("unknown problem", "/enhance", {"problem": "sharpen"}, "not in the list of choices"),
    ("huge seed", "/enhance", {"seed": 2**40}, "seed"),
    ("extreme but valid", "/enhance", {"strength": 1.0, "k": 16, "brightness": 1.5, "saturation": 0.0}, None),
    ("unknown noise", "/denoise", {"noise": "speckle"}, "not in the list of choices"),
    ("one photon at the peak", "/denoise", {"noise": "poisson", "level": 1, "k": 2}, None),
    ("half the pixels salt and pepper", "/denoise", {"noise": "salt_and_pepper", "level": 50, "k": 2}, None),
    ("poisson level under 1 photon", "/denoise", {"noise": "poisson", "level": 0.5}, "noise level"),
    ("missing model name", "/sample", {"model_name": ""}, "not in the list of choices"),
    ("colour into a digit model", "/reconstruct", {}, None),
    ("live run over the cap", "/train_live", {"seconds": 10_000}, "greater than maximum"),
    ("photo fit over the cap", "/fit_photo", {"seconds": 10_000}, "greater than maximum"),
    ("photo fit of no time", "/fit_photo", {"seconds": 0}, "less than minimum"),
    ("salt and pepper for the photo fit", "/fit_photo", {"noise": "salt_and_pepper", "seconds": 1}, "is not one"),
    ("unknown noise for the photo fit", "/fit_photo", {"noise": "speckle"}, "not in the list of choices"),
    ("negative beta", "/train_live", {"beta": -1.0}, "less than minimum"),
    ("latent point far outside the map", "/decode_point", {"z1": 1e6}, "between -10 and 10"),
    ("digit above 9", "/conditional", {"digit": 12}, "greater than maximum"),
    ("too many styles", "/conditional", {"n": 500}, "greater than maximum"),
    ("negative seed for a digit", "/conditional", {"seed": -3}, "less than minimum"),
    ("unknown label", "/analogies", {"label": "12"}, "not in the list of choices"),
    ("a given label", "/analogies", {"label": "2"}, None),
    ("unknown model for the ELBO", "/elbo", {"model_name": "nope"}, "not in the list of choices"),
    ("too many importance samples", "/elbo", {"k": 10**6}, "greater than maximum"),
    ("too many samples a row", "/layer_samples", {"n": 100}, "greater than maximum"),
    ("temperature far too high", "/layer_samples", {"temperature": 9.0}, "greater than maximum"),
    ("seed as a word for the layers", "/layers_of_digit", {"seed": "abc"}, "number"),
    ("quality above the top level", "/compress", {"quality": 7.5}, "greater than maximum"),
    ("negative quality", "/compress", {"quality": -1}, "less than minimum"),
    ("quality as a word", "/compress", {"quality": "high"}, "number"),
    ("lowest quality", "/compress", {"quality": 0}, None),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from gradio_client import Client, handle_file

    tmp = tmp_path_factory.mktemp("bad-input")
    small = tmp / "small.png"
    small.write_bytes(saved(photo(size=(64, 48)), "PNG"))  # the size of the photo fits below
    with running_app(tmp) as (url, proc):
        client = Client(url, verbose=False, download_files=str(tmp_path_factory.mktemp("dl")), analytics_enabled=False)
        client.predict(k=0, api_name="/enhance")  # warm up: models loaded, caches filled
        client.predict(n=4, api_name="/sample")
        client.predict(api_name="/compress")  # the codec
        client.predict(api_name="/conditional")  # mnist-cvae
        client.predict(image=handle_file(str(small)), seconds=1, k=2, api_name="/fit_photo")  # a fit's models
        yield client, proc, rss_mb(proc.pid)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def assert_readable_error(err: Exception, phrase: str) -> None:
    """The message holds one of the ``|``-separated phrases and no trace of a stack trace."""
    message = str(err)
    assert any(p.lower() in message.lower() for p in phrase.split("|")), message
    assert "Traceback" not in message and 'File "' not in message, message


@pytest.mark.parametrize(("name", "filename", "data", "expected"), UPLOADS, ids=[u[0] for u in UPLOADS])
def test_upload(app, tmp_path, name, filename, data, expected):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    client = app[0]
    path = tmp_path / filename
    path.write_bytes(data)
    if isinstance(expected, str):
        with pytest.raises(AppError) as err:
            client.predict(image=handle_file(str(path)), k=0, api_name="/enhance")
        assert_readable_error(err.value, expected)
        return
    result = client.predict(image=handle_file(str(path)), k=0, api_name="/enhance")
    with Image.open(result[6]) as out:
        assert out.size == expected


@pytest.mark.parametrize(("name", "endpoint", "kwargs", "phrase"), VALUES, ids=[v[0] for v in VALUES])
def test_value(app, name, endpoint, kwargs, phrase):
    from gradio_client.exceptions import AppError

    client = app[0]
    if endpoint == "/reconstruct":  # a colour photo into the grey digit model
        from gradio_client import handle_file

        from app import EXAMPLES

        kwargs = {"image": handle_file(EXAMPLES["photo-coffee"])}
    if phrase is None:
        assert client.predict(**kwargs, api_name=endpoint)
        return
    with pytest.raises((AppError, ValueError, TypeError)) as err:
        client.predict(**kwargs, api_name=endpoint)
    assert_readable_error(err.value, phrase)


# --- .vaez files for /decompress, and photos for /compress ---------------------------------------------------------
def with_crc(body: bytes) -> bytes:
    return body + struct.pack(">I", zlib.crc32(body))


def bad_vaez_files(good: bytes) -> list[tuple[str, str, bytes, str]]:
    """(name, file name, bytes, phrase of the error) made from a good file of the bundled codec."""
    from vae_demo.codec import bitstream
    from vae_demo.codec.model import CodecConfig, HyperpriorCodec

    header = bitstream.unpack(good)
    huge = bitstream.unpack(good)
    huge.width = huge.height = 100_000
    tampered = bytearray(good)
    tampered[len(good) // 2] ^= 0x5A  # a byte of the coded latent
    rehashed = bytearray(good)
    name_end = 6 + len(header.model_name)
    rehashed[name_end : name_end + 4] = bytes(4)  # another model's weights hash, with a correct checksum
    other = HyperpriorCodec(CodecConfig(name="other-codec", N=8, M=12, lambdas=(0.01, 0.1)))
    other.finalize()
    return [
        ("text file", "notes.vaez", b"these are words, not a bitstream\n" * 20, "not a .vaez file"),
        ("text file named .txt", "notes.txt", b"plain words\n" * 20, "not a .vaez file|invalid file type"),
        ("png renamed", "photo.vaez", saved(photo(), "PNG"), "not a .vaez file"),
        ("empty", "empty.vaez", b"", "not a .vaez file"),
        ("truncated", "cut.vaez", good[: len(good) // 2], "truncated"),
        ("header only", "header.vaez", good[:30], "truncated"),
        ("tampered", "tampered.vaez", bytes(tampered), "damaged"),
        ("claims 100000x100000", "huge.vaez", bitstream.pack(huge), "100000x100000"),
        ("other weights", "rehashed.vaez", with_crc(bytes(rehashed[:-4])), "made by the model"),
        ("other model", "other.vaez", bitstream.encode_image(other, photo(size=(64, 48)), 1.0), "other-codec"),
        ("future version", "v9.vaez", with_crc(good[:4] + bytes([9]) + good[5:-4]), "version 9"),
    ]


@pytest.fixture(scope="module")
def good_vaez(app, tmp_path_factory) -> bytes:
    """A .vaez file the server made (/compress with its defaults)."""
    return Path(app[0].predict(api_name="/compress")[5]).read_bytes()


def test_bad_vaez_files_are_one_sentence_each(app, good_vaez, tmp_path):
    """Every bad file gets its sentence; the time bound keeps the decoder from hanging or allocating a huge picture."""
    import time

    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    client = app[0]
    for name, filename, data, phrase in bad_vaez_files(good_vaez):
        path = tmp_path / filename
        path.write_bytes(data)
        start = time.perf_counter()
        with pytest.raises(AppError) as err:
            client.predict(handle_file(str(path)), api_name="/decompress")
        assert_readable_error(err.value, phrase)
        assert time.perf_counter() - start < 30, name
    path = tmp_path / "good.vaez"
    path.write_bytes(good_vaez)
    picture, info = client.predict(handle_file(str(path)), api_name="/decompress")
    assert "512x512" in info and Image.open(picture).size == (512, 512)


@pytest.mark.parametrize(
    ("name", "filename", "data", "phrase"),
    [
        ("text", "notes.png", b"these are words, not pixels\n" * 20, "could not be read as an image"),
        ("over 16.8 megapixels", "big.png", saved(Image.new("RGB", (4200, 4100), (90, 120, 150)), "PNG"), "megapixels"),
        ("1x1", "dot.png", saved(photo(size=(1, 1)), "PNG"), "at least 8 pixels on each side"),
    ],
)
def test_bad_photos_for_compress(app, tmp_path, name, filename, data, phrase):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    path = tmp_path / filename
    path.write_bytes(data)
    with pytest.raises(AppError) as err:
        app[0].predict(image=handle_file(str(path)), api_name="/compress")
    assert_readable_error(err.value, phrase)


# (endpoint, parameter): the digit and face endpoints that take a picture
PICTURE_INPUTS = [
    ("/interpolate", "image_a"),
    ("/reconstruct", "image"),
    ("/locate", "image"),
    ("/analogies", "image"),
    ("/elbo", "image"),
    ("/layers_of_digit", "image"),
]


@pytest.mark.parametrize(("endpoint", "parameter"), PICTURE_INPUTS, ids=[e for e, _ in PICTURE_INPUTS])
def test_a_file_that_is_not_a_picture(app, tmp_path, endpoint, parameter):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    path = tmp_path / "notes.png"
    path.write_bytes(b"these are words, not pixels\n" * 20)
    with pytest.raises(AppError) as err:
        app[0].predict(**{parameter: handle_file(str(path))}, api_name=endpoint)
    assert_readable_error(err.value, "could not be read as an image")


def test_a_blank_picture_has_no_style_to_copy(app, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    path = tmp_path / "white.png"
    Image.new("L", (60, 60), 255).save(path)
    with pytest.raises(AppError) as err:
        app[0].predict(image=handle_file(str(path)), api_name="/analogies")
    assert_readable_error(err.value, "blank")


def test_copying_an_empty_canvas_says_so(tmp_path):
    """The canvas's "Drawing -> ..." buttons: nothing drawn is a sentence; strokes are passed on."""
    from ui.drawing import BLANK, drawing_of

    white, stroke = tmp_path / "white.png", tmp_path / "stroke.png"
    Image.new("RGB", (280, 280), "white").save(white)
    img = Image.new("RGB", (280, 280), "white")
    img.paste((0, 0, 0), (100, 40, 120, 240))
    img.save(stroke)
    for value in (None, {"background": None, "layers": [], "composite": None}, str(white), {"composite": str(white)}):
        with pytest.raises(ValueError, match="empty"):
            drawing_of(value)
    assert BLANK.startswith("The canvas is empty")
    assert drawing_of({"background": str(white), "layers": [], "composite": str(stroke)}) == str(stroke)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("text", b"these are words, not pixels\n" * 20, "could not be read as an image"),
        ("2x2", saved(photo(size=(2, 2)), "PNG"), "at least 8 pixels on each side"),
        ("small but enough", saved(photo(size=(9, 8)), "PNG"), (9, 8)),
        ("grey", saved(photo("L", size=(40, 32)), "PNG"), (40, 32)),
    ],
)
def test_upload_to_the_photo_fit(app, tmp_path, name, data, expected):
    """Learn from this photo alone, with a one-second budget: a sentence for what cannot be learned from."""
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    path = tmp_path / "upload.png"
    path.write_bytes(data)
    kwargs = {"image": handle_file(str(path)), "noise": "real", "seconds": 1, "k": 2, "api_name": "/fit_photo"}
    if isinstance(expected, str):
        with pytest.raises(AppError) as err:
            app[0].predict(**kwargs)
        assert_readable_error(err.value, expected)
        return
    status, *_, metrics, download = app[0].predict(**kwargs)
    rows = [r[0] for r in (metrics["data"] if isinstance(metrics, dict) else metrics)]
    assert status.startswith("Done") and any("estimated from the photo" in r for r in rows), rows
    with Image.open(download) as out:
        assert out.size == expected


def test_a_corrupt_checkpoint_folder_names_the_file(tmp_path):
    from vae_demo.core.hub import CheckpointError, bundled_path, load_checkpoint

    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "config.json").write_bytes((bundled_path("mnist-vae") / "config.json").read_bytes())
    (folder / "model.safetensors").write_bytes(b"\x00" * 128)
    with pytest.raises(CheckpointError, match=r"model\.safetensors is corrupt or truncated"):
        load_checkpoint(folder, "cpu")


def test_after_all_that_the_server_answers_and_its_memory_is_back(app):
    """Runs last in this module: the same server took every bad input above."""
    client, proc, start_mb = app
    assert client.predict(n=4, api_name="/sample")
    assert client.predict(k=0, api_name="/enhance")
    assert client.predict(api_name="/decompress")
    grown = rss_mb(proc.pid) - start_mb
    print(f"the server grew by {grown:.0f} MB over the bad-input suite (from {start_mb:.0f} MB)")
    assert grown < 400, f"the server grew by {grown:.0f} MB over the bad-input suite (from {start_mb:.0f} MB)"


# NaN and infinity cannot travel through gradio_client (JSON has no such numbers); the functions behind
# the endpoints refuse them with a sentence.
@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("nan strength", lambda pt: pt.enhance(strength=math.nan)),
        ("infinite brightness", lambda pt: pt.enhance(brightness=math.inf)),
        ("nan noise level", lambda pt: pt.denoise_photo(level=math.nan)),
        ("infinite samples", lambda pt: pt.denoise_photo(k=math.inf)),
    ],
)
def test_non_finite_numbers_in_the_core(name, call):
    from vae_demo.demo import photos

    with pytest.raises(ValueError, match="finite"):
        call(photos)


@pytest.mark.parametrize("kwargs", [{"seconds": math.nan}, {"level": math.inf}, {"k": math.nan}])
def test_non_finite_numbers_for_the_photo_fit(kwargs):
    from vae_demo.demo.fit_photo import fit_photo

    with pytest.raises(ValueError, match="finite"):
        next(fit_photo(**kwargs))
