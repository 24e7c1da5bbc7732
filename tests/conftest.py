"""Shared fixtures: tiny models on the CPU, an isolated Hugging Face cache, checkpoint folders."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# Before torch imports tqdm (it reads TQDM_* once, at import): no progress bars in the test output.
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest
import torch
from safetensors.torch import save_file

from vae_demo.core import hub
from vae_demo.generative.model import ConvVAE, VAEConfig

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MNIST_RAW = SHARED_DATA / "mnist" / "MNIST" / "raw"

# The CPU is shared with other jobs and every model here is tiny: one thread is fastest.
torch.set_num_threads(1)


def bundled_weights(name: str) -> Path:
    """``checkpoints/NAME/model.safetensors`` (``VAE_DEMO_CHECKPOINT_DIR`` moves the folder)."""
    return hub.BUNDLED_DIR / name / "model.safetensors"


def bundled_marks(*names: str) -> list[pytest.MarkDecorator]:
    """``needs_checkpoints`` plus a skip, naming the paths, when the trained weights of ``names`` are missing."""
    missing = [str(bundled_weights(n)) for n in names if not bundled_weights(n).is_file()]
    reason = f"bundled weights missing: {', '.join(missing)} (train them first)"
    return [pytest.mark.needs_checkpoints, pytest.mark.skipif(bool(missing), reason=reason)]


def skip_without_bundled(*names: str):
    """Decorate a test that needs the trained weights of ``names`` (see ``bundled_marks``)."""

    def mark(test):
        for m in bundled_marks(*names):
            test = m(test)
        return test

    return mark


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_checkpoint(folder: str | Path, model: ConvVAE) -> Path:
    """Write ``folder/config.json`` and ``folder/model.safetensors`` as the app expects them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(model.config.to_dict()))
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, folder / "model.safetensors")
    return folder


@pytest.fixture
def tiny_config() -> VAEConfig:
    return VAEConfig(image_size=16, latent_dim=4, channels=(4, 8), blocks_per_level=1)


@pytest.fixture
def tiny_model(tiny_config) -> ConvVAE:
    torch.manual_seed(0)
    return ConvVAE(tiny_config).eval()


@pytest.fixture
def tiny_batch() -> torch.Tensor:
    """Eight 16x16 grey images in [0, 1]: bright squares at different places."""
    x = torch.zeros(8, 1, 16, 16)
    for i in range(8):
        r, c = 2 + (i % 4) * 2, 2 + (i // 4) * 5
        x[i, 0, r : r + 6, c : c + 6] = 1.0
    return x


@pytest.fixture
def checkpoint_writer():
    return write_checkpoint


@pytest.fixture(autouse=True)
def isolated_hf_cache(tmp_path, monkeypatch):
    """Every test gets its own empty HF cache, online mode, no Hub repo and the CPU.

    huggingface_hub reads these variables once, at import, into ``huggingface_hub.constants``, so the
    module attributes are patched as well as the environment.
    """
    import huggingface_hub.constants as hf_constants

    hf_home = tmp_path / "hf_home"
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_HUB_CACHE", str(hf_home / "hub"))
    monkeypatch.setattr(hf_constants, "HF_HOME", str(hf_home))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("VAE_DEMO_HUB_REPO", raising=False)
    monkeypatch.delenv("VAE_DEMO_HUB_REVISION", raising=False)
    monkeypatch.setenv("VAE_DEMO_DEVICE", "cpu")
    yield hf_home


def folder_run(tmp_path: Path, name: str, images: int = 12, batch_size: int = 2) -> tuple[Path, Path]:
    """A folder of grey images and a tiny ``dataset: folder`` run config: (image folder, config path)."""
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(images):
        Image.new("L", (24, 20), 20 * i).save(folder / f"{i:02d}.png")
    config = tmp_path / f"{name}.json"
    config.write_text(
        json.dumps(
            {
                "model": {
                    "image_size": 16,
                    "in_channels": 1,
                    "latent_dim": 4,
                    "channels": [4, 8],
                    "likelihood": "gaussian",
                    "name": name,
                },
                "dataset": "folder",
                "batch_size": batch_size,
                "binarize": False,
                "eval_k": 0,
            }
        )
    )
    return folder, config


@contextlib.contextmanager
def running_app(tmp: Path, extra_env: dict[str, str] | None = None):
    """``python app.py`` on a free loopback port, offline, on the CPU (``extra_env`` added to its environment):
    yields (url, process); its output goes to ``tmp / "app.log"``."""
    port = free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(tmp / "gradio"),
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp / "hf_home"),
        "VAE_DEMO_DEVICE": "cpu",
        "TQDM_DISABLE": "1",
        "OMP_NUM_THREADS": "1",  # tiny models; a shared CPU makes extra threads much slower
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    env.pop("VAE_DEMO_HUB_REPO", None)
    log_path = tmp / "app.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"app.py did not answer {url} within 120 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
