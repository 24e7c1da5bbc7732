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

from vae_demo import catalog
from vae_demo.core import hub
from vae_demo.core.hub import load_model
from vae_demo.core.images import to_model_input
from vae_demo.demo.common import image_metrics
from vae_demo.demo.examples import digit_image, face_image
from vae_demo.generative import inference
from vae_demo.generative.model import VAEConfig

pytestmark = pytest.mark.needs_checkpoints
MAX_FILE_BYTES = 10_000_000  # "under 10 MB", in decimal megabytes to be strict


@pytest.fixture(scope="module")
def models():
    return {}


def get(models, name):
    if name not in models:
        models[name] = load_model(name, device="cpu")
    return models[name]


@pytest.mark.parametrize("name", catalog.models("generative"))
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


@pytest.mark.parametrize("name", catalog.models("generative"))
def test_config_matches_the_run_config(name):
    config_path = hub.BUNDLED_DIR / name / "config.json"
    if not config_path.is_file():
        pytest.skip(f"bundled config missing: {config_path}")
    run_config = json.loads((ROOT / "configs" / f"{name}.json").read_text())["model"]
    bundled = json.loads(config_path.read_text())
    assert VAEConfig.from_dict(bundled) == VAEConfig.from_dict(run_config)


RESTORATION_CONFIGS = sorted(
    p.stem for p in (ROOT / "configs").glob("*.json") if json.loads(p.read_text()).get("family") == "restoration"
)


@pytest.mark.parametrize("name", RESTORATION_CONFIGS)
def test_restoration_config_builds_the_shipped_checkpoints_shapes(name):
    """configs/NAME.json (or a stage of the recipe, like denoise-vae-stage1) builds its model's shipped
    checkpoint: the same config, and a model with the same tensors."""
    from vae_demo.restoration.model import RestorationConfig, RestorationVAE

    raw = json.loads((ROOT / "configs" / f"{name}.json").read_text())["model"]
    model_name = raw["name"]
    if not bundled_weights(model_name).is_file():
        pytest.skip(f"no shipped checkpoint for configs/{name}.json yet: {bundled_weights(model_name)}")
    run_config = RestorationConfig.from_dict(raw)
    shipped_config = RestorationConfig.from_dict(json.loads((hub.BUNDLED_DIR / model_name / "config.json").read_text()))
    assert run_config == shipped_config
    built = {k: tuple(v.shape) for k, v in RestorationVAE(run_config).state_dict().items()}
    shipped = {k: tuple(v.shape) for k, v in load_file(bundled_weights(model_name)).items()}
    assert built == shipped


@pytest.mark.parametrize("name", ["denoise-vae", "codec-vae", "light-vae"])
def test_a_staged_recipe_starts_each_stage_where_the_one_before_ends(name):
    """NAME-stage1, NAME-stage2, ..., NAME: stage 1 from scratch, every later stage from the folder the one before
    writes by default, the same model throughout (the codec's latent may only grow, ``codec.train.widen``, and its
    means head only be added, ``codec.train.zero_means``)."""
    stages = sorted((ROOT / "configs").glob(f"{name}-stage*.json")) + [ROOT / "configs" / f"{name}.json"]
    configs = [json.loads(path.read_text()) for path in stages]
    assert len(configs) > 1 and configs[0].get("init_from") is None
    for before, after in zip(configs, configs[1:], strict=False):
        assert after["init_from"] == f"{before['trainer']['out_dir']}/final"  # vae_demo.cli's default --out
        assert {**before["model"], "M": 0, "means": 0} == {**after["model"], "M": 0, "means": 0}
        assert before["model"].get("M", 0) <= after["model"].get("M", 0)
        assert before["model"].get("means", False) <= after["model"].get("means", False)  # h_m may only be added


def test_every_restoration_config_is_found():
    assert {"denoise-vae", "sr-vae", "jpeg-vae", "deblur-vae"} <= set(RESTORATION_CONFIGS)


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
    x = to_model_input(face_image(), model.config.image_size, model.config.in_channels, face=True)
    recon = inference.reconstruct(model, x)
    _, ssim_recon = image_metrics(x, recon)
    _, ssim_blank = image_metrics(x, torch.zeros_like(x))
    _, ssim_mid = image_metrics(x, torch.full_like(x, float(x.mean())))
    assert ssim_recon > ssim_blank and ssim_recon > ssim_mid


@skip_without_bundled("faces-vae")
@pytest.mark.skipif(not (SHARED_DATA / "olivetti-faces").is_dir(), reason="Olivetti faces not in ../shared/data")
def test_faces_vae_reconstructs_held_out_people_better_than_the_mean_face(models):
    """The 5 test subjects were never seen in training: the VAE must beat the average training face."""
    from vae_demo.generative.data import load_olivetti, split_by_subject

    model = get(models, "faces-vae")
    subjects = tuple(json.loads((ROOT / "configs" / "faces-vae.json").read_text())["test_subjects"])
    images, targets = load_olivetti(SHARED_DATA / "olivetti-faces")
    train_idx, test_idx = split_by_subject(targets, subjects)
    x, mean_face = images[test_idx], images[train_idx].mean(0, keepdim=True)
    recon = inference.reconstruct(model, x)
    ssim_recon = np.mean([image_metrics(x[i : i + 1], recon[i : i + 1])[1] for i in range(len(x))])
    ssim_mean = np.mean([image_metrics(x[i : i + 1], mean_face)[1] for i in range(len(x))])
    assert ssim_recon > ssim_mean + 0.05, (ssim_recon, ssim_mean)


@skip_without_bundled("faces-vae")
def test_refining_a_face_posterior_raises_its_elbo_and_its_reconstruction(models):
    """The app's face example: 50 steps on its ELBO beat the encoder's guess, by the ELBO and by SSIM."""
    from vae_demo.core.images import to_face_input
    from vae_demo.generative.losses import reconstruction_log_prob

    model = get(models, "faces-vae")
    x, _ = to_face_input(face_image(), model.config.image_size)

    def elbo(q) -> float:  # 64 draws
        g = torch.Generator().manual_seed(1)
        with torch.no_grad():
            out = [model.decode(q.sample(g)) for _ in range(64)]
            log_px = torch.stack([reconstruction_log_prob(x, o, "laplace", model.log_scale) for o in out])
        return float(log_px.mean() - q.kl(dims=(1,)).sum())

    encoder, refined = model.posterior(x), inference.refine_posterior(model, x, steps=50)
    assert elbo(refined) > elbo(encoder) + 50, (elbo(refined), elbo(encoder))
    ssim = [image_metrics(x, model.decode_mean(q.mean))[1] for q in (encoder, refined)]
    assert ssim[1] > ssim[0] + 0.02, ssim


# --- the restoration VAE ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def restorer():
    return load_model("denoise-vae", device="cpu")


def astronaut_crop(grey: bool = False) -> torch.Tensor:
    """A 256 x 256 crop of scikit-image's astronaut (not from the training data)."""
    from vae_demo.demo.examples import photo_example

    a = np.asarray(photo_example("astronaut").convert("L" if grey else "RGB"), dtype=np.float32)[128:384, 128:384] / 255
    t = torch.from_numpy(a)
    return (t[None] if grey else t.permute(2, 0, 1))[None].contiguous()


@skip_without_bundled("denoise-vae")
def test_the_denoiser_config_matches_the_run_config():
    from vae_demo.restoration.model import RestorationConfig

    bundled = json.loads((hub.BUNDLED_DIR / "denoise-vae" / "config.json").read_text())
    run_config = json.loads((ROOT / "configs" / "denoise-vae.json").read_text())["model"]
    assert RestorationConfig.from_dict(bundled) == RestorationConfig.from_dict(run_config)


@skip_without_bundled("denoise-vae")
@pytest.mark.parametrize("grey", [False, True])
def test_the_denoiser_removes_noise_and_beats_non_local_means(restorer, grey):
    from vae_demo.restoration.classical import nlm
    from vae_demo.restoration.degradations import gaussian_noise
    from vae_demo.restoration.restore import restore

    clean = astronaut_crop(grey)
    noisy = gaussian_noise(clean, 25, torch.Generator().manual_seed(0))
    out = restore(restorer, noisy, 25)
    assert out.mode.shape == clean.shape
    psnr_noisy, psnr_vae = image_metrics(clean, noisy)[0], image_metrics(clean, out.mode)[0]
    a = noisy[0].permute(1, 2, 0).numpy().astype(np.float64)
    baseline = torch.from_numpy(nlm(a[..., 0] if grey else a, 25).astype(np.float32))
    baseline = (baseline[None] if grey else baseline.permute(2, 0, 1))[None]
    assert psnr_vae > psnr_noisy + 8, (psnr_noisy, psnr_vae)
    assert psnr_vae > image_metrics(clean, baseline)[0], "the VAE beats non-local means"


@skip_without_bundled("denoise-vae")
def test_the_denoiser_latent_is_used_and_samples_differ(restorer):
    from vae_demo.restoration.degradations import gaussian_noise
    from vae_demo.restoration.restore import posterior_stats

    clean = astronaut_crop()
    noisy = gaussian_noise(clean, 25, torch.Generator().manual_seed(0))
    stats = posterior_stats(restorer, clean, noisy, 25, samples=4, generator=torch.Generator().manual_seed(0))
    # 256 x 256 pixels -> a 32 x 32 x 4 latent; free bits keep at least 0.25 nats per element in training
    assert stats["kl_per_image"] > 500, "no posterior collapse"
    assert 0.1 < stats["sample_std_255"] < 20
