"""The ``.vaez`` file format: one picture coded by a ``HyperpriorCodec``.

Layout (big-endian), version 2::

    b"VAEZ"            magic, 4 bytes
    version            u8 (2)
    name length, name  u8, UTF-8 bytes: the model's config name
    weights hash       16 bytes: the first half of the model's SHA-256 weights hash
    width, height      u32, u32: the picture's size in pixels
    mode               u8: 0 RGB, 1 L (grey, coded as three equal channels)
    quality            u16: the rate level times 1000 (0 .. 1000 * (levels - 1))
    tile               u16: the side of the square tiles the picture is coded in, a multiple of 64
                       (0: one piece); tiles in row-major order, those on the right and bottom edges smaller
    string count       u32: 2 per tile (its latent y, then its hyper-latent z)
    per string         u32 length, then the range coder's bytes
    crc32              u32 over every byte before it

Version 1 (still read) has no tile field and a u8 string count: one piece. Pictures up to
``WHOLE_PIXELS`` are coded in one piece; larger ones (phone photos) in ``TILE`` x ``TILE`` tiles, so
memory stays bounded by one tile's activations. Every size is checked against the bytes present and
against ``MAX_PIXELS`` before anything is allocated, and the CRC before the range decoder sees a
string, so a truncated, tampered or foreign file ends in a ``VaezError`` sentence, never a crash, a
hang or a huge allocation.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from vae_demo.codec.limits import MAX_FILE_BYTES, MAX_PIXELS, MAX_SIDE, TILE, WHOLE_PIXELS, megapixels
from vae_demo.codec.model import HyperpriorCodec

MAGIC = b"VAEZ"
VERSION = 2
MODES = ("RGB", "L")
HASH_BYTES = 16


class VaezError(ValueError):
    """A ``.vaez`` file that cannot be decoded; the message says why in one sentence."""


@dataclass
class Header:
    version: int
    model_name: str
    weights_hash: str  # hex, HASH_BYTES * 2 characters
    width: int
    height: int
    mode: str
    quality: float
    strings: list[bytes]
    tile: int = 0  # 0: one piece


def tile_boxes(width: int, height: int, tile: int) -> list[tuple[int, int, int, int]]:
    """(top, left, height, width) of each tile in row-major order; one box for ``tile`` 0."""
    if tile == 0:
        return [(0, 0, height, width)]
    return [
        (top, left, min(tile, height - top), min(tile, width - left))
        for top in range(0, height, tile)
        for left in range(0, width, tile)
    ]


def quantize_quality(quality: float, levels: int) -> int:
    """The u16 a quality is stored as; encoder and decoder both use ``stored / 1000``."""
    if not isinstance(quality, (int, float)) or quality != quality:
        raise ValueError(f"quality must be a number from 0 to {levels - 1}, got {quality!r}")
    return round(min(max(float(quality), 0.0), levels - 1) * 1000)


def check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise VaezError(f"the picture size {width}x{height} is empty")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise VaezError(
            f"the picture is {width}x{height} pixels; this codec handles at most "
            f"{megapixels(MAX_PIXELS)} and {MAX_SIDE} pixels a side"
        )


def pack(header: Header) -> bytes:
    name = header.model_name.encode()
    if len(name) > 255:
        raise ValueError("model names are at most 255 bytes")
    out = [
        MAGIC,
        struct.pack(">B", VERSION),
        struct.pack(">B", len(name)),
        name,
        bytes.fromhex(header.weights_hash)[:HASH_BYTES],
        struct.pack(
            ">IIBHHI",
            header.width,
            header.height,
            MODES.index(header.mode),
            round(header.quality * 1000),
            header.tile,
            len(header.strings),
        ),
    ]
    for s in header.strings:
        out += [struct.pack(">I", len(s)), s]
    body = b"".join(out)
    return body + struct.pack(">I", zlib.crc32(body))


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int, what: str) -> bytes:
        if n > len(self.data) - self.pos:
            raise VaezError(f"the file is truncated: it ends inside the {what}")
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))


def unpack(data: bytes) -> Header:
    """Parse and check a ``.vaez`` file's bytes (sizes, limits, CRC); raises ``VaezError``."""
    if not isinstance(data, (bytes, bytearray)):
        raise VaezError(f"expected the bytes of a .vaez file, got {type(data).__name__}")
    if len(data) > MAX_FILE_BYTES:
        raise VaezError(f"the file is {len(data)} bytes; a .vaez file is at most {MAX_FILE_BYTES} bytes")
    r = _Reader(bytes(data))
    if len(data) < 4 or r.take(4, "magic bytes") != MAGIC:
        raise VaezError("this is not a .vaez file (the magic bytes VAEZ are missing)")
    (version,) = r.unpack(">B", "format version")
    if version not in (1, VERSION):
        raise VaezError(f"the file has .vaez format version {version}; this program reads versions 1-{VERSION}")
    (name_len,) = r.unpack(">B", "model name")
    try:
        name = r.take(name_len, "model name").decode()
    except UnicodeDecodeError:
        raise VaezError("the file is damaged: its model name is not text") from None
    weights_hash = r.take(HASH_BYTES, "weights hash").hex()
    if version == 1:
        width, height, mode, quality, count = r.unpack(">IIBHB", "picture size, mode and quality")
        tile = 0
    else:
        width, height, mode, quality, tile, count = r.unpack(">IIBHHI", "picture size, mode, quality and tiles")
    check_size(width, height)
    if mode >= len(MODES):
        raise VaezError(f"the file is damaged: unknown picture mode {mode}")
    if tile % 64 or tile > MAX_SIDE:
        raise VaezError(f"the file is damaged: its tile side {tile} is not a multiple of 64 up to {MAX_SIDE}")
    expected = 2 * len(tile_boxes(width, height, tile)) if tile else 2
    if count != expected:
        raise VaezError(f"the file is damaged: it holds {count} coded strings, not {expected}")
    strings = []
    for i in range(count):
        what = ("latent", "hyper-latent")[i % 2]
        (n,) = r.unpack(">I", f"{what} length")
        strings.append(r.take(n, f"coded {what}"))
    body_end = r.pos
    (crc,) = r.unpack(">I", "checksum")
    if r.pos != len(data):
        raise VaezError(f"the file is damaged: {len(data) - r.pos} stray bytes follow its checksum")
    if zlib.crc32(data[:body_end]) != crc:
        raise VaezError("the file is damaged: its checksum does not match its contents")
    return Header(version, name, weights_hash, width, height, MODES[mode], quality / 1000, strings, tile)


def to_tensor(image) -> tuple[torch.Tensor, str]:
    """A PIL image or a uint8 (C, H, W) tensor -> uint8 (3, H, W) and the mode to restore ("RGB" or "L")."""
    if isinstance(image, torch.Tensor):
        x = image
    else:
        from PIL import ImageOps
        from torchvision.transforms.v2 import functional as TF

        image = ImageOps.exif_transpose(image)
        grey = image.mode in ("L", "LA", "I", "I;16", "1")
        x = TF.pil_to_tensor(image.convert("L" if grey else "RGB"))
    if x.dtype != torch.uint8 or x.ndim != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"expected a uint8 (1 or 3, H, W) tensor, got {x.dtype} {tuple(x.shape)}")
    return x.expand(3, -1, -1).contiguous(), "L" if x.shape[0] == 1 else "RGB"


def encode_image(model: HyperpriorCodec, image, quality: float) -> bytes:
    """Code a picture (PIL image or uint8 (C, H, W) tensor) at ``quality`` in [0, levels - 1] into .vaez bytes
    (in ``TILE`` x ``TILE`` tiles above ``WHOLE_PIXELS``)."""
    x, mode = to_tensor(image)
    height, width = x.shape[-2:]
    check_size(width, height)
    stored = quantize_quality(quality, model.levels)
    tile = TILE if width * height > WHOLE_PIXELS else 0
    m = model.multiple
    strings = []
    for top, left, h, w in tile_boxes(width, height, tile):
        piece = x[None, :, top : top + h, left : left + w].float() / 255  # (1, 3, h, w)
        piece = F.pad(piece, (0, -w % m, 0, -h % m), mode="replicate")  # sides multiples of 64
        strings += model.compress(piece, stored / 1000)[0]
    header = Header(VERSION, model.config.name, model.weights_hash(), width, height, mode, stored / 1000, strings, tile)
    return pack(header)


def check_model(header: Header, model: HyperpriorCodec) -> None:
    ours = model.weights_hash()[: 2 * HASH_BYTES]
    if header.model_name != model.config.name or header.weights_hash != ours:
        raise VaezError(
            f"the file was made by the model {header.model_name!r} (weights {header.weights_hash[:12]}); "
            f"this is {model.config.name!r} (weights {ours[:12]}), which cannot decode it"
        )
    if header.quality > model.levels - 1:
        raise VaezError(f"the file's quality {header.quality} is beyond this model's levels 0-{model.levels - 1}")


def decode_image(model: HyperpriorCodec, data: bytes) -> torch.Tensor:
    """.vaez bytes -> the decoded picture as uint8 (1 or 3, H, W); raises ``VaezError`` on a bad file."""
    header = unpack(data)
    check_model(header, model)
    m = model.multiple
    out = torch.empty(3, header.height, header.width, dtype=torch.uint8)  # (3, H, W): size checked by unpack
    for i, (top, left, h, w) in enumerate(tile_boxes(header.width, header.height, header.tile)):
        shape = (-(-h // m), -(-w // m))  # z's (h, w)
        # Zero padding past each string: the range decoder never reads beyond its buffer, even for bytes
        # that pass the CRC but were not written by the encoder.
        symbols = model.config.M * shape[0] * shape[1] * 16 + model.config.N * shape[0] * shape[1]
        strings = [s + bytes(8 * len(s) + 8 * symbols + 64) for s in header.strings[2 * i : 2 * i + 2]]
        x_hat = model.decompress(strings, shape, header.quality)  # (1, 3, h', w')
        out[:, top : top + h, left : left + w] = (x_hat[0, :, :h, :w] * 255).round().to(torch.uint8)
    if header.mode == "L":
        out = (out.float().mean(dim=0, keepdim=True)).round().to(torch.uint8)  # (1, H, W)
    return out


def read_file(path: str | Path) -> bytes:
    """A .vaez file's bytes, refusing files over ``MAX_FILE_BYTES`` before reading them."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise VaezError(f"{path.name} is {size} bytes; a .vaez file is at most {MAX_FILE_BYTES} bytes")
    return path.read_bytes()
