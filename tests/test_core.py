"""The shared core: explicit-dims KL, the one PSNR, the config base class, the likelihoods."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pytest
import torch
from torch.distributions import Laplace, Normal, kl_divergence

from vae_demo.core.config import Config
from vae_demo.core.distributions import DiagonalGaussian
from vae_demo.core.likelihoods import gaussian_log_prob, laplace_log_prob
from vae_demo.core.metrics import psnr, psnr_ssim


def test_kl_between_two_gaussians_matches_torch_and_sums_over_the_named_dims():
    g = torch.Generator().manual_seed(0)
    a = DiagonalGaussian(torch.randn(2, 4, 3, 3, generator=g), torch.randn(2, 4, 3, 3, generator=g))
    b = DiagonalGaussian(torch.randn(2, 4, 3, 3, generator=g), torch.randn(2, 4, 3, 3, generator=g))
    expected = kl_divergence(Normal(a.mean, a.std), Normal(b.mean, b.std))
    torch.testing.assert_close(a.kl(b, dims=()), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(a.kl(b, dims=(1, 2, 3)), expected.sum(dim=(1, 2, 3)), rtol=1e-5, atol=1e-4)
    assert a.kl(b, dims=(1, 2, 3)).shape == (2,)
    z = a.sample(g)
    torch.testing.assert_close(a.log_prob(z, dims=(1, 2, 3)), Normal(a.mean, a.std).log_prob(z).sum(dim=(1, 2, 3)))


def test_likelihoods_match_torch_distributions():
    x, mean, log_scale = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4), torch.tensor([-1.0, -2.0, 0.5])
    s = log_scale.exp().view(1, 3, 1, 1)
    torch.testing.assert_close(gaussian_log_prob(x, mean, log_scale), Normal(mean, s).log_prob(x))
    torch.testing.assert_close(laplace_log_prob(x, mean, log_scale), Laplace(mean, s).log_prob(x))


def test_psnr_rounds_to_8_bits_and_caps_identical_images():
    a = torch.randint(0, 246, (1, 3, 16, 16), generator=torch.Generator().manual_seed(0)) / 255
    assert psnr(a, a + 0.1 / 255) == 99.0  # the same 8-bit picture
    b = (a + 10 / 255).clamp(0, 1)
    mse = np.mean((np.round(a.numpy() * 255) - np.round(b.numpy() * 255)) ** 2)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / mse))
    p, s = psnr_ssim(a, b)
    assert p == round(psnr(a, b), 2) and 0 < s < 1


@dataclass
class _Inner(Config):
    widths: tuple[int, ...] = (1, 2)


@dataclass
class _Run(Config):
    ignore_unknown: ClassVar[bool] = False
    inner: _Inner = field(default_factory=_Inner)
    name: str | None = None


def test_config_round_trips_builds_nested_configs_and_refuses_unknown_run_keys():
    run = _Run.from_dict({"inner": {"widths": [3, 4], "future_key": 1}, "name": "x"})
    assert run.inner == _Inner((3, 4)) and run.name == "x"
    assert _Run.from_dict(run.to_dict()) == run and run.to_dict()["inner"]["widths"] == [3, 4]
    with pytest.raises(ValueError, match="unknown _Run keys: typo"):
        _Run.from_dict({"typo": 1})
    with pytest.raises(TypeError, match="JSON object"):
        _Inner.from_dict([1, 2])


def test_the_core_package_imports_no_gradio():
    """vae_demo is the Gradio-free core: the Gradio layer lives in app.py and ui/."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "vae_demo"
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if any(line.strip().startswith(("import gradio", "from gradio")) for line in p.read_text().splitlines())
    ]
    assert offenders == []
