"""DivNoising's noise models against closed forms, and a tiny model that learns from noisy patches."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from vae_demo.restoration.divnoising import DivNoisingConfig, DivNoisingVAE, denoise, divnoising_loss, fit_to_image
from vae_demo.restoration.noise_models import GaussianNoise, PoissonGaussianNoise, estimate_noise_model

TINY = DivNoisingConfig(width=8, latent_channels=4)


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
    steps = []
    model = fit_to_image(
        y,
        noise,
        seconds=3.0,
        config=TINY,
        patch=32,
        every_s=0.0,
        on_progress=lambda m, step, t, losses: steps.append(step) and False,
    )
    after = divnoising_loss(model, y, noise, generator=torch.Generator().manual_seed(1))["loss"]
    assert steps and after < before, (before.item(), after.item())
