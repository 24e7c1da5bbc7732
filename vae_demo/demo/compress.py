"""Plain functions behind the Compress tab: a photo through the VAE codec, beside JPEG and WebP.

``compress`` codes a photo into a ``.vaez`` file, decodes that file, and codes the same photo with
JPEG and WebP at the largest size not above the VAE file's (each codec's quality found by
bisection), so the three pictures cost the same bytes or less. ``decompress`` reads a ``.vaez`` file
back; ``describe`` says what a file holds; ``example_file`` is the default photo coded at the default
quality. Photos over ``limits.MAX_PIXELS`` are refused with a sentence; those over ``limits.WHOLE_PIXELS``
are coded in tiles (``bitstream``).
Files go into the process's output folder (``outputs.new_path``: pruned, removed at exit).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vae_demo.catalog import CODEC_MODEL
from vae_demo.codec import bitstream
from vae_demo.codec.anchors import ANCHORS
from vae_demo.codec.limits import megapixels
from vae_demo.core.hub import load_model
from vae_demo.core.images import ImageError
from vae_demo.demo import outputs
from vae_demo.demo.common import image_metrics, number
from vae_demo.demo.photos import load_photo

DEFAULT_QUALITY = 3.0
CURVE_PIXELS = 2**20  # rate-distortion curves of the photo itself up to 1 MP (they code it some 30 more times)
APP_ANCHORS = ("jpeg", "webp")  # shown beside the VAE (AVIF: in the benchmark, too slow to bisect on a phone photo)
ZOOM_SIDE, ZOOM = 96, 3  # the zoomed crop: 96 x 96 pixels shown 3 times larger


@dataclass
class CompressResult:
    """What the Compress tab shows (the endpoint returns it in the order of the tab's outputs)."""

    vae: np.ndarray  # the decoded .vaez picture, uint8 (H, W) or (H, W, 3)
    jpeg: np.ndarray
    webp: np.ndarray | None  # None when this Pillow has no WebP
    rows: list[list]  # [codec, bytes, bpp, PSNR dB, SSIM, setting] per codec (the setting says if over budget)
    zoom: np.ndarray  # original | VAE | JPEG | WebP, the same crop of each, enlarged
    path: str  # the .vaez file
    summary: str  # BD-rate on this photo and the bytes the VAE saves at WebP's quality (Markdown)


def photo_curves(codec, image: Image.Image) -> dict[str, list[dict]]:
    """(bpp, PSNR) points of the VAE at each trained level and of each app anchor over its benchmark sweep."""
    from vae_demo.codec.benchmark import SWEEPS, psnr

    ref, pixels = np.asarray(image.convert("RGB")), image.width * image.height
    curves = {"vae": []}
    for level in range(codec.levels):
        data = bitstream.encode_image(codec, image, level)
        out = bitstream.decode_image(codec, data).expand(3, -1, -1).permute(1, 2, 0).numpy()
        curves["vae"].append({"bpp": len(data) * 8 / pixels, "psnr": psnr(ref, out)})
    for key in APP_ANCHORS:
        anchor = ANCHORS[key]
        if anchor.available:
            files = [anchor.encode(image, q) for q in SWEEPS[key]]
            curves[key] = [{"bpp": len(f) * 8 / pixels, "psnr": psnr(ref, anchor.decode(f))} for f in files]
    return curves


def rate_summary(curves: dict[str, list[dict]], webp_psnr: float, webp_bytes: int, pixels: int) -> str:
    """BD-rate of the VAE against each anchor on this photo, and what a VAE file as good as WebP's costs."""
    from vae_demo.codec.benchmark import bd_rate

    parts = []
    for key in ("webp", "jpeg"):
        if key in curves and min(len(curves[key]), len(curves["vae"])) >= 4:  # cubic fits
            bd = bd_rate(curves[key], curves["vae"])
            name = ANCHORS[key].name
            if bd == bd:
                parts.append(f"{abs(bd):.1f}% {'fewer' if bd < 0 else 'more'} bytes than {name} (BD-rate {bd:+.1f}%)")
    text = "On this photo " + ("the VAE needs " + " and ".join(parts) if parts else "the curves do not overlap")
    pts = sorted(curves["vae"], key=lambda p: p["psnr"])
    if pts[0]["psnr"] <= webp_psnr <= pts[-1]["psnr"]:
        bpp = math.exp(np.interp(webp_psnr, [p["psnr"] for p in pts], [math.log(p["bpp"]) for p in pts]))
        vae_bytes = round(bpp * pixels / 8)
        saved = webp_bytes - vae_bytes
        verb = f"saves {saved:,} bytes ({saved / webp_bytes:.0%})" if saved >= 0 else f"costs {-saved:,} bytes more"
        text += f". At WebP's quality here ({webp_psnr:.2f} dB, {webp_bytes:,} bytes) a VAE file {verb}"
    return text + " (over the quality range both cover; PSNR, this photo only)."


@lru_cache(maxsize=1)
def get_codec():
    return load_model(CODEC_MODEL, device="cpu")


def _uint8(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) uint8 -> (H, W) or (H, W, 3) for display."""
    a = x.permute(1, 2, 0).numpy()
    return a[..., 0] if a.shape[-1] == 1 else a


def _pil(x: torch.Tensor) -> Image.Image:
    return Image.fromarray(_uint8(x))


def _decode_pillow(data: bytes, channels: int) -> torch.Tensor:
    img = Image.open(io.BytesIO(data)).convert("L" if channels == 1 else "RGB")
    a = np.array(img)  # a writable copy
    return torch.from_numpy(a[..., None] if a.ndim == 2 else a).permute(2, 0, 1).contiguous()  # (C, H, W)


def zoom_box(x: torch.Tensor, side: int = ZOOM_SIDE) -> tuple[int, int, int]:
    """(top, left, side) of the most detailed ``side`` x ``side`` block (largest gradient energy)."""
    g = x.float().mean(dim=0)  # (H, W)
    side = min(side, *g.shape)
    energy = (g[1:, :-1] - g[:-1, :-1]).abs() + (g[:-1, 1:] - g[:-1, :-1]).abs()  # (H-1, W-1)
    pooled = torch.nn.functional.avg_pool2d(energy[None, None], max(1, side - 1), stride=max(1, side // 4))
    idx = int(pooled.flatten().argmax())
    stride = max(1, side // 4)
    top, left = (idx // pooled.shape[-1]) * stride, (idx % pooled.shape[-1]) * stride
    return min(top, g.shape[0] - side), min(left, g.shape[1] - side), side


def zoom_strip(pictures: list[torch.Tensor], box: tuple[int, int, int], zoom: int = ZOOM) -> np.ndarray:
    """The same crop of each (C, H, W) uint8 picture, enlarged ``zoom`` times (nearest), side by side."""
    top, left, side = box
    gap = torch.full((pictures[0].shape[0], side * zoom, 4), 255, dtype=torch.uint8)
    tiles = []
    for p in pictures:
        crop = p[:, top : top + side, left : left + side]
        tiles += [crop.repeat_interleave(zoom, dim=1).repeat_interleave(zoom, dim=2), gap]
    return _uint8(torch.cat(tiles[:-1], dim=2))


def _name_of(image) -> str:
    """The download's name: the uploaded file's, else "photo"."""
    stem = Path(image).stem if isinstance(image, (str, Path)) else ""
    return "".join(c for c in stem if c.isalnum() or c in "-_")[:60] or "photo"


def compress(
    image=None, quality: float = DEFAULT_QUALITY, progress: Callable[..., object] | None = None
) -> CompressResult:
    """Code ``image`` (path, PIL image, array, or None for the example photo) at ``quality`` (0: smallest file,
    levels - 1: best picture) with the VAE codec, and with JPEG and WebP at no more bytes."""
    step = progress or (lambda *a, **k: None)
    step(0, desc="Loading the codec")
    codec = get_codec()
    quality = number(quality, "quality", 0, codec.levels - 1)
    photo = load_photo(image)  # (1, C, H, W) in [0, 1]
    h, w = photo.shape[-2:]
    if h * w > bitstream.MAX_PIXELS:
        raise ImageError(
            f"The photo is {w}x{h} pixels ({megapixels(h * w)}); the codec handles up to "
            f"{megapixels(bitstream.MAX_PIXELS)}. Please resize it."
        )
    original = (photo[0] * 255).round().to(torch.uint8)  # (C, H, W)
    step(0.05, desc="Coding with the VAE")
    data = bitstream.encode_image(codec, original, quality)
    path = outputs.new_path(_name_of(image), ".vaez")
    path.write_bytes(data)
    step(0.3, desc="Decoding the .vaez file")
    decoded = bitstream.decode_image(codec, data)  # exactly what decompress(path) gives
    results = {"VAE (.vaez)": (decoded, len(data), f"quality {quality:g}")}
    source = _pil(original)
    for i, anchor in enumerate(a for key, a in ANCHORS.items() if key in APP_ANCHORS and a.available):
        name = anchor.name
        step(0.5 + 0.15 * i, desc=f"Searching {name}'s quality for at most {len(data)} bytes")
        file, q = anchor.at_most(source, len(data))
        setting = f"quality {q}" if len(file) <= len(data) else f"quality {q} (its smallest file: larger)"
        results[name] = (_decode_pillow(file, original.shape[0]), len(file), setting)
    step(0.8, desc="Measuring PSNR and SSIM")
    rows = []
    for name, (picture, size, setting) in results.items():
        psnr, ssim = image_metrics(original[None].float() / 255, picture[None].float() / 255)
        rows.append([name, size, round(size * 8 / (h * w), 4), psnr, ssim, setting])
    pictures = [original] + [r[0] for r in results.values()]
    zoom = zoom_strip(pictures, zoom_box(original))
    webp = _uint8(results["WebP"][0]) if "WebP" in results else None
    summary = ""
    if "WebP" in results and h * w <= CURVE_PIXELS:
        step(0.9, desc="Rate-distortion curves of this photo")
        webp_row = rows[-1]
        summary = rate_summary(photo_curves(codec, source), webp_row[3], webp_row[1], h * w)
    elif "WebP" in results:
        summary = (
            f"The photo is {megapixels(h * w)}: its rate-distortion curves are drawn up to {megapixels(CURVE_PIXELS)}."
        )
    step(1.0, desc="Done")
    return CompressResult(_uint8(decoded), _uint8(results["JPEG"][0]), webp, rows, zoom, str(path), summary)


def decompress(path) -> np.ndarray:
    """A ``.vaez`` file (path) -> the picture, uint8 (H, W) or (H, W, 3); ``VaezError`` with a sentence if bad."""
    if path is None or not Path(path).is_file():
        raise bitstream.VaezError("Please give a .vaez file made by the Compress tab.")
    return _uint8(bitstream.decode_image(get_codec(), bitstream.read_file(path)))


def describe(path) -> str:
    """One line on what a ``.vaez`` file holds: size, mode, quality, bytes and bits per pixel, model."""
    data = bitstream.read_file(path)
    header = bitstream.unpack(data)
    pixels = header.width * header.height
    return (
        f"{header.width}x{header.height} pixels ({header.mode}), quality {header.quality:g}: {len(data)} bytes, "
        f"{len(data) * 8 / pixels:.4f} bits per pixel; made by {header.model_name} "
        f"(weights {header.weights_hash[:12]})"
    )


@lru_cache(maxsize=1)
def example_file() -> str:
    """The example photo (scikit-image's astronaut) coded at ``DEFAULT_QUALITY``: the default to decode."""
    path = outputs.subdir("examples") / "astronaut.vaez"
    original = (load_photo(None)[0] * 255).round().to(torch.uint8)  # (C, H, W)
    path.write_bytes(bitstream.encode_image(get_codec(), original, DEFAULT_QUALITY))
    return str(path)
