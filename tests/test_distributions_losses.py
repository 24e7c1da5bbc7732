"""The posterior, the likelihoods and the ELBO checked against torch.distributions."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Bernoulli, ContinuousBernoulli, Laplace, Normal, kl_divergence

from vae_demo.core.distributions import DiagonalGaussian, kl_weight, standard_normal_log_prob
from vae_demo.generative.losses import elbo_loss, likelihood_mean, reconstruction_log_prob


@pytest.fixture
def moments():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(6, 5, generator=g) * 2
    logvar = torch.randn(6, 5, generator=g)
    return mu, logvar


def test_kl_is_non_negative_and_matches_closed_form(moments):
    mu, logvar = moments
    q = DiagonalGaussian(mu, logvar)
    expected = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(-1)
    assert (q.kl() >= 0).all()
    torch.testing.assert_close(q.kl(), expected, rtol=1e-5, atol=1e-5)


def test_kl_is_zero_for_the_prior():
    q = DiagonalGaussian(torch.zeros(3, 4), torch.zeros(3, 4))
    torch.testing.assert_close(q.kl(), torch.zeros(3))


def test_reparameterised_samples_have_the_right_moments():
    mu = torch.tensor([[0.5, -2.0, 3.0]])
    logvar = torch.tensor([[0.0, -1.0, 1.0]])
    q = DiagonalGaussian(mu.expand(200_000, 3), logvar.expand(200_000, 3))
    z = q.sample(torch.Generator().manual_seed(0))
    torch.testing.assert_close(z.mean(0), mu[0], atol=0.02, rtol=0)
    torch.testing.assert_close(z.var(0), logvar[0].exp(), atol=0, rtol=0.02)


def test_same_seed_same_sample_and_gradients_flow(moments):
    mu, logvar = (t.clone().requires_grad_() for t in moments)
    q = DiagonalGaussian(mu, logvar)
    a = q.sample(torch.Generator().manual_seed(7))
    b = q.sample(torch.Generator().manual_seed(7))
    c = q.sample(torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    a.sum().backward()
    assert mu.grad is not None and logvar.grad is not None


def test_log_prob_matches_normal(moments):
    mu, logvar = moments
    q = DiagonalGaussian(mu, logvar)
    z = torch.randn(10, *mu.shape, generator=torch.Generator().manual_seed(1))  # extra sample axis
    expected = Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
    torch.testing.assert_close(q.log_prob(z), expected, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(standard_normal_log_prob(z), Normal(0.0, 1.0).log_prob(z).sum(-1))


@pytest.fixture
def targets():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 2, 5, 5, generator=g)
    logits = torch.randn(4, 2, 5, 5, generator=g) * 3
    return x, logits


def test_bernoulli_log_prob(targets):
    _, logits = targets
    x = torch.bernoulli(torch.full_like(logits, 0.5), generator=torch.Generator().manual_seed(3))
    expected = Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(reconstruction_log_prob(x, logits, "bernoulli"), expected)


@pytest.mark.parametrize("scale", [3.0, 1e-2, 1e-4, 0.0])
def test_continuous_bernoulli_log_prob(targets, scale):
    """Including logits at and near 0 (lambda near 1/2), where the normaliser's closed form is 0/0.

    |logits| <= 9 keeps lambda inside both implementations' clamps (torch clamps at float eps).
    """
    x, logits = targets
    logits = (logits * scale).clamp(-9, 9)
    expected = ContinuousBernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    got = reconstruction_log_prob(x, logits, "continuous_bernoulli")
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("scale", [3.0, 1e-3, 0.0])
def test_continuous_bernoulli_mean(targets, scale):
    """Against the exact mean in float64 (torch's own float32 mean cancels badly near lambda = 1/2)."""
    _, logits = targets
    logits = (logits * scale).clamp(-9, 9)
    torch.testing.assert_close(
        likelihood_mean(logits, "continuous_bernoulli"), exact_cb_mean(logits), rtol=0, atol=1e-3
    )
    far = logits.abs() > 0.1
    torch.testing.assert_close(
        likelihood_mean(logits, "continuous_bernoulli")[far],
        ContinuousBernoulli(logits=logits).mean[far],
        rtol=1e-4,
        atol=1e-4,
    )


def exact_cb_mean(logits: torch.Tensor) -> torch.Tensor:
    l64 = logits.double()
    small = l64.abs() < 1e-4
    safe = torch.where(small, torch.ones_like(l64), l64)
    return torch.where(small, 0.5 + l64 / 12, 1 / (1 - torch.exp(-safe)) - 1 / safe).float()


# Exact, stable forms in terms of the logit l (lambda = sigmoid(l)), evaluated in float64:
#   log C = log|l| - log|tanh(l / 2)|        mean = 1 / (1 - exp(-l)) - 1 / l
SATURATED_LOGITS = torch.tensor([-40.0, -20.0, -14.0, 14.0, 20.0, 40.0])


def test_continuous_bernoulli_log_prob_for_saturated_logits():
    """A decoder that is sure of a black or white pixel gives |logits| of 15-40; the normaliser
    must keep growing like log|l| there (it is clamped at lambda = 1e-6 in losses._cb_log_norm)."""
    l64 = SATURATED_LOGITS.double()
    log_c = l64.abs().log() - torch.tanh(l64 / 2).abs().log()
    x = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0]).double()
    exact = (x * l64 - torch.nn.functional.softplus(l64) + log_c).sum()
    got = reconstruction_log_prob(
        x.float().view(1, 1, 1, -1), SATURATED_LOGITS.view(1, 1, 1, -1), "continuous_bernoulli"
    )
    assert got.item() == pytest.approx(exact.item(), abs=1e-3)


def test_continuous_bernoulli_mean_for_saturated_logits():
    """The displayed mean must approach 0 and 1 (as 1/|l|); clamping lambda to [1e-4, 1 - 1e-4]
    in losses.likelihood_mean caps it at 0.108..0.892, so such a model can never show black or white."""
    torch.testing.assert_close(
        likelihood_mean(SATURATED_LOGITS, "continuous_bernoulli"), exact_cb_mean(SATURATED_LOGITS), rtol=0, atol=1e-3
    )


@pytest.mark.parametrize("likelihood, dist", [("gaussian", Normal), ("laplace", Laplace)])
def test_gaussian_and_laplace_log_prob(targets, likelihood, dist):
    x, out = targets
    log_scale = torch.tensor([-2.0, 0.5])  # one per channel
    scale = log_scale.exp().view(1, -1, 1, 1).expand_as(out)
    expected = dist(out, scale).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(reconstruction_log_prob(x, out, likelihood, log_scale), expected, rtol=1e-5, atol=1e-4)


def test_continuous_likelihood_without_scale_raises(targets):
    x, out = targets
    with pytest.raises(ValueError, match="log_scale"):
        reconstruction_log_prob(x, out, "gaussian")


def test_unknown_likelihood_raises(targets):
    x, out = targets
    with pytest.raises(ValueError, match="unknown likelihood"):
        reconstruction_log_prob(x, out, "poisson")


def test_kl_weight_warmup_schedule():
    assert kl_weight(0, beta=1.0, warmup_steps=0) == 1.0
    assert kl_weight(123, beta=0.5, warmup_steps=0) == 0.5
    assert kl_weight(0, beta=1.0, warmup_steps=100) == 0.0
    assert kl_weight(25, beta=1.0, warmup_steps=100) == pytest.approx(0.25)
    assert kl_weight(50, beta=2.0, warmup_steps=100) == pytest.approx(1.0)
    assert kl_weight(100, beta=2.0, warmup_steps=100) == 2.0
    assert kl_weight(10_000, beta=2.0, warmup_steps=100) == 2.0


def test_elbo_terms_are_consistent(tiny_model, tiny_batch):
    losses = elbo_loss(tiny_model, tiny_batch, beta=1.0, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(losses["loss"].detach(), losses["recon"] + losses["kl"])
    torch.testing.assert_close(losses["elbo"], -(losses["recon"] + losses["kl"]))
    assert losses["kl"] >= 0


def test_free_bits_changes_the_loss_but_not_the_reported_kl(tiny_model, tiny_batch):
    def run(free_bits):
        return elbo_loss(tiny_model, tiny_batch, free_bits=free_bits, generator=torch.Generator().manual_seed(0))

    plain, floored = run(0.0), run(5.0)
    # An untrained encoder's KL per dimension is far below 5 nats: the floor raises the objective.
    assert floored["loss"] > plain["loss"] + 1.0
    torch.testing.assert_close(floored["kl"], plain["kl"])
    torch.testing.assert_close(floored["recon"], plain["recon"])
    torch.testing.assert_close(floored["elbo"], plain["elbo"])
