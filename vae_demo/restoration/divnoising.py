"""DivNoising (Prakash, Krull and Jug, ICLR 2021): a VAE that learns to denoise from noisy images alone.

The encoder maps a noisy image y to q(z | y), a latent map at a quarter of its resolution; the decoder
maps z to a clean signal s, and the likelihood is the *noise model* p(y | s) (``noise_models``), so
the objective is the ordinary ELBO of the noisy data,
    log p(y) >= E_q[log p_noise(y | s(z))] - KL(q(z|y) || N(0, I)).
Nothing tells the decoder what clean looks like: the noise model explains the pixel-wise noise, and
the KL makes it cheaper to encode the image's structure than its noise. Posterior samples are
plausible clean images; their mean is the MMSE estimate and their spread the uncertainty.

``fit_to_image`` trains a small one on the patches of a single noisy photo within a time budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from vae_demo.core.config import Config
from vae_demo.core.distributions import DiagonalGaussian
from vae_demo.restoration.model import UNetResBlock
from vae_demo.restoration.noise_models import NoiseModel


@dataclass
class DivNoisingConfig(Config):
    """Everything needed to rebuild a ``DivNoisingVAE``; saved beside the weights as ``config.json``."""

    name: str = "divnoising"
    architecture: str = "divnoising-vae"
    image_channels: int = 1
    width: int = 32  # channels at full resolution; doubled at each of the two halvings
    latent_channels: int = 32
    blocks: int = 1  # residual blocks per resolution


class DivNoisingVAE(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="vae-demo",
    tags=["vae", "divnoising", "unsupervised-denoising", "pytorch"],
):
    """q(z | y) by a strided CNN, s(z) by its mirror; the noise model is the likelihood (not a part)."""

    multiple = 4  # image sides must be a multiple of this

    def __init__(self, config: DivNoisingConfig | dict | None = None) -> None:
        super().__init__()
        config = DivNoisingConfig.from_dict(config) if isinstance(config, dict) else config or DivNoisingConfig()
        self.config = config
        w, c, n = config.width, config.image_channels, config.blocks
        self.encoder = nn.Sequential(
            nn.Conv2d(c, w, 3, padding=1),
            nn.LeakyReLU(0.1),
            *[UNetResBlock(w) for _ in range(n)],
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),
            nn.LeakyReLU(0.1),
            *[UNetResBlock(2 * w) for _ in range(n)],
            nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1),
            nn.LeakyReLU(0.1),
            *[UNetResBlock(4 * w) for _ in range(n)],
            nn.Conv2d(4 * w, 2 * config.latent_channels, 3, padding=1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(config.latent_channels, 4 * w, 3, padding=1),
            nn.LeakyReLU(0.1),
            *[UNetResBlock(4 * w) for _ in range(n)],
            nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2),
            nn.LeakyReLU(0.1),
            *[UNetResBlock(2 * w) for _ in range(n)],
            nn.ConvTranspose2d(2 * w, w, 2, stride=2),
            nn.LeakyReLU(0.1),
            *[UNetResBlock(w) for _ in range(n)],
            nn.Conv2d(w, c, 3, padding=1),
        )

    def encode(self, y: torch.Tensor) -> DiagonalGaussian:
        """q(z | y): (N, latent, H/4, W/4) means and log-variances."""
        mean, logvar = self.encoder(y - 0.5).chunk(2, dim=1)
        return DiagonalGaussian(mean, logvar)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The clean signal s(z), (N, C, H, W) on the 0-1 scale (not clipped)."""
        return self.decoder(z) + 0.5

    def forward(
        self, y: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, DiagonalGaussian]:
        q = self.encode(y)
        return self.decode(q.sample(generator)), q


def divnoising_loss(
    model: DivNoisingVAE,
    y: torch.Tensor,
    noise: NoiseModel,
    beta: float = 1.0,
    generator: torch.Generator | None = None,
) -> dict:
    """The negative ELBO per pixel: -log p_noise(y | s) + beta * KL, both averaged over pixels (nats)."""
    s, q = model(y, generator)
    nll = -noise.log_prob(y, s).mean()
    kl = q.kl(dims=(1, 2, 3)).mean() / y[0].numel()
    return {"loss": nll + beta * kl, "nll": nll, "kl": kl}


@dataclass
class Denoised:
    """The MMSE estimate (mean of K posterior samples), the samples, their per-pixel std and the KL."""

    mean: torch.Tensor  # (1, C, H, W) in [0, 1]
    samples: torch.Tensor  # (K, 1, C, H, W)
    std: torch.Tensor  # (1, C, H, W), 0-1 scale
    kl_per_image: float  # nats


@torch.no_grad()
def denoise(model: DivNoisingVAE, y: torch.Tensor, k: int = 16, seed: int = 0) -> Denoised:
    """Posterior samples s(z), z ~ q(z | y), of a (1, C, H, W) image (reflect-padded to a multiple of 4)."""
    model.eval()
    h, w = y.shape[-2:]
    pad = ((-w) % model.multiple, (-h) % model.multiple)
    yp = F.pad(y, (0, pad[0], 0, pad[1]), mode="reflect") if any(pad) else y
    q = model.encode(yp)
    g = torch.Generator().manual_seed(seed)
    samples = torch.stack([model.decode(q.sample(g))[..., :h, :w] for _ in range(max(1, k))])  # (K, 1, C, H, W)
    return Denoised(
        samples.mean(0).clamp(0, 1),
        samples.clamp(0, 1),
        samples.std(0) if k > 1 else torch.zeros_like(y),
        q.kl(dims=(1, 2, 3)).item(),
    )


def random_patches(y: torch.Tensor, n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """``n`` random size x size crops of a (1, C, H, W) image, flipped and rotated at random."""
    h, w = y.shape[-2:]
    size = min(size, h - h % 4, w - w % 4)
    out = []
    for _ in range(n):
        top = int(torch.randint(h - size + 1, (1,), generator=g))
        left = int(torch.randint(w - size + 1, (1,), generator=g))
        p = y[0, :, top : top + size, left : left + size]
        p = torch.rot90(p, int(torch.randint(4, (1,), generator=g)), dims=(1, 2))
        out.append(p.flip(2) if int(torch.randint(2, (1,), generator=g)) else p)
    return torch.stack(out)


def fit_to_image(
    y: torch.Tensor,
    noise: NoiseModel,
    seconds: float = 60.0,
    config: DivNoisingConfig | None = None,
    seed: int = 0,
    lr: float = 1e-3,
    batch: int = 8,
    patch: int = 64,
    kl_warmup_s: float = 0.2,
    on_progress: Callable[[DivNoisingVAE, int, float, dict], bool | None] | None = None,
    every_s: float = 2.0,
) -> DivNoisingVAE:
    """Train a DivNoising VAE on the patches of one noisy image for ``seconds``.

    ``on_progress(model, step, elapsed, losses)`` is called about every ``every_s`` seconds; returning
    True stops early. The KL weight rises from 0 over the first ``kl_warmup_s`` of the budget.
    """
    torch.manual_seed(seed)
    model = DivNoisingVAE(config or DivNoisingConfig(image_channels=y.shape[1]))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    start = last = time.monotonic()
    step = 0
    while (elapsed := time.monotonic() - start) < seconds:
        model.train()
        beta = min(1.0, elapsed / max(kl_warmup_s * seconds, 1e-6))
        losses = divnoising_loss(model, random_patches(y, batch, patch, g), noise, beta, g)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        step += 1
        if on_progress is not None and time.monotonic() - last >= every_s:
            last = time.monotonic()
            if on_progress(model, step, elapsed, {k: v.item() for k, v in losses.items()}):
                break
    return model
