"""Restore photo files with the restoration VAE: ``vae-demo restore INPUT... --out DIR``.

Inputs are files, folders (their files, not recursive, hidden files left out) or glob patterns.
Each photo is read and checked as the Enhance tab reads uploads (``vae_demo.demo.photos.load_photo``:
any mode, EXIF orientation, size limits) and restored with ``vae_demo.restoration.serving.fix``, the
way the tab restores a real photo (Auto: the photo's own noise, blind, brightness and colour kept; the
other problems told to the model; photos over a megapixel in tiles). Outputs are PNGs in DIR:
``NAME_restored.png``, with ``--samples K`` also ``NAME_sample1.png`` ... and with ``--std-maps``
``NAME_std.png`` (the per-pixel standard deviation of the K samples as a heat map, brightest where they
differ most). A file that cannot be restored is
skipped with a one-line reason; nothing is written when an output would replace an input.
"""

from __future__ import annotations

import glob
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from vae_demo.core.device import make_generator
from vae_demo.core.hub import load_model
from vae_demo.core.images import to_uint8
from vae_demo.demo import photos
from vae_demo.restoration import problems, serving
from vae_demo.restoration.degradations import resize
from vae_demo.restoration.restore import Restoration

STD_MAP_SAMPLES = 4  # K when --std-maps is asked for without --samples


@dataclass
class Outcome:
    """What a batch did: the inputs restored, the ones skipped (name, reason) and the files written."""

    restored: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def expand_inputs(inputs: list[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """(files to restore, in order and without repeats; (input, reason) for inputs that name no file)."""
    files, missing, seen = [], [], set()
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not found:
                missing.append((item, "the folder holds no files"))
        elif path.is_file():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(item) if Path(p).is_file())
            if not found:
                missing.append((item, "no such file, folder or matching pattern"))
        for p in found:
            if p.resolve() not in seen:
                seen.add(p.resolve())
                files.append(p)
    return files, missing


def plan_outputs(files: list[Path], out: Path, samples: int, std_maps: bool) -> list[dict[str, Path]]:
    """The output paths of each input (``restored``, ``sample1``..., ``std``), refusing to replace an input."""
    if out.exists() and not out.is_dir():
        raise SystemExit(f"--out {out} is a file; give a folder for the restored photos")
    used: set[str] = set()
    plans = []
    for path in files:
        stem, n = path.stem, 1
        while stem in used:  # two inputs with one name (a.png and a.jpg, or two folders): a, a-2, a-3...
            n += 1
            stem = f"{path.stem}-{n}"
        used.add(stem)
        plan = {"restored": out / f"{stem}_restored.png"}
        plan.update({f"sample{i}": out / f"{stem}_sample{i}.png" for i in range(1, samples + 1)})
        if std_maps:
            plan["std"] = out / f"{stem}_std.png"
        plans.append(plan)
    inputs = {p.resolve() for p in files}
    clash = [t for plan in plans for t in plan.values() if t.resolve() in inputs]
    if clash:
        raise SystemExit(f"refusing to overwrite the input {clash[0]}: choose another --out folder")
    return plans


def restore_photo(
    model, photo: torch.Tensor, problem: str = "auto", level: float | None = None, samples: int = 0, seed: int = 0
) -> Restoration:
    """Restore one (1, C, H, W) photo as the Enhance tab restores a real (not simulated) one.

    ``level`` is the noise level (0-255 scale) for ``problem="noise"``; None estimates it. x2 / x4
    enlarge the photo first. Photos over a megapixel are restored in tiles.
    """
    row = problems.problem(problem)
    if row.model == problems.LIGHT_MODEL:
        from vae_demo.light.serving import enhance_light

        return enhance_light(model, photo[0], problem, samples, make_generator(seed)).as_restoration()
    if row.degradation == "downsample":
        scale = int(row.level(0.0))
        h, w = photo.shape[-2:]
        if max(h, w) * scale > photos.MAX_OUTPUT_SIDE:
            raise ValueError(
                f"enlarging {w}x{h} pixels {scale} times would exceed {photos.MAX_OUTPUT_SIDE} pixels per side"
            )
        photo = resize(photo, (h * scale, w * scale))
    big = photo.shape[-2] * photo.shape[-1] > photos.TILE_ABOVE_PIXELS
    return serving.fix(
        model,
        photo,
        problem,
        level if problem == "noise" else None,
        samples=samples,
        generator=make_generator(seed),
        tile=photos.TILE if big else None,
    )


def _save(x: torch.Tensor, path: Path) -> None:
    Image.fromarray(to_uint8(x.cpu())).save(path)


def restore_files(
    inputs: list[str],
    out: str | Path,
    problem: str = "auto",
    samples: int = 0,
    std_maps: bool = False,
    level: float | None = None,
    seed: int = 0,
    checkpoint: str | Path | None = None,
) -> Outcome:
    """Restore every photo ``inputs`` name into the folder ``out``, with a tqdm bar on stderr.

    Unreadable files are skipped with a one-line reason each (printed, and in ``Outcome.skipped``).
    Raises ``SystemExit`` before writing anything when an output would replace an input.
    """
    from tqdm import tqdm

    from vae_demo.demo.common import heat_map

    if problem not in problems.PROBLEMS:
        raise SystemExit(f"unknown problem {problem!r}; choose one of {', '.join(problems.PROBLEMS)}")
    if level is not None and (problem != "noise" or not 0 <= level <= 100):
        raise SystemExit(
            "--level is the noise level of --problem noise, 0-100 on the 0-255 scale (default: "
            "estimated); the model works out the other problems' strength itself"
        )
    if not 0 <= samples <= 64:
        raise SystemExit("--samples is a number of posterior samples, 0 to 64")
    if std_maps and samples == 0:
        samples = STD_MAP_SAMPLES
    elif std_maps and samples < 2:
        raise SystemExit("--std-maps needs --samples 2 or more: the spread of one sample is zero")
    out = Path(out)
    files, missing = expand_inputs(inputs)
    outcome = Outcome(skipped=list(missing))
    for item, reason in missing:
        print(f"skipped {item}: {reason}", file=sys.stderr)
    plans = plan_outputs(files, out, samples, std_maps)
    if not files:
        return outcome
    model = load_model(problems.problem(problem).model, path=checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(files, desc="restoring", unit="photo", file=sys.stderr, disable=None)  # no bar when not a terminal
    for path, plan in zip(bar, plans, strict=True):
        try:
            result = restore_photo(model, photos.load_photo(path), problem, level, samples, seed)
        except (ValueError, OSError, RuntimeError, MemoryError) as err:  # ImageError is a ValueError
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            outcome.skipped.append((str(path), reason))
            tqdm.write(f"skipped {path}: {reason}", file=sys.stderr)
            continue
        _save(result.mode[0], plan["restored"])
        for i in range(1, samples + 1):
            _save(result.samples[i - 1, 0], plan[f"sample{i}"])
        if std_maps:
            Image.fromarray(heat_map(result.std[0].cpu(), 1)).save(plan["std"])
        outcome.restored.append(path)
        outcome.written.extend(plan.values())
    return outcome
