"""The cases of a restoration benchmark: each clean image of a folder degraded once, or real pairs, and the
score of an output against its reference.

Images are read in name order (grey stays grey) and degraded with one generator seeded by the run's seed, so
every method restores the same inputs. Outputs are clipped to [0, 1] and rounded to 8 bits against the 8-bit
reference; SR is scored on the Y channel (ITU-R BT.601, as MATLAB's rgb2ycbcr) with ``scale`` border pixels
cropped. ``vae_demo.restoration.benchmark`` runs the methods on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vae_demo import catalog
from vae_demo.core.device import make_generator
from vae_demo.core.metrics import psnr, ssim
from vae_demo.core.splits import split_paths
from vae_demo.restoration.benchmark_real import load_pairs
from vae_demo.restoration.degradations import degrade, resize


def load_images(folder: Path, limit: int | None, split: str = "all") -> list[tuple[str, np.ndarray]]:
    """(file name, uint8 HxW or HxWx3 array) of the first ``limit`` images of ``folder`` (or of its ``split``,
    ``core.splits``), by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SystemExit(f"no image folder at {folder}: give --data a folder of clean images")
    paths = split_paths(folder, split)[:limit]
    if not paths:
        raise SystemExit(f"no images in {folder}")
    out = []
    for p in paths:
        try:
            im = Image.open(p)
            im.load()
        except (OSError, ValueError) as err:  # a benchmark scores every image: a broken one stops it, in one line
            raise SystemExit(f"{p} cannot be read as an image ({err}); remove it or fix it") from None
        out.append((p.name, np.asarray(im.convert("L" if im.mode in ("L", "I;16", "I", "1") else "RGB"))))
    return out


def to_tensor(a: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]


def to_array(t: torch.Tensor) -> np.ndarray:
    a = t[0].permute(1, 2, 0).cpu().numpy()
    return a[..., 0] if a.shape[-1] == 1 else a


def quantise(a: np.ndarray) -> np.ndarray:
    return np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)


def y_channel(a: np.ndarray) -> np.ndarray:
    """BT.601 luma on the 16-235 scale, as MATLAB's rgb2ycbcr (the SR convention)."""
    if a.ndim == 2:
        return a.astype(np.float64)
    a = a.astype(np.float64) / 255
    return 16 + 65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]


def score(out: np.ndarray, ref: np.ndarray, task: str, scale: int) -> tuple[float, float]:
    """(PSNR, SSIM) of an output in [0, 1] against the reference, both rounded to 8 bits first."""
    out, ref = quantise(out), quantise(ref)
    if task == "sr":
        out, ref = y_channel(out), y_channel(ref)
        out, ref = out[scale:-scale, scale:-scale], ref[scale:-scale, scale:-scale]
    return psnr(ref / 255, out / 255, rounded=False), ssim(ref, out)


def degrade_one(
    clean: np.ndarray, task: str, level: float, g: torch.Generator, clip: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(reference, degraded input at the reference's size); ``clip`` False leaves Gaussian noise unclipped."""
    x = to_tensor(clean / 255.0)
    name = catalog.task_degradation(task)
    if name == "downsample":
        s = round(level)
        h, w = (d - d % s for d in x.shape[-2:])
        x = x[..., :h, :w]
        y = resize(degrade(x, name, s, g), (h, w))
    else:
        y = degrade(x, name, level / 100 if name == "salt_and_pepper" else level, g, clip)
    return to_array(x), to_array(y)


def make_cases(
    task: str, level: float, data: str | Path, limit: int | None, seed: int, clip: bool = True, split: str = "all"
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, reference, input) of every image: the pairs of a ``real`` folder as they are, else each clean
    image of ``data`` degraded once, in name order, with one generator seeded by ``seed``."""
    if task == "real":
        return load_pairs(data, limit)
    g = make_generator(seed)
    return [(name, *degrade_one(a, task, level, g, clip)) for name, a in load_images(Path(data), limit, split)]
