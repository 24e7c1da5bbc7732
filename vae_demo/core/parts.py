"""Results saved one part at a time, so a benchmark that runs for hours resumes after a stop.

A part is one JSON file in a folder, ``<name>.json``, holding the result and the ``key`` it was computed
under (the weights, the settings, the input: whatever would change it). ``load_part`` gives the saved result
back only under the same key, and refuses a different one with a sentence rather than mix two runs;
``save_part`` writes a file under another name and renames it, so a stop mid-write leaves no half part.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes (for a key: which weights a result came from)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def array_sha256(a) -> str:
    """The sha256 of an array's values (a numpy array, or a tensor on the CPU), in C order."""
    return hashlib.sha256(np.asarray(a).tobytes()).hexdigest()


def module_sha256(module) -> str | None:
    """The sha256 of a model's weights (names and bytes, in order), or None for no model."""
    if module is None:
        return None
    import torch

    h = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().flatten().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def load_part(folder: Path | None, name: str, key: dict) -> dict | None:
    """The result saved as ``name`` under ``key``, or None when there is none (or no folder)."""
    if folder is None:
        return None
    path = Path(folder) / f"{name}.json"
    if not path.is_file():
        return None
    part = json.loads(path.read_text())
    if part.get("key") != json.loads(json.dumps(key)):  # as JSON reads it back: tuples become lists
        raise SystemExit(
            f"{path} was computed with other settings, weights or inputs ({part.get('key')} against {key}): "
            "use another folder for this run, or delete that one"
        )
    return part["result"]


def save_part(folder: Path | None, name: str, key: dict, result: dict) -> None:
    """Save ``result`` as ``name`` under ``key`` (nothing without a folder)."""
    if folder is None:
        return
    path = Path(folder) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"key": key, "result": result}, indent=2) + "\n")
    tmp.replace(path)
