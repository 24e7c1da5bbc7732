"""The validation split held out of the training folders (``validation_split.txt`` beside this file).

Training reads a folder through ``split_paths(folder, "train")``, which leaves the listed photos out;
recipe choices, checkpoint picks and training-time validation read ``split_paths(folder, "val")``. The
report sets (Set12, Kodak24, Set5, classic4, PolyU-Canon5D2, real/*) are in no training folder and are
run once for final figures.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from vae_demo.core.images import IMAGE_SUFFIXES

SPLIT_FILE = Path(__file__).with_name("validation_split.txt")
SPLITS = ("all", "train", "val")


@cache
def validation_names() -> frozenset[str]:
    """The held-out photos as 'FOLDER/NAME' (the folder's own name, not its path)."""
    lines = SPLIT_FILE.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def split_paths(folder: str | Path, split: str = "all") -> list[Path]:
    """The image files of ``folder``, sorted by name: ``all`` of them, the ``train`` part (the validation
    photos left out) or the ``val`` part (only they). A folder the split does not name is all ``train``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    folder = Path(folder)
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if split == "all":
        return paths
    held = {p for p in paths if f"{folder.name}/{p.name}" in validation_names()}
    return sorted(held) if split == "val" else [p for p in paths if p not in held]
