"""Test-set metrics: the ELBO and the importance-sampled log-likelihood (Burda et al., 2016)."""

from __future__ import annotations

import math

import torch
from tqdm.auto import tqdm

from vae_demo.core.distributions import DiagonalGaussian, standard_normal_log_prob
from vae_demo.generative.inference import refine_posterior
from vae_demo.generative.losses import elbo_terms, label_kwargs, reconstruction_log_prob


@torch.no_grad()
def elbo_per_image(
    model: torch.nn.Module,
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    y: torch.Tensor | int | None = None,
) -> torch.Tensor:
    """One-sample ELBO estimate per image, in nats (of log p(x|y) when a conditional model is given ``y``)."""
    if hasattr(model, "elbo"):  # a model that keeps its own bound (the ladder VAE: one KL per layer)
        return model.elbo(x, generator)
    recon, kl_per_dim = elbo_terms(model, x, generator, y)
    return recon - kl_per_dim.sum(dim=1)


@torch.no_grad()
def log_likelihood_per_image(
    model: torch.nn.Module,
    x: torch.Tensor,
    k: int = 1000,
    chunk: int = 250,
    generator: torch.Generator | None = None,
    y: torch.Tensor | int | None = None,
    proposal: DiagonalGaussian | None = None,
) -> torch.Tensor:
    """log p(x) ~= logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log k, z_k ~ q(z|x).

    With a conditional model's labels ``y`` every term is conditioned on y: the estimate is of log p(x|y).
    ``proposal`` replaces the encoder's q(z|x) (e.g. a refined posterior): any q gives a valid estimate
    whose expectation is a lower bound on log p(x), and the closer q is to p(z|x), the tighter it is.
    """
    if hasattr(model, "log_likelihood") and proposal is None and y is None:  # the ladder VAE samples every layer
        return model.log_likelihood(x, k, chunk, generator)
    posterior = proposal if proposal is not None else model.posterior(x, **label_kwargs(y))
    b = x.shape[0]
    if y is not None:
        y = torch.as_tensor(y, device=x.device).long().expand(b)  # (b,)
    log_w = []
    for start in range(0, k, chunk):
        s = min(chunk, k - start)
        eps = torch.randn((s, *posterior.mean.shape), generator=generator, device=x.device, dtype=x.dtype)
        z = posterior.mean + posterior.std * eps  # (s, b, d)
        y_rep = None if y is None else y.repeat(s)  # (s * b,), the same order as z.reshape
        out = model.decode(z.reshape(s * b, -1), **label_kwargs(y_rep))
        x_rep = x.unsqueeze(0).expand(s, *x.shape).reshape(s * b, *x.shape[1:])
        log_px_z = reconstruction_log_prob(x_rep, out, model.config.likelihood, getattr(model, "log_scale", None))
        log_w.append(log_px_z.view(s, b) + standard_normal_log_prob(z) - posterior.log_prob(z, dims=(-1,)))
    return torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k)


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    images: torch.Tensor,
    k: int = 0,
    batch_size: int = 100,
    seed: int = 0,
    progress: bool = False,
    labels: torch.Tensor | None = None,
    refine_steps: int = 0,
) -> dict[str, float]:
    """Mean test ELBO (and log-likelihood when ``k`` > 0) in nats per image.

    A class-conditional model needs the images' ``labels``: the metrics are then of log p(x|y).
    ``refine_steps`` > 0 draws the importance samples from the posterior refined by that many steps
    (``inference.refine_posterior``, unconditional models) instead of the encoder's; the ELBO stays the
    encoder's.
    """
    if refine_steps and labels is not None:
        raise ValueError("refine_steps is for unconditional models")
    model.eval()
    g = torch.Generator(device=model.device).manual_seed(seed)
    elbos, lls = [], []
    for start in tqdm(range(0, len(images), batch_size), disable=not progress, desc="evaluate"):
        x = images[start : start + batch_size].to(model.device)
        y = None if labels is None else labels[start : start + batch_size].to(model.device)
        elbos.append(elbo_per_image(model, x, g, y))
        if k:
            q = refine_posterior(model, x, steps=refine_steps, seed=seed + start) if refine_steps else None
            lls.append(log_likelihood_per_image(model, x, k, generator=g, y=y, proposal=q))
    result = {"elbo_nats": torch.cat(elbos).mean().item(), "n_images": len(images)}
    if k:
        result["nll_nats"] = -torch.cat(lls).mean().item()
    return result
