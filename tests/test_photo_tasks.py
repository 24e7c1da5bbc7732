"""The Enhance and Denoise functions on a tiny restoration VAE: every problem, grey, big, bad values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from vae_demo.core import hub
from vae_demo.demo import photos
from vae_demo.restoration.model import RestorationConfig, RestorationVAE
from vae_demo.restoration.problems import PROBLEMS

TINY = RestorationConfig(widths=(4, 8), blocks=(1, 1), latent_channels=2, posterior_width=4)


@pytest.fixture(autouse=True)
def tiny_restorer(tmp_path, monkeypatch):
    """Tiny, untrained models as the 'bundled' checkpoints of every problem: these tests check plumbing, not quality."""
    from vae_demo.light.model import LightConfig, LightVAE

    torch.manual_seed(0)
    for name in {row.model for row in PROBLEMS.values()}:
        tiny = LightVAE(LightConfig(thumb_size=32, widths=(8, 16), global_width=16, latent_dim=2, posterior_width=8))
        (tiny if name == "light-vae" else RestorationVAE(TINY)).save_pretrained(tmp_path / "bundled" / name)
    monkeypatch.setattr(hub, "BUNDLED_DIR", tmp_path / "bundled")
    photos.get_restorer.cache_clear()
    yield
    photos.get_restorer.cache_clear()


def photo_file(tmp_path, size=(64, 48), mode="RGB", name="photo.png") -> str:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize(size, Image.BICUBIC).convert(mode)
    path = tmp_path / name
    img.save(path)
    return str(path)


def check_outputs(out: photos.PhotoResult, shape, k, reference=True):
    before, after = out.before_after
    assert before.shape == after.shape == out.classical.shape == out.vae.shape == shape
    assert len(out.gallery) == k
    if k:
        assert out.uncertainty is not None and out.uncertainty.ndim == 3
    rows, png = out.rows, out.download
    labels = [r[0] for r in rows]
    if reference:
        assert labels[0] == "degraded input" and labels[1].startswith("classical") and labels[2] == "VAE (mode)"
    else:  # no clean original: no PSNR / SSIM rows at all, one line that says why
        assert labels[0] == photos.NO_REFERENCE and "degraded input" not in labels
        numbers = [r[0] for r in rows if r[1] is not None or r[2] is not None]
        assert all(n.startswith(("noise level", "spread")) for n in numbers), "no metric without a reference"
    assert any(label.startswith("VAE result: ") for label in labels), "the table says how the VAE result was made"
    with Image.open(png) as img:
        assert img.size == (shape[1], shape[0])
    return rows


def how(rows) -> str:
    return next(r[0] for r in rows if r[0].startswith("VAE result: "))


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_enhance_every_problem_simulated(tmp_path, problem):
    out = photos.enhance(photo_file(tmp_path), problem, 0.5, simulate=True, k=2, seed=0)
    rows = check_outputs(out, (48, 64, 3), k=2)
    assert all(isinstance(r[1], float) and math.isfinite(r[1]) for r in rows[:4]), "PSNR of every image"


def test_enhance_default_example_runs():
    out = photos.enhance()
    check_outputs(out, (512, 512, 3), k=4)


@pytest.mark.parametrize(("problem", "scale"), [("x2", 2), ("x4", 4)])
def test_enhance_own_photo_enlarges_for_low_resolution(tmp_path, problem, scale):
    out = photos.enhance(photo_file(tmp_path, (40, 32)), problem, simulate=False, k=0)
    check_outputs(out, (32 * scale, 40 * scale, 3), k=0, reference=False)


def test_enlarging_too_far_is_refused(tmp_path):
    with pytest.raises(ValueError, match="exceed 4096"):
        photos.enhance(photo_file(tmp_path, (1200, 40)), "x4", simulate=False, k=0)


def test_grey_photo_stays_grey(tmp_path):
    out = photos.enhance(photo_file(tmp_path, mode="L"), "noise", k=2)
    check_outputs(out, (48, 64), k=2)
    assert out.gallery[0][0].ndim == 2, "grey samples"


def test_big_photo_is_tiled_and_sampled_at_its_centre(tmp_path):
    out = photos.enhance(photo_file(tmp_path, (1100, 1000)), "noise", 0.3, k=2)
    check_outputs(out, (1000, 1100, 3), k=2)
    assert max(out.gallery[0][0].shape) <= photos.SAMPLE_CROP


@pytest.mark.parametrize("call", [photos.enhance, photos.denoise_photo])
def test_photos_over_the_page_limit_are_scaled_down_and_the_table_says_so(tmp_path, monkeypatch, call):
    monkeypatch.setattr(photos, "PAGE_PIXELS", 2000)  # the 64x48 photo has 3072 pixels
    out = call(photo_file(tmp_path), k=2)
    check_outputs(out, (38, 51, 3), k=2)
    assert how(out.rows).endswith("on the 64x48 photo scaled down to 51x38 (0.002 megapixels)")


def test_touch_ups_change_the_result(tmp_path):
    plain = photos.enhance(photo_file(tmp_path), "noise", k=0)
    bright = photos.enhance(photo_file(tmp_path), "noise", k=0, brightness=1.4, saturation=0.0)
    assert bright.before_after[1].mean() > plain.before_after[1].mean()
    assert np.array_equal(bright.vae, plain.vae), "the VAE result itself is untouched"
    touched, png = photos.touch_up(plain.download, contrast=1.5)
    assert touched.shape == plain.vae.shape and png.endswith(".png")
    with pytest.raises(ValueError, match="run Enhance first"):
        photos.touch_up(None)


@pytest.mark.parametrize(("noise", "level"), [("gaussian", 25), ("poisson", 30), ("salt_and_pepper", 10)])
def test_denoise_photo_kinds(tmp_path, noise, level):
    rows = check_outputs(photos.denoise_photo(photo_file(tmp_path), noise, level, k=2), (48, 64, 3), k=2)
    assert rows[0][1] < 40, "the noisy input differs from the clean photo"


def test_denoise_real_noise_is_blind_and_has_no_psnr(tmp_path):
    out = photos.denoise_photo(photo_file(tmp_path), "real", k=1)
    rows = check_outputs(out, (48, 64, 3), k=1, reference=False)
    told = next(r for r in rows if r[0].startswith("noise level"))
    assert told[1] >= 0
    assert "estimated sigma" in how(rows) and "brightness and colour kept" in how(rows)


def test_auto_on_an_own_photo_is_the_blind_path_that_keeps_brightness_and_colour(tmp_path):
    """An untrained model paints anything; the app's Auto still keeps the photo's 16x16 averages."""
    path = photo_file(tmp_path, (96, 80))
    out = photos.enhance(path, "auto", simulate=False, k=0)
    rows = check_outputs(out, (80, 96, 3), k=0, reference=False)
    before, vae = out.before_after[0], out.vae
    shift = np.abs((vae.astype(float) - before.astype(float)).reshape(5, 16, 6, 16, 3).mean((1, 3)))
    assert np.percentile(shift, 99) <= 3
    assert "brightness and colour kept" in how(rows)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda p: photos.denoise_photo(p, "poisson", 30, k=2), "Anscombe transform (told peak 30"),
        (lambda p: photos.denoise_photo(p, "poisson", 30, blind=True, k=2), "estimated peak"),
        (lambda p: photos.denoise_photo(p, "salt_and_pepper", 10, k=2), "impulses and filled"),
        (lambda p: photos.denoise_photo(p, "gaussian", 25, k=2), "told sigma 25"),
        (lambda p: photos.enhance(p, "noise", 0.5, k=2, best=True), "averaged over 8 flips and turns"),
        (lambda p: photos.denoise_photo(p, "gaussian", 25, k=2, best=True), "averaged over 8 flips and turns"),
    ],
)
def test_the_table_says_how_the_vae_result_was_made(tmp_path, call, words):
    rows = check_outputs(call(photo_file(tmp_path)), (48, 64, 3), k=2)
    assert words in how(rows)


def test_best_quality_changes_the_vae_result_not_its_size(tmp_path):
    path = photo_file(tmp_path, (45, 37))
    plain, best = photos.enhance(path, "noise", k=0), photos.enhance(path, "noise", k=0, best=True)
    assert best.vae.shape == plain.vae.shape == (37, 45, 3)
    assert not np.array_equal(best.vae, plain.vae)


def test_blind_denoising_estimates_the_level(tmp_path):
    rows = photos.denoise_photo(photo_file(tmp_path, (128, 128)), "gaussian", 30, blind=True, k=0).rows
    told = next(r for r in rows if r[0].startswith("noise level"))
    assert 24 < told[1] < 36


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"problem": "sharpen"}, "Unknown problem"),
        ({"strength": 2.0}, "strength"),
        ({"strength": math.nan}, "finite"),
        ({"k": 100}, "samples"),
        ({"seed": -1}, "seed"),
        ({"brightness": math.inf}, "brightness"),
    ],
)
def test_enhance_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        photos.enhance(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise": "speckle"}, "Unknown noise"),
        ({"level": 500}, "noise level"),
        ({"noise": "poisson", "level": 0}, "noise level"),
    ],
)
def test_denoise_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        photos.denoise_photo(**kwargs)


def test_not_an_image_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    with pytest.raises(ValueError, match="not an image"):
        photos.enhance(str(bad))


def test_photos_over_the_limit_are_refused_with_their_size(tmp_path, monkeypatch):
    monkeypatch.setattr(photos, "MAX_PHOTO_PIXELS", 1000)
    with pytest.raises(ValueError, match="64x48 pixels .* up to 0 megapixels"):
        photos.enhance(photo_file(tmp_path))


def test_classical_method_is_skipped_for_very_big_photos(tmp_path, monkeypatch):
    monkeypatch.setattr(photos, "MAX_CLASSICAL_PIXELS", 1000)
    out = photos.enhance(photo_file(tmp_path), "noise", k=0)
    assert out.classical is None, "no picture that would pass for the method's result"
    assert any("skipped" in row[0] and "megapixels" in row[0] for row in out.rows)


@pytest.mark.parametrize("problem", ["x2", "x4"])
def test_simulated_low_resolution_keeps_the_photos_size(tmp_path, problem):
    """A 45x37 photo is not a multiple of 2 or 4: the simulated small image is padded, never cropped."""
    out = photos.enhance(photo_file(tmp_path, (45, 37)), problem, k=0)
    before, after = out.before_after
    assert before.shape[:2] == after.shape[:2] == out.vae.shape[:2] == (37, 45)
