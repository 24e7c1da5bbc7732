"""One folder per process for the files the app writes: full-resolution PNGs, interpolation GIFs, examples.

``new_path(name, suffix)`` hands out a new, empty file ``NAME.SUFFIX`` in a new subfolder of that folder (a
download keeps its plain name). Each call first prunes the folder: results older than
``VAE_DEMO_OUTPUT_MAX_AGE_MIN`` minutes (default 30) go, then the oldest until fewer than
``VAE_DEMO_OUTPUT_MAX_FILES`` (default 100) remain, so the folder stays bounded however long the app runs.
Folders made by ``subdir()`` (the examples) are never pruned. The folder is made on first use, under the
system temporary folder (where Gradio may read it; Gradio copies every returned file into its own cache),
and removed when the process that made it exits.

No Gradio, no torch: importing this module writes nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

PREFIX = "vae-demo-"
DEFAULT_MAX_FILES = 100
DEFAULT_MAX_AGE_MIN = 30.0

_lock = threading.Lock()
_folder: Path | None = None
_owner_pid: int | None = None
_kept: set[str] = set()  # names of subdir() folders: never pruned


def max_files() -> int:
    """How many results the folder keeps (``VAE_DEMO_OUTPUT_MAX_FILES``, at least 1)."""
    return max(1, int(os.environ.get("VAE_DEMO_OUTPUT_MAX_FILES", DEFAULT_MAX_FILES)))


def max_age_s() -> float:
    """How long a file is kept, in seconds (``VAE_DEMO_OUTPUT_MAX_AGE_MIN`` minutes)."""
    return 60.0 * float(os.environ.get("VAE_DEMO_OUTPUT_MAX_AGE_MIN", DEFAULT_MAX_AGE_MIN))


def output_dir() -> Path:
    """This process's output folder, made on first use (again if something removed it)."""
    global _folder, _owner_pid
    with _lock:
        if _folder is None or _owner_pid != os.getpid() or not _folder.is_dir():
            _folder = Path(tempfile.mkdtemp(prefix=PREFIX))
            if _owner_pid is None:
                atexit.register(cleanup)
            _owner_pid = os.getpid()
        return _folder


def subdir(name: str) -> Path:
    """A subfolder of the output folder that pruning leaves alone (for files needed all along)."""
    _kept.add(name)
    folder = output_dir() / name
    folder.mkdir(exist_ok=True)
    return folder


def new_path(name: str, suffix: str) -> Path:
    """A new empty file ``NAME.SUFFIX`` in a new subfolder of the output folder, after pruning the folder."""
    folder = output_dir()
    with _lock:
        prune(folder, keep=max_files() - 1)  # room for the new one
        path = Path(tempfile.mkdtemp(dir=folder)) / f"{name}{suffix}"
    path.touch()
    return path


def prune(folder: Path | None = None, keep: int | None = None, age_s: float | None = None) -> int:
    """Delete the results in ``folder`` older than ``age_s``, then the oldest beyond ``keep``; return how many."""
    folder = _folder if folder is None else folder
    if folder is None or not folder.is_dir():
        return 0
    keep = max_files() if keep is None else keep
    cutoff = time.time() - (max_age_s() if age_s is None else age_s)
    entries = []
    for entry in os.scandir(folder):
        if entry.name in _kept:
            continue
        try:
            entries.append(
                (entry.stat(follow_symlinks=False).st_mtime, entry.path, entry.is_dir(follow_symlinks=False))
            )
        except FileNotFoundError:  # removed meanwhile
            continue
    entries.sort()
    doomed = [(p, is_dir) for i, (mtime, p, is_dir) in enumerate(entries) if mtime < cutoff or i < len(entries) - keep]
    for path, is_dir in doomed:
        if is_dir:
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
    return len(doomed)


def usage(folder: Path | str) -> tuple[int, int]:
    """(files, bytes) under ``folder``, subfolders included; (0, 0) when it does not exist."""
    files = size = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            try:
                size += os.lstat(os.path.join(root, name)).st_size
                files += 1
            except FileNotFoundError:
                continue
    return files, size


def cleanup() -> None:
    """Remove the output folder (run at exit by the process that made it)."""
    global _folder
    with _lock:
        if _folder is not None and _owner_pid == os.getpid():
            shutil.rmtree(_folder, ignore_errors=True)
        _folder = None
