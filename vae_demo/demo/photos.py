"""Plain functions behind the Enhance and Denoise tabs: photo in, restorations and metrics out.

Each takes an image (a path, a PIL image, or None for the built-in example) and plain numbers,
checks them, and returns a ``PhotoResult``: numpy images, a gallery, metric rows and the path of a PNG of the result.
With ``simulate`` the clean photo is first degraded, so PSNR / SSIM against it can be shown.
Photos over ``PAGE_PIXELS`` are scaled down to it first (the table says so); photos over a megapixel are
restored tile by tile, and their K posterior samples cover their centre.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageEnhance

from vae_demo.core.device import make_generator
from vae_demo.core.hub import load_model
from vae_demo.core.images import ImageError, open_image, to_rgb_or_grey, to_uint8
from vae_demo.demo.common import heat_map, image_metrics, number
from vae_demo.demo.examples import photo_example
from vae_demo.demo.photo_limits import PAGE_PIXELS
from vae_demo.restoration import classical, problems, serving
from vae_demo.restoration.degradations import degrade, gaussian_blur, jpeg, noise_sigma_of, resize
from vae_demo.restoration.restore import Restoration

TILE, TILE_ABOVE_PIXELS = 512, 1024 * 1024  # restore bigger photos in 512 px tiles
SAMPLE_CROP = 512  # K samples of a big photo cover its central 512 x 512 pixels
MAX_OUTPUT_SIDE = 4096
MAX_PHOTO_PIXELS = 4096 * 4096  # bigger uploads are refused
MAX_CLASSICAL_PIXELS = 4_000_000  # non-local means and Richardson-Lucy take minutes beyond this
MIN_SIDE = 8  # smaller photos are refused: SSIM and the filters need a 7x7 window
GALLERY_SIDE = 384
NO_REFERENCE = "no PSNR / SSIM: there is no clean original to compare with"

Progress = Callable[..., object] | None


@dataclass
class PhotoResult:
    """What the Enhance and Denoise tabs show, in their order (``/denoise`` returns the outputs of ``/enhance``)."""

    before_after: tuple[np.ndarray, np.ndarray]  # the degraded photo and the VAE result after the final touches
    classical: np.ndarray | None  # the classical method's result (None: skipped, the photo is too big for it)
    vae: np.ndarray  # the VAE result before the final touches
    gallery: list  # (image, caption) per posterior sample
    uncertainty: np.ndarray | None  # the samples' per-pixel std as a heat map (None without samples)
    rows: list[list]  # [image, PSNR dB, SSIM] per method, then how the result was made
    download: str  # the final picture as a PNG file


@lru_cache(maxsize=4)
def get_restorer(name: str):
    """The restoration model called ``name``, loaded once (a problem's row names it)."""
    return load_model(name)


def _open_photo(image, default: str) -> Image.Image:
    """The photo (``None``: the example ``default``) opened and checked against the size limits."""
    img = open_image(photo_example(default) if image is None else image)
    if img.width < 1 or img.height < 1:
        raise ImageError("The image has no pixels.")
    if min(img.width, img.height) < MIN_SIDE:
        raise ImageError(
            f"The photo is only {img.width}x{img.height} pixels; the photo tabs need at least "
            f"{MIN_SIDE} pixels on each side. Please upload a larger picture."
        )
    if img.width * img.height > MAX_PHOTO_PIXELS:
        raise ImageError(
            f"The photo is {img.width}x{img.height} pixels ({img.width * img.height / 1e6:.0f} megapixels); "
            f"this demo restores photos up to {MAX_PHOTO_PIXELS / 1e6:.0f} megapixels. Please resize it."
        )
    return to_rgb_or_grey(img, 3)


def _as_tensor(img: Image.Image) -> torch.Tensor:
    a = np.asarray(img, dtype=np.float32) / 255
    if (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all():
        a = a[..., :1]
    return torch.from_numpy(a).permute(2, 0, 1)[None].contiguous()


def load_photo(image=None, default: str = "astronaut") -> torch.Tensor:
    """(1, C, H, W) in [0, 1]; C = 1 for grey photos (including RGB files whose channels are equal)."""
    return _as_tensor(_open_photo(image, default))


def page_photo(image=None) -> tuple[torch.Tensor, str]:
    """The photo as the photo tabs restore it (``load_photo``), scaled down (Lanczos) to ``PAGE_PIXELS`` when
    bigger, and the words that say so ("" when it was not)."""
    img = _open_photo(image, "astronaut")
    w, h = img.size
    if w * h <= PAGE_PIXELS:
        return _as_tensor(img), ""
    scale = math.sqrt(PAGE_PIXELS / (w * h))
    size = (max(MIN_SIDE, math.floor(w * scale)), max(MIN_SIDE, math.floor(h * scale)))
    small = img.resize(size, Image.LANCZOS, reducing_gap=3.0)
    return _as_tensor(small), f"the {w}x{h} photo scaled down to {size[0]}x{size[1]} ({PAGE_PIXELS / 1e6:g} megapixels)"


def report_progress(progress: Progress, frac: float, desc: str) -> None:
    """Tell the page how far the action is (``progress`` None: nobody is listening)."""
    if progress is not None:
        progress(frac, desc=desc)


def save_png(x: torch.Tensor, name: str) -> str:
    """Write the full-resolution PNG into the process's output folder (pruned, removed at exit)."""
    from vae_demo.demo.outputs import new_path

    path = new_path(name, ".png")
    Image.fromarray(to_uint8(x[0])).save(path, format="PNG")
    return str(path)


def gallery_image(x: torch.Tensor, side: int = GALLERY_SIDE) -> np.ndarray:
    """A uint8 copy no larger than ``side`` pixels on its longer edge, for galleries."""
    h, w = x.shape[-2:]
    if max(h, w) > side:
        x = resize(x, (max(1, round(h * side / max(h, w))), max(1, round(w * side / max(h, w)))))
    return to_uint8(x[0])


def _upscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    if max(h, w) * scale > MAX_OUTPUT_SIDE:
        raise ValueError(
            f"Enlarging {w}x{h} pixels {scale} times would exceed {MAX_OUTPUT_SIDE} pixels per side; "
            f"please upload a smaller image or choose a smaller factor."
        )
    return resize(x, (h * scale, w * scale))


def _simulate(clean: torch.Tensor, key: str, degradation: str, level: float, seed: int) -> torch.Tensor:
    """Degrade a clean photo (same size out; ``downsample`` gives the bicubic upsampling of the small image)."""
    g = make_generator(seed)
    if key == "auto":
        return jpeg(degrade(gaussian_blur(clean, 0.8), "gaussian_noise", level, g), 70)
    if degradation == "downsample":  # edge-padded to a multiple of the factor, so the result keeps the photo's size
        h, w = clean.shape[-2:]
        f = int(level)
        padded = torch.nn.functional.pad(clean, (0, (-w) % f, 0, (-h) % f), mode="replicate")
        small = degrade(padded, degradation, level, g)
        return resize(small, padded.shape[-2:])[..., :h, :w]
    return degrade(clean, degradation, level, g)


def run_vae(
    y: torch.Tensor,
    k: int,
    seed: int,
    progress: Progress,
    model_name: str,
    ensemble: bool,
    problem: str | None = None,
    noise: str | None = None,
    level: float | None = None,
) -> Restoration:
    """The VAE's result for the whole photo (tiled when big) and K samples (of its centre when big), served
    as ``serving`` serves the Enhance ``problem`` (``level``: the sigma told, None: estimated) or the
    Denoise tab's ``noise`` kind (``level``: sigma or peak, None: estimated)."""
    model = get_restorer(model_name)
    big = y.shape[-2] * y.shape[-1] > TILE_ABOVE_PIXELS

    def tile_progress(frac: float, desc: str) -> None:
        report_progress(progress, 0.1 + 0.6 * frac, desc)

    def run(t: torch.Tensor, samples: int, tile: int | None, told: float | None) -> Restoration:
        opts = {"samples": samples, "generator": make_generator(seed), "ensemble": ensemble, "tile": tile}
        if noise is not None:
            return serving.denoise(model, t, noise, told, progress=tile_progress, **opts)
        return serving.fix(model, t, problem, told, progress=tile_progress, **opts)

    report_progress(progress, 0.1, "Restoring with the VAE" + (" (8 flips and turns)" if ensemble else ""))
    out = run(y, 0 if big else k, TILE if big else None, level)
    if big and k > 0:
        report_progress(progress, 0.75, f"Drawing {k} posterior samples of the centre")
        h, w = y.shape[-2:]
        top, left = max(0, (h - SAMPLE_CROP) // 2), max(0, (w - SAMPLE_CROP) // 2)
        crop = y[..., top : top + SAMPLE_CROP, left : left + SAMPLE_CROP]
        part = run(crop, k, None, level)
        out.samples, out.mean, out.std = part.samples, part.mean, part.std
    return out


def photo_result(
    clean: torch.Tensor | None,
    degraded: torch.Tensor,
    classical_out: torch.Tensor,
    method: str,
    vae: Restoration,
    k: int,
    touch: tuple[float, float, float],
    name: str,
    progress: Progress,
) -> PhotoResult:
    """What both tabs show for one restoration: the pictures, the samples, the metrics and the PNG."""
    report_progress(progress, 0.9, "Measuring")
    final = touch_up_tensor(vae.mode, *touch)
    rows = []
    skipped = classical_skipped(degraded)
    if clean is not None:  # PSNR / SSIM only against a clean original
        candidates = [("degraded input", degraded), ("VAE (mode)", vae.mode)]
        if not skipped:  # a skipped method shows no picture and says why in the table
            candidates.insert(1, (f"classical: {method}", classical_out))
        if vae.mean is not None and vae.mean.shape == vae.mode.shape:
            candidates.append((f"VAE (mean of {k} samples)", vae.mean))
        rows += [[label, *image_metrics(clean, x)] for label, x in candidates]
    else:
        rows.append([NO_REFERENCE, None, None])
    if skipped:
        rows.append(
            [f"classical: {method} skipped (photo over {MAX_CLASSICAL_PIXELS / 1e6:.0f} megapixels)", None, None]
        )
    rows.append([f"VAE result: {vae.how}", None, None])
    rows.append(["noise level told to the VAE (0-255)", round(vae.noise_sigma, 2), None])
    gallery, spread = [], None
    if vae.samples is not None:
        gallery = [(gallery_image(s), f"sample {i + 1}") for i, s in enumerate(vae.samples)]
        spread = heat_map(vae.std[0], 1)
        rows.append(["spread of the samples (mean std, 0-255)", round(float(vae.std.mean()) * 255, 2), None])
    before_after, shown = (to_uint8(degraded[0]), to_uint8(final[0])), None if skipped else to_uint8(classical_out[0])
    return PhotoResult(before_after, shown, to_uint8(vae.mode[0]), gallery, spread, rows, save_png(final, name))


def touch_up_tensor(
    x: torch.Tensor, brightness: float = 1.0, contrast: float = 1.0, saturation: float = 1.0
) -> torch.Tensor:
    """Brightness, contrast and saturation (1 = unchanged) with Pillow's ImageEnhance."""
    b = number(brightness, "The brightness", 0.0, 3.0)
    c = number(contrast, "The contrast", 0.0, 3.0)
    s = number(saturation, "The saturation", 0.0, 3.0)
    if (b, c, s) == (1.0, 1.0, 1.0):
        return x
    img = Image.fromarray(to_uint8(x[0]))
    for enhancer, factor in ((ImageEnhance.Brightness, b), (ImageEnhance.Contrast, c), (ImageEnhance.Color, s)):
        if factor != 1.0:
            img = enhancer(img).enhance(factor)
    a = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255)
    return (a[None] if a.ndim == 2 else a.permute(2, 0, 1))[None]


def enhance(
    image=None,
    problem: str = "noise",
    strength: float = 0.5,
    simulate: bool = True,
    k: int = 4,
    seed: int = 0,
    brightness: float = 1.0,
    contrast: float = 1.0,
    saturation: float = 1.0,
    best: bool = False,
    progress: Progress = None,
) -> PhotoResult:
    """Fix one problem of a photo (or of a clean photo degraded first, with ``simulate``); ``best`` averages
    the VAE over the 8 flips and quarter turns of the photo (8 times slower)."""
    row = problems.problem(problem)
    strength = number(strength, "The strength", 0.0, 1.0)
    k = number(k, "The number of samples", 0, 16, integer=True)
    seed = number(seed, "The seed", 0, 2**31 - 1, integer=True)
    touch = (brightness, contrast, saturation)
    if row.model == problems.LIGHT_MODEL:  # the light-and-colour VAE: one blind pass (no x8 ensemble)
        from vae_demo.demo.light_photos import enhance_light_photo

        return enhance_light_photo(row, problem, image, strength, simulate, k, seed, touch, progress)
    level = row.level(strength)
    report_progress(progress, 0.0, "Reading the photo")
    photo, scaled = page_photo(image)
    if simulate:
        clean, degraded = photo, _simulate(photo, problem, row.degradation, level, seed)
        sigma = noise_sigma_of(row.degradation, level)
    else:
        clean, degraded = None, _upscale(photo, int(level)) if row.degradation == "downsample" else photo
        sigma = level if problem == "noise" else None
    vae = run_vae(degraded, k, seed, progress, row.model, bool(best), problem=problem, level=sigma)
    vae.how += f", on {scaled}" if scaled else ""
    report_progress(progress, 0.8, f"Classical baseline: {row.classical}")
    known = level if simulate or problem == "noise" else vae.noise_sigma if problem == "auto" else None
    classical_out = classical_baseline(row.classical, degraded, row.degradation, known)
    return photo_result(clean, degraded, classical_out, row.classical, vae, k, touch, f"enhanced-{problem}", progress)


def denoise_photo(
    image=None,
    noise: str = "gaussian",
    level: float = 25.0,
    blind: bool = False,
    k: int = 4,
    seed: int = 0,
    best: bool = False,
    progress: Progress = None,
) -> PhotoResult:
    """Add noise of a kind and level to a clean photo and remove it, or (``real``) remove a photo's own noise.

    ``level``: Gaussian sigma (0-255 scale), Poisson peak photon count, or salt-and-pepper fraction
    in percent. ``blind`` makes the VAE estimate the noise level itself (salt and pepper never needs it).
    ``best`` averages the VAE over the 8 flips and quarter turns of the photo.
    """
    row = problems.noise(noise)
    k = number(k, "The number of samples", 0, 16, integer=True)
    seed = number(seed, "The seed", 0, 2**31 - 1, integer=True)
    level = number(level, "The noise level", *row.level_range)
    report_progress(progress, 0.0, "Reading the photo")
    photo, scaled = page_photo(image)
    if row.degradation is None:
        clean, degraded, told = None, photo, None
    else:
        physical = row.physical_level(level)
        clean, degraded = photo, degrade(photo, row.degradation, physical, make_generator(seed))
        told = None if blind or noise == "salt_and_pepper" else physical
    vae = run_vae(degraded, k, seed, progress, row.model, bool(best), noise=noise, level=told)
    vae.how += f", on {scaled}" if scaled else ""
    report_progress(progress, 0.8, f"Classical baseline: {row.classical}")
    known = vae.noise_sigma if noise in ("gaussian", "real") else None  # the sigma the VAE was told
    classical_out = classical_baseline(row.classical, degraded, row.degradation or "gaussian_noise", known)
    return photo_result(
        clean, degraded, classical_out, row.classical, vae, k, (1.0, 1.0, 1.0), f"denoised-{noise}", progress
    )


def classical_skipped(x: torch.Tensor) -> bool:
    """Whether a photo is too big for the classical methods (``MAX_CLASSICAL_PIXELS``)."""
    return x.shape[-2] * x.shape[-1] > MAX_CLASSICAL_PIXELS


def classical_baseline(method: str, x: torch.Tensor, degradation: str, level: float | None) -> torch.Tensor:
    """The classical method's result; photos over MAX_CLASSICAL_PIXELS are returned unchanged (too slow)."""
    if classical_skipped(x):
        return x.clone()
    a = x[0].permute(1, 2, 0).numpy().astype(np.float64)
    a = a[..., 0] if a.shape[-1] == 1 else a
    out = torch.from_numpy(np.asarray(classical.run_classical(method, a, degradation, level), dtype=np.float32))
    return (out[None] if out.ndim == 2 else out.permute(2, 0, 1))[None].clamp(0, 1)


def touch_up(image, brightness: float = 1.0, contrast: float = 1.0, saturation: float = 1.0):
    """Re-apply the final touches to a restored photo: (touched image, full-resolution PNG path)."""
    if image is None:
        raise ValueError("There is no restored photo to touch up yet: run Enhance first.")
    x = load_photo(image)
    out = touch_up_tensor(x, brightness, contrast, saturation)
    return to_uint8(out[0]), save_png(out, "touched-up")
