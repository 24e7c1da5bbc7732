"""A VAE small enough to train in front of a class: scikit-learn's 8x8 digits and a two-layer MLP.

``LiveRun`` holds the data, the model and the optimiser, and advances by ``train_for(seconds)``; its
``evaluate()`` splits the held-out ELBO into its two terms. With ``beta = 0`` the model is a plain
autoencoder (z is the encoder's mean, no noise, no KL in the loss); ``beta = 1`` is a VAE, larger
values a beta-VAE (Higgins et al., ICLR 2017). The data ship with scikit-learn, so it works offline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vae_demo.core.distributions import DiagonalGaussian

DIGIT_SIDE = 8  # scikit-learn's digits are 8x8, intensities 0-16


def load_digits_tensor() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as (N, 1, 8, 8) intensities in [0, 1], and their classes (N,)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0
    return images, torch.tensor(digits.target, dtype=torch.int64)


class TinyVAE(nn.Module):
    """MLP encoder 64 -> hidden -> hidden -> (mu, logvar); MLP decoder back to 64 Bernoulli logits."""

    def __init__(self, latent_dim: int = 2, hidden: int = 256) -> None:
        super().__init__()
        pixels = DIGIT_SIDE * DIGIT_SIDE
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Flatten(),
            nn.Linear(pixels, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, 2 * latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, pixels)
        )

    def posterior(self, x: torch.Tensor) -> DiagonalGaussian:
        mean, logvar = self.encoder(x).chunk(2, dim=1)  # (N, d) each
        return DiagonalGaussian(mean, logvar)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of the Bernoulli pixel probabilities, (N, 1, 8, 8)."""
        return self.decoder(z).view(-1, 1, DIGIT_SIDE, DIGIT_SIDE)


@dataclass
class Terms:
    """The held-out ELBO in its two parts, in nats per digit."""

    reconstruction: float  # E_q[log p(x|z)]
    kl: float  # KL(q(z|x) || N(0, I))

    @property
    def elbo(self) -> float:
        return self.reconstruction - self.kl


def elbo_terms(
    model: TinyVAE, x: torch.Tensor, sample: bool, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, DiagonalGaussian]:
    """(log p(x|z) per digit, KL per digit, q): the pixels are Bernoulli probabilities (cross-entropy).

    Without ``sample`` (the autoencoder) z is the mean and the encoder's variance is never trained, so the KL
    shown is that of N(mu, I): how far the codes stray from the prior, which the autoencoder never pays for.
    """
    q = model.posterior(x)
    if not sample:
        q = DiagonalGaussian(q.mean, torch.zeros_like(q.mean))
    z = q.sample(generator) if sample else q.mode()
    recon = -F.binary_cross_entropy_with_logits(model.decode(z), x, reduction="none").flatten(1).sum(1)
    return recon, q.kl(dims=(-1,)), q


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread inside the block: a tiny MLP's steps are too small to share between threads,
    and on a busy 2-core machine two threads made them 40 times slower (8 instead of 325 steps in 2 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class LiveRun:
    """One live training run: ``train_for(seconds)`` advances it, ``evaluate()`` measures it."""

    def __init__(
        self,
        beta: float = 1.0,
        latent_dim: int = 2,
        lr: float = 3e-3,
        seed: int = 0,
        batch_size: int = 128,
        held_out: int = 360,
    ) -> None:
        torch.manual_seed(seed)
        images, labels = load_digits_tensor()
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
        self.train_x = images[order[held_out:]]
        self.test_x, self.test_y = images[order[:held_out]], labels[order[:held_out]]
        self.beta, self.batch_size = beta, batch_size
        self.model = TinyVAE(latent_dim)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.step = 0

    @property
    def is_autoencoder(self) -> bool:
        return self.beta == 0

    def train_for(self, seconds: float) -> None:
        """Optimiser steps until ``seconds`` have passed (at least one)."""
        self.model.train()
        end = time.monotonic() + seconds
        with one_thread():
            self._steps_until(end)

    def _steps_until(self, end: float) -> None:
        while True:
            idx = torch.randint(len(self.train_x), (self.batch_size,), generator=self.generator)
            recon, kl, _ = elbo_terms(
                self.model, self.train_x[idx], sample=not self.is_autoencoder, generator=self.generator
            )
            loss = -(recon - self.beta * kl).mean()  # the negative (beta-)ELBO per digit
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.step += 1
            if time.monotonic() >= end:
                return

    @torch.no_grad()
    def evaluate(self) -> tuple[Terms, torch.Tensor]:
        """The held-out ELBO's terms and the held-out digits' posterior means (N, d)."""
        self.model.eval()
        recon, kl, q = elbo_terms(
            self.model, self.test_x, sample=not self.is_autoencoder, generator=torch.Generator().manual_seed(0)
        )
        return Terms(recon.mean().item(), kl.mean().item()), q.mean

    @torch.no_grad()
    def prior_samples(self, n: int = 64, seed: int = 0) -> torch.Tensor:
        """Decoded z ~ N(0, I): pixel probabilities (n, 1, 8, 8). An autoencoder never learnt this region."""
        self.model.eval()
        z = torch.randn(n, self.model.latent_dim, generator=torch.Generator().manual_seed(seed))
        return torch.sigmoid(self.model.decode(z))

    @torch.no_grad()
    def reconstructions(self, n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``n`` held-out digits and their reconstructions from the posterior mean."""
        self.model.eval()
        x = self.test_x[:n]
        return x, torch.sigmoid(self.model.decode(self.model.posterior(x).mode()))
