"""The app's output folder: one per process, pruned by age and count, removed at exit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT
from PIL import Image

from vae_demo.demo import outputs


@pytest.fixture
def fresh_folder():
    """A new output folder for the test, removed afterwards (the next user makes another)."""
    outputs.cleanup()
    yield outputs.output_dir()
    outputs.cleanup()


def test_importing_writes_nothing():
    code = "import sys, vae_demo.demo.outputs as o; print(o._folder, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "False"]


def results(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name != "examples"]


def test_one_folder_per_process(fresh_folder):
    a, b = outputs.new_path("a", ".png"), outputs.new_path("a", ".png")
    assert a != b and a.parent.parent == b.parent.parent == fresh_folder
    assert a.name == b.name == "a.png" and a.exists(), "a download keeps its plain name"


def test_the_oldest_files_go_beyond_the_cap(fresh_folder, monkeypatch):
    monkeypatch.setenv("VAE_DEMO_OUTPUT_MAX_FILES", "5")
    paths = []
    for i in range(12):
        paths.append(outputs.new_path(f"f{i}", ".txt"))
        os.utime(paths[-1].parent, (time.time() - 100 + i, time.time() - 100 + i))  # distinct, increasing times
    assert sorted(results(fresh_folder)) == sorted(p.parent for p in paths[-5:])


def test_old_files_go_and_examples_stay(fresh_folder, monkeypatch):
    monkeypatch.setenv("VAE_DEMO_OUTPUT_MAX_AGE_MIN", "1")
    examples = outputs.subdir("examples")
    (examples / "digit.png").write_bytes(b"x")
    old = outputs.new_path("old", ".png")
    os.utime(old.parent, (time.time() - 120, time.time() - 120))
    os.utime(examples / "digit.png", (time.time() - 120, time.time() - 120))
    new = outputs.new_path("new", ".png")
    assert not old.exists() and new.exists() and (examples / "digit.png").exists()


def test_the_folder_is_removed_at_exit(tmp_path):
    code = "from vae_demo.demo import outputs; p = outputs.new_path('x', '.png'); p.write_bytes(b'1'); print(p)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    path = Path(out.stdout.strip())
    assert path.parent.parent.parent == tmp_path
    assert not path.parent.parent.exists()


def test_fifty_touch_ups_keep_the_folder_bounded(fresh_folder, monkeypatch):
    """The PNG every /enhance, /denoise and /touch_up call writes: 50 calls, at most the cap on disk."""
    from vae_demo.demo import photos

    monkeypatch.setenv("VAE_DEMO_OUTPUT_MAX_FILES", "8")
    photo = Image.new("RGB", (64, 48), (90, 120, 150))
    sizes = []
    for i in range(50):
        _, png = photos.touch_up(photo, 0.6 + 0.016 * i)
        assert Path(png).parent.parent == fresh_folder and Path(png).name == "touched-up.png"
        sizes.append(outputs.usage(fresh_folder))
    assert max(files for files, _ in sizes) <= 8
    assert sizes[-1][1] <= 8 * max(os.path.getsize(p) for p in fresh_folder.rglob("*.png"))
