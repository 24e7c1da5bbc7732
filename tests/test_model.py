"""ConvVAE: shapes, finiteness, gradients, config and Hub-mixin round trips."""

from __future__ import annotations

import pytest
import torch

from vae_demo.generative.losses import LIKELIHOODS, elbo_loss
from vae_demo.generative.model import ConvVAE, VAEConfig


def make_model(likelihood: str = "bernoulli", in_channels: int = 1) -> ConvVAE:
    torch.manual_seed(0)
    cfg = VAEConfig(image_size=16, in_channels=in_channels, latent_dim=4, channels=(4, 8), likelihood=likelihood)
    return ConvVAE(cfg)


@pytest.mark.parametrize("in_channels", [1, 3])
@pytest.mark.parametrize("likelihood", LIKELIHOODS)
def test_shapes_and_finite_values(likelihood, in_channels):
    model = make_model(likelihood, in_channels)
    x = torch.rand(5, in_channels, 16, 16)

    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 4)

    out = model.decode(mu)
    assert out.shape == x.shape

    recon, mu2, logvar2 = model(x, generator=torch.Generator().manual_seed(0))
    assert recon.shape == x.shape
    assert torch.equal(mu, mu2) and torch.equal(logvar, logvar2)

    mean = model.decode_mean(mu)
    assert mean.shape == x.shape
    assert mean.min() >= 0.0 and mean.max() <= 1.0
    for t in (mu, logvar, out, recon, mean):
        assert torch.isfinite(t).all()


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
def test_every_parameter_gets_a_gradient(likelihood):
    model = make_model(likelihood, in_channels=3)
    x = torch.rand(4, 3, 16, 16)
    losses = elbo_loss(model, x, beta=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(losses["loss"])
    losses["loss"].backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{name} has an all-zero gradient"


def test_continuous_likelihoods_have_a_learned_scale_only_there():
    assert hasattr(make_model("gaussian"), "log_scale")
    assert hasattr(make_model("laplace"), "log_scale")
    assert not hasattr(make_model("bernoulli"), "log_scale")


def test_config_round_trip():
    cfg = VAEConfig(
        image_size=32,
        in_channels=3,
        latent_dim=8,
        channels=(4, 8, 16),
        likelihood="laplace",
        name="x",
        labels=("a", "b"),
    )
    d = cfg.to_dict()
    assert d["channels"] == [4, 8, 16] and d["labels"] == ["a", "b"]
    assert VAEConfig.from_dict(d) == cfg
    # unknown keys (e.g. from a newer version) are ignored
    assert VAEConfig.from_dict({**d, "something_new": 1}) == cfg
    assert cfg.bottleneck_size == 4


@pytest.mark.parametrize(
    "kwargs",
    [
        {"image_size": 30, "channels": (4, 8)},  # 30 is not divisible by 4
        {"image_size": 16, "channels": (4, 8, 16, 32, 64)},  # 16 < 2**5
        {"likelihood": "poisson"},
    ],
)
def test_invalid_config_raises(kwargs):
    with pytest.raises(ValueError):
        VAEConfig(**kwargs)


def test_save_pretrained_from_pretrained_round_trip(tmp_path, tiny_model):
    tiny_model.save_pretrained(tmp_path)
    assert (tmp_path / "config.json").is_file() and (tmp_path / "model.safetensors").is_file()
    loaded = ConvVAE.from_pretrained(tmp_path)
    assert loaded.config == tiny_model.config
    a, b = tiny_model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    x = torch.rand(2, 1, 16, 16)
    torch.testing.assert_close(loaded.eval().encode(x), tiny_model.encode(x))
