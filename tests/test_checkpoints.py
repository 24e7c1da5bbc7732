"""The bundled weights: they load, stay small, match their run configs, and actually reconstruct.

Skipped, with the reason, while checkpoints/NAME/model.safetensors has not been trained yet.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import torch
from conftest import MNIST_RAW, ROOT, SHARED_DATA, bundled_weights, skip_without_bundled
from safetensors.torch import load_file

from vae_demo import hub, inference
from vae_demo.examples import digit_image, face_image
from vae_demo.hub import MODEL_NAMES, load_model
from vae_demo.images import to_model_input
from vae_demo.model import VAEConfig
from vae_demo.tasks import image_metrics

pytestmark = pytest.mark.needs_checkpoints
MAX_FILE_BYTES = 10_000_000  # "under 10 MB", in decimal megabytes to be strict


@pytest.fixture(scope="module")
def models():
    return {}


def get(models, name):
    if name not in models:
        models[name] = load_model(name, device="cpu")
    return models[name]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_bundled_model_loads(name, models):
    if not bundled_weights(name).is_file():
        pytest.skip(f"bundled weights missing: {bundled_weights(name)}")
    model = get(models, name)
    assert model.config.name == name
    assert not model.training
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_every_bundled_file_is_under_10_mb():
    files = [f for f in hub.BUNDLED_DIR.rglob("*") if f.is_file()] if hub.BUNDLED_DIR.is_dir() else []
    if not files:
        pytest.skip(f"no bundled checkpoint files in {hub.BUNDLED_DIR}")
    too_big = {str(f): f"{f.stat().st_size / 1e6:.1f} MB" for f in files if f.stat().st_size >= MAX_FILE_BYTES}
    assert not too_big, f"files over 10 MB: {too_big}"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_config_matches_the_run_config(name):
    config_path = hub.BUNDLED_DIR / name / "config.json"
    if not config_path.is_file():
        pytest.skip(f"bundled config missing: {config_path}")
    run_config = json.loads((ROOT / "configs" / f"{name}.json").read_text())["model"]
    bundled = json.loads(config_path.read_text())
    assert VAEConfig.from_dict(bundled) == VAEConfig.from_dict(run_config)


@skip_without_bundled("mnist-vae-2d")
def test_2d_model_ships_its_test_latents():
    data = load_file(hub.BUNDLED_DIR / "mnist-vae-2d" / "test_latents.safetensors")
    mu, labels = data["mu"], data["labels"]
    assert mu.ndim == 2 and mu.shape == (len(labels), 2)
    assert torch.isfinite(mu).all()
    assert set(labels.tolist()) <= set(range(10))


def mnist_test_digits(n: int) -> torch.Tensor:
    """The first n MNIST test images, read straight from ../shared (no cache written)."""
    with gzip.open(MNIST_RAW / "t10k-images-idx3-ubyte.gz", "rb") as f:
        data = f.read(16 + n * 28 * 28)
    a = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, 28, 28)
    return torch.from_numpy(a.astype(np.float32) / 255.0)


def reference_digits() -> torch.Tensor:
    if (MNIST_RAW / "t10k-images-idx3-ubyte.gz").is_file():
        return mnist_test_digits(20)
    # a fresh clone without ../shared: the typed example digits, prepared as the app does
    return torch.cat([to_model_input(digit_image(d), 28, 1, digit=True) for d in range(10)])


def mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b) ** 2).mean())


@skip_without_bundled("mnist-vae")
def test_mnist_vae_reconstructs_better_than_trivial_guesses(models):
    model = get(models, "mnist-vae")
    x = reference_digits()
    recon = inference.reconstruct(model, x)
    blank, mean_image = torch.zeros_like(x), x.mean(0, keepdim=True).expand_as(x)
    assert mse(recon, x) < mse(blank, x)
    assert mse(recon, x) < mse(mean_image, x)
    for i in range(len(x)):  # every single digit, not just on average
        assert mse(recon[i], x[i]) < mse(blank[i], x[i]), f"digit {i}"


@skip_without_bundled("mnist-vae")
def test_mnist_vae_reconstructs_the_typed_example_digits(models):
    model = get(models, "mnist-vae")
    x = torch.cat([to_model_input(digit_image(d), 28, 1, digit=True) for d in range(10)])
    assert mse(inference.reconstruct(model, x), x) < mse(torch.zeros_like(x), x)


@skip_without_bundled("faces-vae")
def test_faces_vae_reconstruction_is_more_similar_than_a_blank(models):
    model = get(models, "faces-vae")
    x = to_model_input(face_image(), model.config.image_size, model.config.in_channels)
    recon = inference.reconstruct(model, x)
    _, ssim_recon = image_metrics(x, recon)
    _, ssim_blank = image_metrics(x, torch.zeros_like(x))
    _, ssim_mid = image_metrics(x, torch.full_like(x, float(x.mean())))
    assert ssim_recon > ssim_blank and ssim_recon > ssim_mid


@skip_without_bundled("faces-vae")
@pytest.mark.skipif(not (SHARED_DATA / "olivetti-faces").is_dir(), reason="Olivetti faces not in ../shared/data")
def test_faces_vae_reconstructs_held_out_people_better_than_the_mean_face(models):
    """The 5 test subjects were never seen in training: the VAE must beat the average training face."""
    from vae_demo.data import load_olivetti, split_by_subject

    model = get(models, "faces-vae")
    subjects = tuple(json.loads((ROOT / "configs" / "faces-vae.json").read_text())["test_subjects"])
    images, targets = load_olivetti(SHARED_DATA / "olivetti-faces")
    train_idx, test_idx = split_by_subject(targets, subjects)
    x, mean_face = images[test_idx], images[train_idx].mean(0, keepdim=True)
    recon = inference.reconstruct(model, x)
    ssim_recon = np.mean([image_metrics(x[i : i + 1], recon[i : i + 1])[1] for i in range(len(x))])
    ssim_mean = np.mean([image_metrics(x[i : i + 1], mean_face)[1] for i in range(len(x))])
    assert ssim_recon > ssim_mean + 0.05, (ssim_recon, ssim_mean)
