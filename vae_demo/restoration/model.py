"""The restoration VAE: a conditional VAE over clean images given a degraded one.

Built bottom-up like the digit VAE: ``UNetResBlock`` -> ``ConditionEncoder`` (a U-Net encoder over the
degraded image y and a noise-level map) -> ``PosteriorNet`` q(z | x, y) and a prior head p(z | y) ->
``RestorationDecoder`` (the U-Net decoder, fed z at the lowest resolution) -> ``RestorationVAE``.

The latent z is a small spatial map at the U-Net's lowest resolution, so the model is fully
convolutional and runs on any image size (padded to a multiple of ``model.multiple``). As in the
Probabilistic U-Net (Kohl et al., NeurIPS 2018) the prior is a network on the degraded image and the
posterior sees the clean image too; training maximises the conditional ELBO
  log p(x|y) >= E_q[log p(x | z, y)] - KL(q(z|x,y) || p(z|y)).
Sampling z from p(z|y) gives distinct restorations; decoding the prior mean gives the mode.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from vae_demo.catalog import FAMILIES
from vae_demo.core.config import Config
from vae_demo.core.distributions import DiagonalGaussian


@dataclass
class RestorationConfig(Config):
    """Everything needed to rebuild a ``RestorationVAE``; saved beside the weights as ``config.json``."""

    name: str = "restore-vae"
    architecture: str = FAMILIES["restoration"].architecture
    image_channels: int = 3  # grey images are fed as three equal channels and averaged back
    widths: tuple[int, ...] = (32, 64, 96)  # U-Net widths, one per resolution (full, 1/2, 1/4, ...)
    blocks: tuple[int, ...] = (1, 1, 2)  # residual blocks per resolution, in the encoder and the decoder
    latent_channels: int = 4  # channels of z at the lowest resolution
    posterior_width: int = 32
    # How z reaches the finer levels: "nearest" repeats each latent cell over a block (the first models;
    # their sample spread shows the block grid), "bilinear" blends neighbouring cells smoothly.
    latent_upsample: str = "nearest"
    conditions: tuple[str, ...] = ()  # problems the model can be told (one input map each); none of them = blind
    # FFDNet's pixel-unshuffle (Zhang et al., IEEE TIP 2018): the U-Net runs on (C * r^2, H / r, W / r) and
    # its output is pixel-shuffled back, so every convolution costs r^2 times less per pixel of the photo.
    unshuffle: int = 1

    @classmethod
    def from_dict(cls, d: dict) -> RestorationConfig:
        if isinstance(d, dict) and "tasks" in d:  # config.json written before 0.2 called the conditions "tasks"
            d = {("conditions" if k == "tasks" else k): v for k, v in d.items()}
        return super().from_dict(d)

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)
        self.blocks = tuple(int(b) for b in self.blocks)
        self.conditions = tuple(self.conditions)
        if self.latent_upsample not in ("nearest", "bilinear"):
            raise ValueError(f"latent_upsample is 'nearest' or 'bilinear', got {self.latent_upsample!r}")
        if self.unshuffle < 1:
            raise ValueError(f"unshuffle is a factor of at least 1, got {self.unshuffle}")
        if len(self.widths) != len(self.blocks) or not self.widths:
            raise ValueError(f"widths {self.widths} and blocks {self.blocks} need one entry per resolution")


class UNetResBlock(nn.Module):
    """x + conv(relu(conv(x))): a residual block at constant width, no normalisation."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.LeakyReLU(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class ConditionEncoder(nn.Module):
    """(y, noise map, condition maps) -> U-Net features at every resolution, finest first."""

    def __init__(self, cfg: RestorationConfig) -> None:
        super().__init__()
        channels = cfg.image_channels * cfg.unshuffle**2  # y after pixel-unshuffle
        self.head = nn.Conv2d(channels + 1 + len(cfg.conditions), cfg.widths[0], 3, padding=1)
        self.levels = nn.ModuleList(
            nn.Sequential(*[UNetResBlock(w) for w in [width] * n])
            for width, n in zip(cfg.widths, cfg.blocks, strict=True)
        )
        self.downs = nn.ModuleList(nn.Conv2d(a, b, 3, stride=2, padding=1) for a, b in itertools.pairwise(cfg.widths))

    def forward(self, y: torch.Tensor, condition: torch.Tensor) -> list[torch.Tensor]:
        h = self.head(torch.cat([y, condition], dim=1))
        feats = []
        for i, level in enumerate(self.levels):
            if i:
                h = self.downs[i - 1](h)
            h = level(h)
            feats.append(h)
        return feats


class PosteriorNet(nn.Module):
    """q(z | x, y): strided convolutions over (clean, degraded) joined with y's coarsest features."""

    def __init__(self, cfg: RestorationConfig) -> None:
        super().__init__()
        w = cfg.posterior_width
        channels = 2 * cfg.image_channels * cfg.unshuffle**2  # (x, y) after pixel-unshuffle
        layers: list[nn.Module] = [nn.Conv2d(channels, w, 3, padding=1), nn.LeakyReLU(0.1)]
        for _ in range(len(cfg.widths) - 1):
            layers += [nn.Conv2d(w, w, 3, stride=2, padding=1), nn.LeakyReLU(0.1)]
        self.body = nn.Sequential(*layers)
        self.unshuffle = cfg.unshuffle
        self.out = nn.Sequential(
            nn.Conv2d(w + cfg.widths[-1], w, 3, padding=1),
            nn.LeakyReLU(0.1),
            nn.Conv2d(w, 2 * cfg.latent_channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor, coarsest: torch.Tensor) -> DiagonalGaussian:
        xy = F.pixel_unshuffle(torch.cat([x, y], dim=1), self.unshuffle)  # (N, 2C r^2, H / r, W / r)
        h = torch.cat([self.body(xy), coarsest], dim=1)
        mean, logvar = self.out(h).chunk(2, dim=1)
        return DiagonalGaussian(mean, logvar)


class RestorationDecoder(nn.Module):
    """(z, U-Net features, y) -> mean of p(x | z, y) = y + a predicted residual."""

    def __init__(self, cfg: RestorationConfig) -> None:
        super().__init__()
        widths = cfg.widths
        self.join = nn.Conv2d(widths[-1] + cfg.latent_channels, widths[-1], 3, padding=1)
        self.levels = nn.ModuleList(
            nn.Sequential(*[UNetResBlock(w) for w in [width] * n]) for width, n in zip(widths, cfg.blocks, strict=True)
        )
        self.ups = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in itertools.pairwise(widths))
        # z also reaches every finer level (upsampled, through a 1x1 convolution), so the decoder cannot
        # easily ignore it behind the skip connections.
        self.inject = nn.ModuleList(nn.Conv2d(cfg.latent_channels, w, 1) for w in widths[:-1])
        self.tail = nn.Conv2d(widths[0], cfg.image_channels * cfg.unshuffle**2, 3, padding=1)
        self.latent_upsample = cfg.latent_upsample
        self.unshuffle = cfg.unshuffle

    def forward(self, z: torch.Tensor, feats: list[torch.Tensor], y: torch.Tensor) -> torch.Tensor:
        h = self.levels[-1](self.join(torch.cat([feats[-1], z], dim=1)))
        for i in reversed(range(len(feats) - 1)):
            z_up = F.interpolate(
                z,
                size=feats[i].shape[-2:],
                mode=self.latent_upsample,
                **({"align_corners": False} if self.latent_upsample == "bilinear" else {}),
            )
            h = self.levels[i](self.ups[i](h) + feats[i] + self.inject[i](z_up))
        return y + F.pixel_shuffle(self.tail(h), self.unshuffle)  # (N, C, H, W)


class RestorationVAE(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="vae-demo",
    tags=["vae", "image-restoration", "denoising", "pytorch"],
    repo_url="https://huggingface.co/spaces/vae-demo/vae-demo",
):
    """p(x | y) = integral of p(x | z, y) p(z | y) dz, with q(z | x, y) for training."""

    def __init__(self, config: RestorationConfig | dict | None = None) -> None:
        super().__init__()
        if config is None:
            config = RestorationConfig()
        elif isinstance(config, dict):
            config = RestorationConfig.from_dict(config)
        self.config = config
        self.condition = ConditionEncoder(config)
        self.prior_head = nn.Conv2d(config.widths[-1], 2 * config.latent_channels, 3, padding=1)
        self.posterior_net = PosteriorNet(config)
        self.decoder = RestorationDecoder(config)
        # Learned log-scale of the Laplace likelihood p(x | z, y), one per channel.
        self.log_scale = nn.Parameter(torch.full((config.image_channels,), -3.0))

    @property
    def multiple(self) -> int:
        """Image sides must be a multiple of this (the U-Net halves them len(widths) - 1 times)."""
        return self.config.unshuffle * 2 ** (len(self.config.widths) - 1)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # --- the conditional VAE's parts --------------------------------------------------------
    def condition_code(self, condition: str | None | list) -> torch.Tensor:
        """One-hot rows (N or 1, len(config.conditions)) for condition names; None or "" is blind (all zeros)."""
        names = condition if isinstance(condition, (list, tuple)) else [condition]
        code = torch.zeros(len(names), len(self.config.conditions))
        for i, name in enumerate(names):
            if name:
                if name not in self.config.conditions:
                    raise ValueError(f"this model knows the conditions {self.config.conditions}, not {name!r}")
                code[i, self.config.conditions.index(name)] = 1.0
        return code

    def features(
        self, y: torch.Tensor, noise_sigma: torch.Tensor | float, condition: str | None | list | torch.Tensor = None
    ) -> list[torch.Tensor]:
        """U-Net features of the degraded image; ``noise_sigma`` is the noise std on the 0-1 scale and
        ``condition`` the problem to fix (a name from ``config.conditions``, one per image, a one-hot tensor,
        or None: blind)."""
        y = F.pixel_unshuffle(y, self.config.unshuffle)  # (N, C r^2, H / r, W / r)
        n, _, h, w = y.shape
        sigma = torch.as_tensor(noise_sigma, dtype=y.dtype, device=y.device).reshape(-1, 1, 1, 1).expand(n, 1, h, w)
        code = condition if isinstance(condition, torch.Tensor) else self.condition_code(condition)
        code = code.to(y.device, y.dtype).reshape(code.shape[0], len(self.config.conditions), 1, 1).expand(n, -1, h, w)
        return self.condition(y, torch.cat([sigma, code], dim=1))

    def prior(self, feats: list[torch.Tensor]) -> DiagonalGaussian:
        """p(z | y)."""
        mean, logvar = self.prior_head(feats[-1]).chunk(2, dim=1)
        return DiagonalGaussian(mean, logvar)

    def encode(self, x: torch.Tensor, y: torch.Tensor, feats: list[torch.Tensor]) -> DiagonalGaussian:
        """q(z | x, y): the approximate posterior, which sees the clean image."""
        return self.posterior_net(x, y, feats[-1])

    def reparameterize(self, dist: DiagonalGaussian, generator: torch.Generator | None = None) -> torch.Tensor:
        return dist.sample(generator)

    def decode(self, z: torch.Tensor, feats: list[torch.Tensor], y: torch.Tensor) -> torch.Tensor:
        """Mean of p(x | z, y), not clipped."""
        return self.decoder(z, feats, y)

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        noise_sigma: torch.Tensor | float,
        condition: str | None | list | torch.Tensor = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, DiagonalGaussian, DiagonalGaussian, list[torch.Tensor]]:
        """Training pass: (reconstruction from z ~ q, posterior q, prior p, features)."""
        feats = self.features(y, noise_sigma, condition)
        posterior = self.encode(x, y, feats)
        recon = self.decode(self.reparameterize(posterior, generator), feats, y)
        return recon, posterior, self.prior(feats), feats
