"""The logic behind "Learn from this photo alone" (vae_demo.demo.fit_photo), without Gradio: frames while it
learns, Stop, the bundled DivNoising model present or absent, big photos, the noise model it is told."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import bundled_marks
from PIL import Image

from vae_demo.demo import fit_photo as fp
from vae_demo.restoration.divnoising import DivNoisingConfig, DivNoisingVAE
from vae_demo.restoration.noise_models import GaussianNoise, PoissonGaussianNoise
from vae_demo.restoration.problems import DENOISE_MODEL

pytestmark = bundled_marks(DENOISE_MODEL)  # the results show the supervised VAE beside the fit


@pytest.fixture
def small_photo(tmp_path):
    from skimage import data

    path = tmp_path / "cat.png"
    Image.fromarray(data.chelsea()).resize((96, 72), Image.BICUBIC).save(path)
    return str(path)


@pytest.fixture
def no_bundled(monkeypatch):
    monkeypatch.setattr(fp, "bundled_model", lambda: None)


@pytest.fixture
def tiny_bundled(monkeypatch):
    torch.manual_seed(0)
    config = DivNoisingConfig(
        widths=(8, 16), latent_channels=4, latent_levels=2, noise_model={"kind": "gaussian", "sigma": 25}
    )
    model = DivNoisingVAE(config).eval()
    monkeypatch.setattr(fp, "bundled_model", lambda: model)
    return model


def run(**kwargs) -> list[fp.FitFrame]:
    return list(fp.fit_photo(**{"seconds": 1.5, "k": 2, "every": 0.3, **kwargs}))


def test_frames_while_learning_then_the_results(small_photo, no_bundled):
    frames = run(image=small_photo)
    learning, last = frames[:-1], frames[-1]
    assert learning[0].status.startswith("Learning from this photo alone") and not any(f.done for f in learning)
    assert learning[-1].status.startswith("Learned for")
    assert last.done and last.status.startswith("Done: learned from this photo alone")
    assert last.estimate.shape == last.classical.shape == last.supervised.shape == (72, 96, 3)
    assert len(last.gallery) == 2 and last.heat.shape[:2] == (72, 96) and last.download.endswith(".png")
    rows = {r[0]: r[1:] for r in last.rows}
    assert rows["noise model: Gaussian, sigma 25 (told)"] == [None, None]
    assert all(
        rows[k][0] is not None for k in ("degraded input", "classical: nlm", f"supervised VAE ({DENOISE_MODEL}, mode)")
    )
    assert rows["DivNoising, this photo alone (mean of 16 samples)"][0] is not None
    assert rows["DivNoising, this photo alone (posterior means, x8)"][0] is not None  # the estimate shown
    assert last.bundled is None and "is not installed" in last.status


def test_the_bundled_model_is_shown_when_installed(small_photo, tiny_bundled):
    last = run(image=small_photo, noise="real")[-1]
    assert last.bundled.shape == (72, 96, 3) and "bundled DivNoising, only noisy copies" in last.status
    assert any("estimated from the photo" in r[0] for r in last.rows)
    assert "No PSNR / SSIM" in last.status  # a real photo: no clean original, so no rows of empty cells
    assert [r[0] for r in last.rows if r[1] is None] == [r[0] for r in last.rows if r[0].startswith("noise model")]
    simulated = run(image=small_photo)[-1]
    assert next(r for r in simulated.rows if r[0].startswith("DivNoising, bundled divnoising-vae"))[1] is not None
    poisson = run(image=small_photo, noise="poisson", level=30)[-1]
    assert poisson.bundled is None and "knows Gaussian noise only" in poisson.status


def test_stop_ends_the_learning_and_still_shows_the_result(small_photo, no_bundled):
    calls = []
    frames = list(
        fp.fit_photo(
            image=small_photo, seconds=300, k=0, every=0.1, should_stop=lambda: calls.append(1) or len(calls) > 2
        )
    )
    assert frames[-1].done and frames[-1].status.startswith("Stopped early: learned") and frames[-1].gallery == []
    steps = {r[0]: r[1] for r in frames[-1].rows}["training steps on this photo"]
    assert 1 <= steps < 50


def test_a_big_photo_is_learned_from_in_its_centre(tmp_path, no_bundled):
    path = tmp_path / "wide.png"
    Image.new("RGB", (1500, 40), (120, 90, 60)).save(path)
    last = run(image=str(path), seconds=1, k=0)[-1]
    assert last.estimate.shape == (40, 1024, 3) and "central 1024x1024 pixels" in last.status


def test_the_noise_model_is_the_noise_that_was_added():
    y = torch.rand(1, 1, 64, 64)
    assert fp.noise_model_for("gaussian", 25, False, y)[0] == GaussianNoise(25 / 255)
    assert fp.noise_model_for("poisson", 40, False, y)[0] == PoissonGaussianNoise(1 / 40, 0.0)
    assert "estimated from the photo" in fp.noise_model_for("gaussian", 25, True, y)[1]
    with pytest.raises(ValueError, match="salt-and-pepper noise is not one"):
        fp.noise_model_for("salt_and_pepper", 10, False, y)


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [({"seconds": 1000}, "between 1 and 300"), ({"k": 17}, "between 0 and 16"), ({"seconds": math.inf}, "finite")],
)
def test_out_of_range_inputs_are_a_sentence(kwargs, phrase):
    with pytest.raises(ValueError, match=phrase):
        next(fp.fit_photo(**kwargs))


def test_a_second_fit_of_the_same_noisy_photo_reuses_the_other_methods(small_photo, no_bundled, monkeypatch):
    """The classical method and the supervised VAE do not depend on the fit: run once per noisy photo."""
    calls = []
    real = fp.photos.run_vae
    monkeypatch.setattr(fp.photos, "run_vae", lambda *a, **kw: calls.append(kw["level"]) or real(*a, **kw))
    first, again = run(image=small_photo, seconds=1)[-1], run(image=small_photo, seconds=1)[-1]
    assert calls == [25.0], "the same noisy photo: the supervised VAE ran once"
    assert (first.classical == again.classical).all() and (first.supervised == again.supervised).all()
    other = run(image=small_photo, seconds=1, level=40)[-1]
    assert calls == [25.0, 40.0] and not (other.supervised == first.supervised).all()
