"""What the app does with a trained VAE: sample, reconstruct, interpolate, traverse.

Every function takes a model and tensors in [0, 1] shaped (N, C, H, W), runs without gradients,
and returns tensors on the CPU.
"""

from __future__ import annotations

import torch
from torch.distributions import Normal

from vae_demo.core.device import make_generator
from vae_demo.core.distributions import DiagonalGaussian
from vae_demo.generative.losses import reconstruction_log_prob


@torch.no_grad()
def sample(
    model, n: int = 64, temperature: float = 1.0, seed: int = 0, y: torch.Tensor | int | None = None
) -> torch.Tensor:
    """n images decoded from z ~ N(0, temperature^2 I); the same seed gives the same images.

    ``y``: the labels (n,) or one label for a class-conditional model."""
    z = prior_latents(model, n, seed, temperature)
    return (model.decode_mean(z) if y is None else model.decode_mean(z, torch.as_tensor(y).to(model.device))).cpu()


def refine_posterior(model, x: torch.Tensor, steps: int = 50, lr: float = 0.05, seed: int = 0) -> DiagonalGaussian:
    """Semi-amortised inference (Kim et al. 2018, "Semi-amortized variational autoencoders"): start at the
    encoder's q(z|x) and take ``steps`` Adam steps on the ELBO of x,

        E_q[log p(x | z)] - KL(q(z|x) || N(0, I))    (one reparameterised draw per step),

    with respect to q's mean and log-variance only; the model is left untouched. The encoder's answer is
    one fast guess for every image (amortised); for a picture unlike its training images (a new face) the
    guess is off, and these steps close part of that "amortisation gap" (Cremer et al. 2018)."""
    x = x.to(model.device)
    gens = [make_generator(seed, model.device) for _ in range(len(x))]  # one per image: batch-independent draws
    log_scale = getattr(model, "log_scale", None)
    with torch.no_grad():
        mean, logvar = model.encode(x)  # (N, D) each
    params = [mean.clone().requires_grad_(), logvar.clone().requires_grad_()]
    optimiser = torch.optim.Adam(params, lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            q = DiagonalGaussian(*params)
            eps = torch.stack([torch.randn(mean.shape[1:], generator=g, device=x.device) for g in gens])
            z = q.mean + q.std * eps  # (N, D): the reparameterisation trick
            log_px = reconstruction_log_prob(x, model.decode(z), model.config.likelihood, log_scale)
            loss = (q.kl(dims=(1,)) - log_px).sum()  # the negative ELBO of the batch
            grads = torch.autograd.grad(loss, params)  # for q only (no .grad on the model); Adam acts per element,
            # so each image's steps are its own, whatever else is in the batch
            for param, grad in zip(params, grads, strict=True):
                param.grad = grad
            optimiser.step()
    return DiagonalGaussian(params[0].detach(), params[1].detach())


@torch.no_grad()
def encode(model, x: torch.Tensor, refine_steps: int = 0) -> torch.Tensor:
    """The posterior means of x: the point of latent space an image maps to (the encoder's guess, or that
    guess refined by ``refine_steps`` steps on x's ELBO, ``refine_posterior``)."""
    if refine_steps > 0:
        return refine_posterior(model, x, refine_steps).mean
    return model.encode(x.to(model.device))[0]


@torch.no_grad()
def reconstruct(model, x: torch.Tensor, refine_steps: int = 0) -> torch.Tensor:
    """Decode the posterior mean: the model's clean version of x."""
    return model.decode_mean(encode(model, x, refine_steps)).cpu()


@torch.no_grad()
def posterior_samples(model, x: torch.Tensor, k: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode k samples z ~ q(z|x); returns their per-pixel mean and standard deviation."""
    g = make_generator(seed, model.device)
    posterior = model.posterior(x.to(model.device))
    images = torch.stack([model.decode_mean(posterior.sample(g)) for _ in range(k)])
    return images.mean(0).cpu(), images.std(0, correction=0).cpu()


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight line: (1 - t) z0 + t z1, one row per t."""
    t = t.view(-1, 1)
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for VAEs): follows the great circle
    between the directions of z0 and z1 and interpolates the norms, so equal norms are kept.
    Falls back to lerp for (anti)parallel vectors."""
    t = t.view(-1, 1)
    n0, n1 = z0.norm(), z1.norm()
    u0, u1 = z0 / (n0 + eps), z1 / (n1 + eps)
    omega = torch.arccos((u0 * u1).sum().clamp(-1 + eps, 1 - eps))
    if omega.abs() < 1e-4 or (torch.pi - omega).abs() < 1e-4:
        return lerp(z0, z1, t)
    direction = (torch.sin((1 - t) * omega) * u0 + torch.sin(t * omega) * u1) / torch.sin(omega)
    return direction * ((1 - t) * n0 + t * n1)


@torch.no_grad()
def interpolate(
    model, x0: torch.Tensor, x1: torch.Tensor, steps: int = 8, method: str = "linear", refine_steps: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a path from the encoding of x0 to the encoding of x1 (both included; ``encode``'s
    ``refine_steps``).

    Returns (images (steps, C, H, W), latents (steps, D)).
    """
    if steps < 2:
        raise ValueError("an interpolation needs at least 2 steps")
    z = encode(model, torch.cat([x0, x1]), refine_steps)
    t = torch.linspace(0, 1, steps, device=z.device)
    path = slerp(z[0], z[1], t) if method == "spherical" else lerp(z[0], z[1], t)
    return model.decode_mean(path).cpu(), path.cpu()


@torch.no_grad()
def traverse(model, z: torch.Tensor, dim: int, values: torch.Tensor) -> torch.Tensor:
    """Decode copies of z (D,) with dimension ``dim`` set to each of ``values``."""
    zs = z.to(model.device).repeat(len(values), 1)
    zs[:, dim] = values.to(zs)
    return model.decode_mean(zs).cpu()


@torch.no_grad()
def dimensions_by_effect(model, probe: float = 2.0) -> list[int]:
    """The latent dimensions, the one that changes the decoded picture most first: the mean absolute change of
    the decoding of z = 0 when one dimension moves to -``probe`` and to +``probe``."""
    d = model.config.latent_dim
    eye = torch.eye(d, device=model.device) * probe  # (D, D)
    centre = model.decode_mean(torch.zeros(1, d, device=model.device))  # (1, C, H, W)
    change = [(model.decode_mean(sign * eye) - centre).abs().flatten(1).mean(1) for sign in (-1, 1)]  # 2 x (D,)
    return sorted(range(d), key=lambda i: -float(change[0][i] + change[1][i]))


def prior_latents(model, n: int, seed: int = 0, temperature: float = 1.0) -> torch.Tensor:
    """n latents z ~ N(0, temperature^2 I) drawn from a generator seeded with ``seed``."""
    g = make_generator(seed, model.device)
    return torch.randn(n, model.config.latent_dim, generator=g, device=model.device) * temperature


def prior_latent(model, seed: int = 0, temperature: float = 1.0) -> torch.Tensor:
    """The first latent ``sample`` draws for the same seed: the start of a traversal."""
    return prior_latents(model, 1, seed, temperature)[0]


@torch.no_grad()
def latent_manifold(model, n: int = 20, extent: float = 0.95) -> torch.Tensor:
    """The classic picture for a 2-D latent (Kingma & Welling 2014, fig. 4): an n x n grid of
    z = Phi^-1(u) for u evenly spaced in [1 - extent, extent], decoded. Row 0 is the largest z2."""
    if model.config.latent_dim != 2:
        raise ValueError("the latent manifold needs a model with a 2-D latent")
    u = torch.linspace(1 - extent, extent, n)
    q = Normal(0.0, 1.0).icdf(u)
    z1, z2 = torch.meshgrid(q, q.flip(0), indexing="xy")
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1).to(model.device)
    return model.decode_mean(z).cpu()


def fit_latent(
    model,
    y: torch.Tensor,
    noise: str = "gaussian",
    level: float = 0.3,
    mask: torch.Tensor | None = None,
    steps: int = 100,
    lr: float = 0.05,
) -> torch.Tensor:
    """Restore a corrupted image by MAP inference in latent space (Bora et al. 2017, "Compressed
    sensing using generative models"): start at the encoder's guess and minimise

        -log p(y | decode(z)) - log N(z; 0, I)

    with a noise model that matches the corruption: Gaussian (L2 with the noise std), salt-and-pepper
    (L1, robust to the outliers), or a mask (L2 on the pixels that are still observed).
    Returns the decoded mean of the fitted z; with a ``mask``, only where the pixels are missing (the
    observed ones are known, as in inpainting).
    """
    y = y.to(model.device)
    weight = torch.ones_like(y) if mask is None else mask.to(y)
    with torch.no_grad():
        z0 = model.encode(y)[0]
    z = z0.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=lr)
    scale = max(level, 0.05) if noise == "gaussian" else 0.1
    trainable = [p for p in model.parameters() if p.requires_grad]
    for p in trainable:  # gradients for z only
        p.requires_grad_(False)
    try:
        for _ in range(steps):
            residual = (y - model.decode_mean(z)) * weight
            if noise == "salt_and_pepper":
                data_term = residual.abs().flatten(1).sum(1) / scale
            else:
                data_term = residual.pow(2).flatten(1).sum(1) / (2 * scale**2)
            loss = (data_term + 0.5 * z.pow(2).sum(1)).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    finally:
        for p in trainable:
            p.requires_grad_(True)
    with torch.no_grad():
        fitted = model.decode_mean(z)
        return (fitted if mask is None else weight * y + (1 - weight) * fitted).cpu()
