"""DivNoising's noise models against closed forms, and a tiny model that learns from noisy patches."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from vae_demo.restoration.divnoising import (
    DivNoisingConfig,
    DivNoisingVAE,
    denoise,
    divnoising_loss,
    fitting,
    mode_x8,
)
from vae_demo.restoration.noise_models import GaussianNoise, PoissonGaussianNoise, estimate_noise_model

TINY = DivNoisingConfig(widths=(8, 16), latent_channels=4, latent_levels=2)


def test_noise_models_match_the_gaussian_closed_form():
    y, s = torch.rand(2, 1, 5, 5), torch.rand(2, 1, 5, 5)
    torch.testing.assert_close(GaussianNoise(0.1).log_prob(y, s), Normal(s, 0.1).log_prob(y))
    pg = PoissonGaussianNoise(gain=0.01, read=0.02)
    torch.testing.assert_close(pg.log_prob(y, s), Normal(s, torch.sqrt(0.01 * s + 0.02**2)).log_prob(y))


@pytest.mark.parametrize(
    ("noise", "kind"),
    [(GaussianNoise(20 / 255), GaussianNoise), (PoissonGaussianNoise(0.02, 3 / 255), PoissonGaussianNoise)],
)
def test_the_noise_model_fitted_to_a_noisy_image_finds_its_kind_and_size(noise, kind):
    g = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0.05, 0.95, 256).expand(256, 256)[None, None].contiguous()  # smooth, all grey levels
    y = ramp + torch.randn(ramp.shape, generator=g) * noise.variance(ramp).sqrt()
    fitted = estimate_noise_model(y)
    assert isinstance(fitted, kind), fitted
    mid = torch.full((1,), 0.5)
    assert math.sqrt(fitted.variance(mid).item()) == pytest.approx(math.sqrt(noise.variance(mid).item()), rel=0.15)


def test_the_model_has_the_image_shape_and_a_gradient_on_every_parameter():
    model = DivNoisingVAE(TINY)
    y = torch.rand(2, 1, 16, 16)
    losses = divnoising_loss(model, y, GaussianNoise(0.1))
    assert all(torch.isfinite(v) for v in losses.values()) and losses["kl"] >= 0
    losses["loss"].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    out = denoise(model, torch.rand(1, 1, 18, 21), k=3)
    assert out.mean.shape == (1, 1, 18, 21) and out.samples.shape == (3, 1, 1, 18, 21)
    assert out.std.mean() > 0 and out.kl_per_image > 0


def test_fitting_to_one_noisy_image_lowers_its_loss():
    g = torch.Generator().manual_seed(0)
    clean = torch.linspace(0, 1, 32).expand(32, 32)[None, None]
    y = clean + 0.1 * torch.randn(clean.shape, generator=g)
    noise = GaussianNoise(0.1)
    before = divnoising_loss(DivNoisingVAE(TINY), y, noise, generator=torch.Generator().manual_seed(1))["loss"]
    # max_steps ends both fits; the wall-time budget is only a backstop (a loaded machine once ran out of 30 s)
    frames = list(fitting(y, noise, seconds=600.0, config=TINY, patch=32, every_s=0.0, max_steps=60))
    slow = list(fitting(y, noise, seconds=600.0, config=TINY, patch=32, every_s=100.0, max_steps=5))
    assert [f.step for f in slow] == [1, 5], "a first frame at once, then the last"
    model = frames[-1].model
    after = divnoising_loss(model, y, noise, generator=torch.Generator().manual_seed(1))["loss"]
    assert [f.step for f in frames[:3]] == [1, 2, 3] and frames[-1].step == 60 and not model.training
    assert after < before, (before.item(), after.item())


def test_noise_models_from_a_config_and_the_variance_floor():
    from vae_demo.restoration.noise_models import MIN_VARIANCE, noise_model_from_dict

    assert noise_model_from_dict({"kind": "gaussian", "sigma": 25}) == GaussianNoise(25 / 255)
    assert noise_model_from_dict({"kind": "poisson_gaussian", "gain": 0.01, "read": 0.0}) == PoissonGaussianNoise(
        0.01, 0
    )
    with pytest.raises(ValueError, match="unknown noise model"):
        noise_model_from_dict({"kind": "gaussian"})
    y, s = torch.rand(3, 1, 4, 4), torch.zeros(3, 1, 4, 4)  # zero signal, no read noise: the variance is floored
    floor = Normal(s, math.sqrt(MIN_VARIANCE)).log_prob(y)
    torch.testing.assert_close(PoissonGaussianNoise(0.01, 0.0).log_prob(y, s), floor)


def test_the_ladder_has_a_latent_at_each_level_and_the_classic_one_a_single_map():
    y = torch.rand(1, 1, 32, 32)
    ladder = DivNoisingVAE(DivNoisingConfig(widths=(8, 16, 16), latent_channels=4, latent_levels=3, unshuffle=2))
    classic = DivNoisingVAE(DivNoisingConfig(widths=(8, 16, 16), latent_channels=4, latent_levels=1))
    assert ladder.multiple == 8 and classic.multiple == 4
    assert sorted(ladder.posterior) == ["0", "1", "2"] and sorted(ladder.prior) == ["0", "1"]
    assert sorted(classic.posterior) == ["2"] and not classic.prior
    for model in (ladder, classic):
        s, kl = model(y, torch.Generator().manual_seed(0))
        assert s.shape == y.shape and kl.shape == (1,) and kl.item() > 0
        means, _ = model(y, sample=False)
        torch.testing.assert_close(means, model(y, sample=False)[0])  # the preview is deterministic


def test_a_grey_model_denoises_a_colour_image_channel_by_channel():
    model = DivNoisingVAE(TINY)
    y = torch.rand(1, 3, 16, 20)
    out = denoise(model, y, k=2, seed=3)
    assert out.mean.shape == (1, 3, 16, 20) and out.samples.shape == (2, 1, 3, 16, 20)
    red = denoise(model, y[:, :1], k=2, seed=3)
    assert out.kl_per_image > red.kl_per_image > 0  # the KL of the image sums its channels
    with pytest.raises(ValueError, match="3-channel"):
        denoise(DivNoisingVAE(DivNoisingConfig(image_channels=3, widths=(8, 16))), torch.rand(1, 1, 16, 16))


def test_the_mode_is_decoded_at_the_posterior_means_and_k0_draws_nothing():
    model = DivNoisingVAE(TINY)
    y = torch.rand(1, 3, 16, 20)
    out = denoise(model, y, k=3, seed=0)
    assert out.mode.shape == (1, 3, 16, 20) and torch.isfinite(out.mode).all()
    assert torch.equal(out.mode, denoise(model, y, k=3, seed=1).mode), "no randomness in the mode"
    assert not torch.allclose(out.mode, out.mean), "the mean of 3 draws is another estimate"
    only = denoise(model, y, k=0)
    assert torch.equal(only.mean, only.mode) and only.samples.shape == (1, 1, 3, 16, 20) and only.kl_per_image > 0


def test_the_x8_self_ensemble_turns_and_flips_with_its_input():
    """Averaging over all 8 flips and rotations makes the estimate equivariant, which one pass is not."""
    model = DivNoisingVAE(TINY)
    y = torch.rand(1, 1, 16, 20)
    out = mode_x8(model, y)
    assert out.shape == y.shape and torch.isfinite(out).all()
    assert not torch.allclose(out, denoise(model, y, k=0).mode, atol=1e-4)
    turned = torch.rot90(y, 1, dims=(-2, -1))
    assert torch.allclose(mode_x8(model, turned), torch.rot90(out, 1, dims=(-2, -1)), atol=1e-5)
    assert torch.allclose(mode_x8(model, y.flip(-2)), out.flip(-2), atol=1e-5)
    one = denoise(model, turned, k=0).mode
    assert not torch.allclose(one, torch.rot90(denoise(model, y, k=0).mode, 1, dims=(-2, -1)), atol=1e-4)


def test_a_higher_noise_level_is_brought_to_the_trained_one_and_a_lower_given_as_it_is():
    from vae_demo.restoration.divnoising import match_noise

    g = torch.Generator().manual_seed(0)
    clean = torch.full((1, 1, 256, 256), 0.5)
    y = clean + 50.0 / 255 * torch.randn(clean.shape, generator=g)
    x, back = match_noise(y, 50.0, 25.0)
    assert (x - clean).std().item() * 255 == pytest.approx(25.0, rel=0.02)
    torch.testing.assert_close(back(clean), clean)  # a perfect denoiser's output maps back to the clean image
    low = clean + 10.0 / 255 * torch.randn(clean.shape, generator=g)
    x, back = match_noise(low, 10.0, 25.0)
    assert x is low and back(clean) is clean


def test_a_bundled_checkpoint_loads_by_name(tmp_path, monkeypatch):
    from vae_demo.core import hub

    config = DivNoisingConfig(
        name="divnoising-vae", widths=(8, 16), latent_channels=4, noise_model={"kind": "gaussian", "sigma": 25}
    )
    DivNoisingVAE(config).save_pretrained(tmp_path / "divnoising-vae")
    monkeypatch.setattr(hub, "BUNDLED_DIR", tmp_path)
    model = hub.load_model("divnoising-vae", device="cpu")
    assert isinstance(model, DivNoisingVAE) and model.config == config and not model.training
    with pytest.raises(hub.CheckpointError, match="config.json is missing"):
        hub.load_model("divnoising-vae", path=tmp_path / "nothing")
