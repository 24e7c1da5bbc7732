"""Seeded corruptions: deterministic, shape- and range-preserving, and of the requested strength."""

from __future__ import annotations

import math

import pytest
import torch

from vae_demo.degradations import NOISE_TYPES, corrupt

GREY = torch.full((4, 1, 64, 64), 0.5)


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_seeded_and_shape_dtype_range_preserving(kind):
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    a, b, c = corrupt(x, kind, 0.3, seed=1), corrupt(x, kind, 0.3, seed=1), corrupt(x, kind, 0.3, seed=2)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert not torch.equal(a, x)
    assert torch.equal(x, torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))), "input modified"


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_level_zero_changes_nothing(kind):
    x = torch.rand(2, 1, 16, 16)
    assert torch.equal(corrupt(x, kind, 0.0, seed=0), x)


@pytest.mark.parametrize("sigma", [0.05, 0.1])
def test_gaussian_noise_has_the_requested_std(sigma):
    noisy = corrupt(GREY, "gaussian", sigma, seed=0)
    assert (noisy - GREY).std().item() == pytest.approx(sigma, rel=0.03)
    assert (noisy - GREY).mean().item() == pytest.approx(0.0, abs=0.005)


@pytest.mark.parametrize("fraction", [0.1, 0.5])
def test_salt_and_pepper_fraction(fraction):
    x = torch.full((4, 3, 64, 64), 0.5)
    noisy = corrupt(x, "salt_and_pepper", fraction, seed=0)
    salt, pepper = (noisy == 1).float().mean().item(), (noisy == 0).float().mean().item()
    assert salt + pepper == pytest.approx(fraction, abs=0.02)
    assert salt == pytest.approx(pepper, abs=0.02)
    changed = noisy != x
    assert torch.equal(changed[:, 0], changed[:, 1]) and torch.equal(changed[:, 1], changed[:, 2]), \
        "all channels of a pixel change together"


@pytest.mark.parametrize("area", [0.1, 0.3, 0.5])
def test_mask_covers_the_requested_area(area):
    x = torch.ones(4, 1, 64, 64)
    masked = corrupt(x, "mask", area, seed=0)
    per_image = (masked == 0).float().mean(dim=(1, 2, 3))
    assert torch.allclose(per_image, torch.full((4,), area), atol=0.02)


@pytest.mark.parametrize("level", [-0.1, 1.5, math.nan, math.inf])
def test_invalid_level_raises(level):
    with pytest.raises(ValueError, match="level"):
        corrupt(GREY, "gaussian", level)


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match="noise type"):
        corrupt(GREY, "blur", 0.3)
