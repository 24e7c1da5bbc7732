"""Likelihoods p(x|z) and the evidence lower bound (ELBO).

ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)); training minimises
-(E_q[log p(x|z)] - beta * KL) per image, in nats.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vae_demo.core.likelihoods import gaussian_log_prob, laplace_log_prob

LIKELIHOODS = ("bernoulli", "continuous_bernoulli", "gaussian", "laplace")


def _cb_log_norm(logits: torch.Tensor) -> torch.Tensor:
    """log C(lambda) of the continuous Bernoulli (Loaiza-Ganem & Cunningham, 2019, eq. 7).

    With lambda = sigmoid(l), C = 2 atanh(1 - 2 lambda) / (1 - 2 lambda) = |l| / tanh(|l| / 2), written
    in the logit so it stays exact for saturated logits; near l = 0 the Taylor value log 2 + l^2 / 12.
    """
    a = logits.abs()
    small = a < 1e-2
    safe = torch.where(small, torch.ones_like(a), a)
    return torch.where(small, math.log(2.0) + a.pow(2) / 12, torch.log(safe) - torch.log(torch.tanh(safe / 2)))


def reconstruction_log_prob(
    x: torch.Tensor, out: torch.Tensor, likelihood: str, log_scale: torch.Tensor | None = None
) -> torch.Tensor:
    """log p(x|z) per image, summed over pixels. ``out`` is the decoder output."""
    if likelihood == "bernoulli":
        lp = -F.binary_cross_entropy_with_logits(out, x, reduction="none")
    elif likelihood == "continuous_bernoulli":
        lp = -F.binary_cross_entropy_with_logits(out, x, reduction="none") + _cb_log_norm(out)
    elif likelihood in ("gaussian", "laplace"):
        if log_scale is None:
            raise ValueError(f"the {likelihood} likelihood needs a log_scale")
        lp = (gaussian_log_prob if likelihood == "gaussian" else laplace_log_prob)(x, out, log_scale)
    else:
        raise ValueError(f"unknown likelihood {likelihood!r}; choose one of {LIKELIHOODS}")
    return lp.flatten(1).sum(dim=1)


def likelihood_mean(out: torch.Tensor, likelihood: str) -> torch.Tensor:
    """The image shown to a person: the mean of p(x|z), clipped to [0, 1]."""
    if likelihood == "bernoulli":
        return torch.sigmoid(out)
    if likelihood == "continuous_bernoulli":
        # E[x] = lambda / (2 lambda - 1) + 1 / (2 atanh(1 - 2 lambda)) = -1 / expm1(-l) - 1 / l
        small = out.abs() < 1e-2
        s = torch.where(small, torch.ones_like(out), out)
        return torch.where(small, 0.5 + out / 12, -1 / torch.expm1(-s) - 1 / s).clamp(0, 1)
    return out.clamp(0, 1)


def label_kwargs(y: torch.Tensor | int | None) -> dict:
    """``{"y": y}`` for a conditional model's methods; nothing for an unconditional one (older signatures)."""
    return {} if y is None else {"y": y}


def elbo_terms(
    model: torch.nn.Module,
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    y: torch.Tensor | int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One-sample estimate of log p(x|z), z ~ q(z|x), per image, and KL(q || p) per image and dimension.

    For a class-conditional model pass the labels ``y``: the terms are then of log p(x|y).
    """
    posterior = model.posterior(x, **label_kwargs(y))
    out = model.decode(posterior.sample(generator), **label_kwargs(y))
    recon = reconstruction_log_prob(x, out, model.config.likelihood, getattr(model, "log_scale", None))
    return recon, posterior.kl(dims=())


def elbo_loss(
    model: torch.nn.Module,
    x: torch.Tensor,
    beta: float = 1.0,
    free_bits: float = 0.0,
    generator: torch.Generator | None = None,
    y: torch.Tensor | int | None = None,
) -> dict[str, torch.Tensor]:
    """Negative ELBO per image (with KL weight ``beta``) and its two terms, averaged over the batch.

    ``free_bits`` (nats per latent dimension, Kingma et al. 2016) stops the optimiser from pushing
    any dimension's batch-mean KL below that floor; it changes only the training objective. ``y``: the
    labels of a class-conditional model.
    """
    recon, kl_per_dim = elbo_terms(model, x, generator, y)
    kl = kl_per_dim.sum(dim=1)
    kl_train = kl_per_dim.mean(dim=0).clamp(min=free_bits).sum() if free_bits > 0 else kl.mean()
    loss = -recon.mean() + beta * kl_train
    return {
        "loss": loss,
        "recon": -recon.mean().detach(),
        "kl": kl.mean().detach(),
        "elbo": (recon - kl).mean().detach(),
    }
