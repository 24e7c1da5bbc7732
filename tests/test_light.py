"""The light-and-colour family: its degradations, the LightVAE, a training smoke run and serving."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from vae_demo.cli import main
from vae_demo.core.hub import load_checkpoint
from vae_demo.light.model import LightConfig, LightVAE, output_curve, upsample
from vae_demo.light.pipeline import (
    LIGHT_DEGRADATIONS,
    LightMix,
    cast_gains,
    colour_cast,
    darken,
    haze,
    linear_to_srgb,
    sample_light_degradation,
    srgb_to_linear,
)

TINY = LightConfig(name="tiny-light", thumb_size=32, widths=(8, 16), global_width=16, latent_dim=4, posterior_width=8)
LEVELS = {"lowlight": 3.0, "haze": 0.5, "colour_cast": 0.6, "light_auto": 0.0}


def smooth_photo(seed: int, h: int = 40, w: int = 56) -> torch.Tensor:
    """A (3, h, w) image in [0, 1] with smooth colour gradients and some texture."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand((1, 3, 4, 5), generator=g)
    base = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)[0]
    return (0.85 * base + 0.15 * torch.rand((3, h, w), generator=g)).clamp(0, 1)


def tiny_model(seed: int = 0) -> LightVAE:
    """A tiny LightVAE whose output layers are random (not the identity they start at)."""
    torch.manual_seed(seed)
    model = LightVAE(TINY)
    with torch.no_grad():
        model.coeffs_out.weight.normal_(0, 0.3)
        model.curve[-1].weight.normal_(0, 0.3)
    return model.eval()


def test_srgb_curve_round_trip():
    x = torch.linspace(0, 1, 1001)
    assert torch.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-5)
    assert srgb_to_linear(torch.tensor(0.5)).item() == pytest.approx(0.2140, abs=1e-4)


@pytest.mark.parametrize("name", list(LIGHT_DEGRADATIONS))
def test_degradations_are_seeded_and_keep_shapes(name):
    x = torch.stack([smooth_photo(0), smooth_photo(1)])  # (2, 3, 40, 56)
    runs = [LIGHT_DEGRADATIONS[name](x, LEVELS[name], torch.Generator().manual_seed(s)) for s in (5, 5, 6)]
    assert runs[0].shape == x.shape and runs[0].dtype == x.dtype
    assert runs[0].min() >= 0 and runs[0].max() <= 1
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    single = LIGHT_DEGRADATIONS[name](x[0], LEVELS[name], torch.Generator().manual_seed(5))
    assert single.shape == x[0].shape


def test_darken_has_the_sensor_noise_of_its_exposure():
    grey = torch.full((1, 3, 128, 128), 0.5)  # linear 0.214
    out = darken(grey, 3.0, torch.Generator().manual_seed(0), photons=1000.0, read_noise=2.0)
    lin = srgb_to_linear(out)
    electrons = 0.214 * 1000 / 8  # ~26.8 e-: Poisson variance 26.8, plus read noise 2^2
    assert lin.mean().item() == pytest.approx(0.214 / 8, rel=0.03)
    assert lin.std().item() == pytest.approx(math.sqrt(electrons + 4) / 1000, rel=0.05)
    clean = darken(grey, 3.0, photons=0)
    assert torch.allclose(srgb_to_linear(clean), torch.full_like(grey, 0.214 / 8), atol=2e-4)


def test_colour_cast_keeps_luminance_and_haze_lifts_the_blacks():
    gains = cast_gains(1.0, 0.0)  # amber
    assert gains[0] > gains[1] > gains[2]
    assert (gains * torch.tensor([0.2126, 0.7152, 0.0722])).sum().item() == pytest.approx(1.0, abs=1e-6)
    grey = torch.full((3, 8, 8), 0.4)
    tinted = colour_cast(grey, 0.6, torch.Generator().manual_seed(0))
    assert tinted[:, 0, 0].std() > 0.02  # no longer grey
    black = torch.zeros(3, 16, 16)
    assert haze(black, 0.5).min() > 0.3


def test_training_mix_draws_single_and_combined_effects():
    x = smooth_photo(0)[None].expand(24, -1, -1, -1)
    g = torch.Generator().manual_seed(0)
    out = sample_light_degradation(x, g, identity_prob=0.25)
    changed = (out - x).abs().flatten(1).amax(1) > 1e-6
    assert 0 < int(changed.sum()) < 24  # some untouched, most degraded


def test_the_mix_shares_are_honoured_and_uneven_light_varies_across_the_picture():
    grey = torch.full((48, 3, 32, 32), 0.5)
    only_dark = LightMix(cast_prob=0.0, haze_prob=0.0, dark_prob=1.0, uneven_prob=1.0, uneven_stops=2.0)
    out = sample_light_degradation(grey, torch.Generator().manual_seed(0), mix=only_dark)
    lum = F.avg_pool2d(out.mean(1, keepdim=True), 8).flatten(1)  # (48, 16) block means: the noise averaged out
    over = lum.mean(1) > 0.5  # the 15% over-exposed draws are even
    spread = (lum.amax(1) - lum.amin(1))[~over]
    assert int(over.sum()) < 24 and float(spread.median()) > 0.05, "one grey picture lit unevenly"
    even = sample_light_degradation(grey, torch.Generator().manual_seed(0), mix=LightMix(cast_prob=0.0, haze_prob=0.0))
    assert float((F.avg_pool2d(even.mean(1, keepdim=True), 8).flatten(1).std(1)).median()) < 0.02


def test_fused_output_curve_and_fast_upsampling_are_exact():
    identity = torch.linspace(0, 1, 17).expand(2, 3, 17)
    v = torch.rand(2, 3, 50, 60) ** 3
    assert (output_curve(v, identity) - linear_to_srgb(v)).abs().max() < 1e-4
    grid = torch.randn(2, 12, 5, 7)
    assert torch.allclose(upsample(grid, (40, 56)), F.interpolate(grid, size=(40, 56), mode="bilinear"), atol=1e-5)


def test_forward_shapes_and_kl():
    model = tiny_model()
    x, y = torch.rand(3, 3, 32, 32), torch.rand(3, 3, 32, 32)
    out = model(x, y)
    assert out.recon.shape == out.mode.shape == (3, 3, 32, 32)
    assert out.posterior.mean.shape == out.prior.mean.shape == (3, 4)
    assert (out.posterior.kl(out.prior) > 0).all()


def test_starts_near_the_identity():
    y = smooth_photo(2)
    assert (LightVAE(TINY).enhance(y).mode - y).abs().max() < 0.05


def test_enhance_returns_mode_samples_and_std_at_full_resolution():
    model = tiny_model()
    y = smooth_photo(3, 70, 50)
    r = model.enhance(y, samples=3, generator=torch.Generator().manual_seed(0))
    assert r.mode.shape == (3, 70, 50) and r.samples.shape == (3, 3, 70, 50) and r.std.shape == (3, 70, 50)
    again = model.enhance(y, samples=3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(r.samples, again.samples)
    assert r.std.mean() > 0  # the prior's draws differ
    assert model.enhance(y).samples is None


def test_a_black_photo_stays_black():
    model = tiny_model(1)
    black = torch.zeros(2, 3, 48, 64)
    r = model.enhance(black, samples=4, generator=torch.Generator().manual_seed(0))
    assert r.mode.abs().max() == 0 and r.samples.abs().max() == 0


def test_save_and_load_round_trip(tmp_path):
    model = tiny_model()
    model.save_pretrained(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(model.config.to_dict()))
    loaded = load_checkpoint(tmp_path / "ckpt", "cpu")
    assert isinstance(loaded, LightVAE) and loaded.config == model.config
    y = smooth_photo(4)
    assert torch.allclose(loaded.enhance(y).mode, model.enhance(y).mode, atol=1e-6)


def test_train_three_steps(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "train" / "CBSD432"
    folder.mkdir(parents=True)
    # 106005.jpg is in the validation split: the run must validate on it and never train on it
    for i, name in enumerate(["a.png", "b.png", "c.png", "106005.jpg"]):
        image = (smooth_photo(i, 48, 64).permute(1, 2, 0).numpy() * 255).astype("uint8")
        Image.fromarray(image).save(folder / name)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"family": "light", "model": TINY.to_dict(), "batch_size": 2}))
    args = ["train", "--config", str(config), "--data", str(tmp_path / "train"), "--out", str(tmp_path / "out")]
    main([*args, "--max-steps", "3", "degrade_size=40", "steps_per_epoch=3", "val_images=1", "trainer.warmup_steps=1"])
    summary = json.loads((tmp_path / "out" / "training_summary.json").read_text())
    assert summary["steps"] == 3 and "split train: 3 photos; validation: 1" in summary["data"]
    assert summary["validation"][-1]["lowlight_psnr"] > 0
    model = load_checkpoint(tmp_path / "out", "cpu")
    assert isinstance(model, LightVAE) and model.config.thumb_size == 32
    assert (tmp_path / "out" / "README.md").read_text().startswith("---\nlibrary_name: vae-demo")


def test_the_run_config_parses():
    from vae_demo.core.config import Config
    from vae_demo.light.train import LightRunConfig

    run = LightRunConfig.from_json(Path(__file__).resolve().parents[1] / "configs" / "light-vae.json")
    assert isinstance(run, Config) and run.model.name == "light-vae" and run.family == "light"


def test_serving_keeps_the_photo_luminance_for_a_colour_cast():
    from vae_demo.light.serving import enhance_light

    image = (smooth_photo(5) * 255).round().to(torch.uint8)
    r = enhance_light(tiny_model(), image, "colour_cast", samples=2, generator=torch.Generator().manual_seed(0))
    luma = torch.tensor([0.2126, 0.7152, 0.0722]).view(3, 1, 1)
    y_in = (srgb_to_linear(image.float() / 255) * luma).sum(0)
    y_out = (srgb_to_linear(r.mode) * luma).sum(0)
    assert (y_in - y_out).abs().max() < 0.01
    assert r.samples.shape == (2, 3, 40, 56) and r.std.shape == (3, 40, 56) and "colour only" in r.how
    with pytest.raises(ValueError, match="unknown light problem"):
        enhance_light(tiny_model(), image, "blur")


def test_serving_chains_the_denoiser_after_brightening_a_noisy_photo():
    from vae_demo.light.serving import enhance_light
    from vae_demo.restoration.model import RestorationConfig, RestorationVAE

    torch.manual_seed(0)
    denoiser = RestorationVAE(RestorationConfig(name="tiny-denoise", widths=(4, 8), blocks=(1, 1), posterior_width=4))
    noisy = smooth_photo(6, 64, 64) + 0.1 * torch.randn(3, 64, 64, generator=torch.Generator().manual_seed(0))
    r = enhance_light(LightVAE(TINY).eval(), noisy.clamp(0, 1), "lowlight", samples=2, denoiser=denoiser)
    assert r.noise_sigma is not None and "tiny-denoise" in r.how
    assert r.mode.shape == (3, 64, 64) and r.samples.shape == (2, 3, 64, 64)
    plain = enhance_light(LightVAE(TINY).eval(), noisy.clamp(0, 1), "lowlight", denoiser=None)
    assert plain.noise_sigma is None


class _FixedExposures:
    """A stand-in LightVAE whose mode is the photo itself and whose draws are the photo at fixed gains."""

    def __init__(self, gains: list[float]) -> None:
        self.gains, self.config = gains, LightConfig(name="fixed")

    def enhance(self, y, samples=0, generator=None):
        from vae_demo.light.model import LightEnhancement

        draws = torch.stack([linear_to_srgb(srgb_to_linear(y) * g) for g in self.gains[:samples]]) if samples else None
        return LightEnhancement(y.clone(), draws, None)


def test_too_dark_takes_the_brightest_plausible_exposure_when_the_mode_does_not_brighten():
    from vae_demo.light.serving import EXPOSURE_DRAWS, enhance_light

    dark = smooth_photo(7, 32, 32) * 0.3
    gains = [0.8, 1.5, 3.0, 1.1, 0.9, 2.0, 1.2, 1.0][:EXPOSURE_DRAWS]
    r = enhance_light(_FixedExposures(gains), dark, "lowlight", denoiser=None)
    expected = linear_to_srgb(srgb_to_linear(dark) * 3.0)
    assert torch.allclose(r.mode, expected) and f"brightest of {EXPOSURE_DRAWS} exposures" in r.how
    none_brighter = enhance_light(_FixedExposures([0.5] * EXPOSURE_DRAWS), dark, "lowlight", denoiser=None)
    assert torch.allclose(none_brighter.mode, dark, atol=1e-6) and "brightest" not in none_brighter.how
    auto = enhance_light(_FixedExposures(gains), dark, "light_auto", denoiser=None)
    assert torch.equal(auto.mode, dark), "only Too dark asks for a brighter photo"


def test_too_dark_keeps_only_the_exposure_one_gain_per_image():
    from vae_demo.light.serving import enhance_light

    dark = smooth_photo(8) * 0.25
    g = torch.Generator().manual_seed(0)
    r = enhance_light(tiny_model(), dark, "lowlight", samples=3, generator=g, denoiser=None)
    for out in (r.mode, *r.samples):
        ratio = srgb_to_linear(out) / srgb_to_linear(dark).clamp(min=1e-4)  # (3, H, W)
        seen = (out < 0.999) & (srgb_to_linear(dark) > 1e-3)  # neither clipped nor near black
        assert ratio[seen].std() < 1e-3 * ratio[seen].mean(), "one gain for every pixel and channel"
    gains = [float((srgb_to_linear(s) / srgb_to_linear(dark).clamp(min=1e-4)).median()) for s in r.samples]
    assert max(gains) - min(gains) > 1e-3, "each sample keeps its own exposure"
    assert "exposure kept" in r.how
