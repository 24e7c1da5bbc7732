"""A camera's noise: correlated as demosaicing leaves it, told as the blind estimate reads it, seeded."""

from __future__ import annotations

import torch

from vae_demo.restoration.camera_noise import camera_raw_noise, demosaic_bilinear, told_sigma
from vae_demo.restoration.mixture import DegradationPipeline, Step
from vae_demo.restoration.noise_level import noise_level


def flat(h: int = 128, w: int = 128, level: float = 0.45) -> torch.Tensor:
    return torch.full((1, 3, h, w), level)


def test_a_flat_mosaic_demosaics_to_itself():
    torch.testing.assert_close(demosaic_bilinear(torch.full((1, 1, 8, 8), 0.3)), torch.full((1, 3, 8, 8), 0.3))


def test_the_noise_is_spread_over_neighbours_and_the_photo_is_kept():
    x = flat()
    y, _ = camera_raw_noise(x, 300.0, torch.Generator().manual_seed(0), quality=98)
    n = (y - x)[0, 1]
    n = n - n.mean()
    neighbour = float((n[:, 1:] * n[:, :-1]).mean() / (n * n).mean())
    assert neighbour > 0.2, f"correlation of horizontal neighbours {neighbour:.2f}: white noise would read ~0"
    assert abs(float(y.mean() - x.mean())) < 2 / 255, "the photo's brightness is kept"
    y2, _ = camera_raw_noise(x, 300.0, torch.Generator().manual_seed(0), quality=98)
    assert torch.equal(y, y2), "seeded"


def test_it_tells_the_sigma_the_blind_estimate_reads():
    for photons in (200.0, 1000.0):
        y, told = camera_raw_noise(flat(256, 256), photons, torch.Generator().manual_seed(1), quality=95)
        assert 0.8 < noise_level(y) / told < 1.25, (photons, noise_level(y), told)
    white = 0.02 * torch.randn(1, 1, 256, 256, generator=torch.Generator().manual_seed(2))
    assert abs(told_sigma(white) - 0.02 * 255) < 0.4, "white noise: its std"


def test_grey_photos_stay_grey_and_the_training_mixture_tells_noise():
    y, told = camera_raw_noise(flat()[:, :1], 500.0, torch.Generator().manual_seed(0))
    assert y.shape == (1, 1, 128, 128) and told > 0
    pipeline = DegradationPipeline((Step("camera_raw_noise", 1.0, 7.0, 12.0),))
    out, sigmas, conditions = pipeline.with_conditions(flat(64, 64).repeat(2, 1, 1, 1), torch.Generator())
    assert out.shape == (2, 3, 64, 64) and conditions == ["noise", "noise"] and bool((sigmas > 0).all())
