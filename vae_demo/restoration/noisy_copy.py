"""One noisy copy of a folder of clean images: the only data a DivNoising run is trained on.

    vae-demo make-noisy --data ../shared/data/train/Train400 --sigma 25 --seed 0 \
        --out ~/.cache/vae-demo/data/Train400-sigma25

Each image gets white Gaussian noise of std ``sigma`` (0-255 scale), is clipped to [0, 255], rounded to
8 bits and written as a PNG (lossless) of the same name; grey stays grey and anything else becomes RGB.
The noise of a file depends only on ``seed`` and the file's name (not on the order or number of the
files), so the same command gives the same bytes. ``noisy_copy.json`` beside the images records the
source folder, sigma, seed and each file's SHA-256; a training run records it in turn, so what it
learned from can be checked.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vae_demo.core.images import IMAGE_SUFFIXES

MANIFEST = "noisy_copy.json"


def file_seed(seed: int, name: str) -> int:
    """The noise seed of one file: a hash of the run's seed and the file's name."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "little") & (2**63 - 1)


def add_noise(a: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """uint8 image + N(0, sigma^2) (0-255 scale), clipped and rounded to uint8."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(a.shape, generator=g, dtype=torch.float64).numpy() * sigma
    return np.clip(np.round(a.astype(np.float64) + noise), 0, 255).astype(np.uint8)


def image_paths(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def make_noisy_copy(source: str | Path, out: str | Path, sigma: float = 25.0, seed: int = 0) -> dict:
    """Write the noisy copy of ``source`` into ``out`` (made if missing; it must hold no other images).

    Returns the manifest (also written as ``out/noisy_copy.json``)."""
    source, out = Path(source).expanduser().resolve(), Path(out).expanduser().resolve()
    if not source.is_dir():
        raise FileNotFoundError(f"no image folder at {source}")
    if not 0 < sigma <= 255:
        raise ValueError(f"sigma must be in (0, 255] on the 0-255 scale, got {sigma}")
    if out == source or source in out.parents:
        raise ValueError(f"the noisy copy {out} must not be inside the clean folder {source}")
    paths = image_paths(source)
    if not paths:
        raise FileNotFoundError(f"no images in {source}")
    names = [p.stem + ".png" for p in paths]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ValueError(f"files of {source} would share the names {', '.join(clash)} as PNGs")
    out.mkdir(parents=True, exist_ok=True)
    previous = out / MANIFEST
    others = {p.name for p in image_paths(out)} - (set(names) if previous.exists() else set())
    if others:
        raise ValueError(
            f"{out} already holds other images ({', '.join(sorted(others)[:3])}, ...); choose an empty folder"
        )
    files = []
    for path, name in zip(paths, names, strict=True):
        with Image.open(path) as img:
            mode = "L" if img.mode in ("L", "I;16", "I", "1") else "RGB"
            clean = np.asarray(img.convert(mode))
        noisy = add_noise(clean, sigma, file_seed(seed, name))
        Image.fromarray(noisy, mode).save(out / name, format="PNG")
        files.append({"name": name, "source": path.name, "mode": mode, "sha256": sha256(out / name)})
    manifest = {
        "made_by": "vae-demo make-noisy",
        "source": str(source),
        "noise": "gaussian",
        "sigma": float(sigma),
        "scale": "0-255; clipped to [0, 255] and rounded to 8 bits",
        "seed": int(seed),
        "files": files,
    }
    previous.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_manifest(folder: str | Path) -> dict | None:
    """The folder's ``noisy_copy.json``, or None when it has none (real noisy photos, say)."""
    path = Path(folder) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None
