"""A convolutional VAE, built bottom-up: PreActResBlock -> Encoder / Decoder -> ConvVAE.

The encoder halves the resolution once per entry of ``config.channels`` (a strided convolution, then
``blocks_per_level`` residual blocks at that width) and ends in a linear layer that gives the mean
and log-variance of q(z|x); the decoder mirrors it with transposed convolutions. No layer runs at
full resolution, which keeps training and the 1000-sample likelihood estimate cheap on a CPU. ``ConvVAE`` follows the
pytorch/examples naming (``encode``, ``reparameterize``, ``decode``, ``forward -> (recon, mu, logvar)``)
and inherits ``PyTorchModelHubMixin`` so ``save_pretrained`` / ``from_pretrained`` write and read
``config.json`` + ``model.safetensors``.

With ``num_classes`` > 0 the VAE is class-conditional (Kingma et al. 2014, "M2"; Sohn et al. 2015): the
one-hot label y enters the encoder as extra input channels (constant maps), q(z|x, y), and is joined to z
before the decoder, p(x|z, y), so z keeps the style and y the class. ``encode`` / ``posterior`` / ``decode`` /
``forward`` then need ``y`` (class indices, or one int for the whole batch); with ``num_classes`` 0
(the default) the layers and weights are exactly those of an unconditional VAE.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from vae_demo.core.config import Config
from vae_demo.core.distributions import DiagonalGaussian
from vae_demo.generative.losses import LIKELIHOODS, likelihood_mean


@dataclass
class VAEConfig(Config):
    """Everything needed to rebuild a ``ConvVAE``; saved beside the weights as ``config.json``."""

    image_size: int = 28
    in_channels: int = 1
    latent_dim: int = 32
    channels: tuple[int, ...] = (32, 64)
    blocks_per_level: int = 1
    likelihood: str = "bernoulli"
    name: str = "vae"
    labels: tuple[str, ...] = field(default_factory=tuple)
    num_classes: int = 0  # > 0: class-conditional, q(z|x, y) and p(x|z, y) with a one-hot y
    style_temperature: float = 1.0  # a conditional model's styles are drawn and encoded at this scale of z

    def __post_init__(self) -> None:
        self.channels = tuple(int(c) for c in self.channels)
        self.labels = tuple(self.labels)
        if self.num_classes < 0:
            raise ValueError(f"num_classes must be 0 (unconditional) or more, got {self.num_classes}")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        if self.image_size % (2 ** len(self.channels)):
            raise ValueError(
                f"image_size {self.image_size} must be divisible by 2**{len(self.channels)} "
                f"(one halving per entry of channels={self.channels})"
            )

    @property
    def bottleneck_size(self) -> int:
        return self.image_size // 2 ** len(self.channels)


def one_hot(y: torch.Tensor | int | None, num_classes: int, batch: int, device: torch.device) -> torch.Tensor | None:
    """Labels as a (batch, num_classes) one-hot float tensor; None for an unconditional model.

    ``y`` is a tensor of class indices shaped (batch,), or one int (or 0-D tensor) for the whole batch.
    """
    if num_classes == 0:
        if y is not None:
            raise ValueError("this VAE is unconditional (num_classes 0): it takes no label y")
        return None
    if y is None:
        raise ValueError(f"this VAE is class-conditional: give the labels y (0 to {num_classes - 1})")
    y = torch.as_tensor(y, device=device).long()
    if y.ndim == 0:
        y = y.expand(batch)
    if y.shape != (batch,):
        raise ValueError(f"y must hold one label per image: expected shape ({batch},), got {tuple(y.shape)}")
    if y.numel() and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must be between 0 and {num_classes - 1}")
    return nn.functional.one_hot(y, num_classes).float()


class PreActResBlock(nn.Module):
    """x + conv(silu(conv(silu(x)))): a pre-activation residual block at constant width."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(self.act(x))))


class Encoder(nn.Module):
    """Image (and one-hot label, as extra input channels) -> (mu, logvar) of q(z|x) or q(z|x, y)."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = cfg.in_channels + cfg.num_classes
        for c in cfg.channels:
            layers += [nn.Conv2d(prev, c, 4, stride=2, padding=1), nn.SiLU()]
            layers += [PreActResBlock(c) for _ in range(cfg.blocks_per_level)]
            prev = c
        layers += [nn.SiLU(), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.to_moments = nn.Linear(cfg.channels[-1] * cfg.bottleneck_size**2, 2 * cfg.latent_dim)

    def forward(self, x: torch.Tensor, y_onehot: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if y_onehot is not None:  # (B, K) -> K constant maps beside the image: (B, C_in + K, H, W)
            maps = y_onehot.to(x)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
            x = torch.cat([x, maps], dim=1)
        mu, logvar = self.to_moments(self.features(x)).chunk(2, dim=1)  # (B, D) each
        return mu, logvar


class Decoder(nn.Module):
    """Latent z (and one-hot label) -> parameters of p(x|z) or p(x|z, y) (logits or means), one value per pixel
    and channel."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        ch, r = cfg.channels, cfg.bottleneck_size
        self.from_latent = nn.Linear(cfg.latent_dim + cfg.num_classes, ch[-1] * r * r)
        self.shape = (ch[-1], r, r)
        layers: list[nn.Module] = []
        for i in reversed(range(len(ch))):
            out = ch[i - 1] if i > 0 else cfg.in_channels
            layers += [PreActResBlock(ch[i]) for _ in range(cfg.blocks_per_level)]
            layers += [nn.SiLU(), nn.ConvTranspose2d(ch[i], out, 4, stride=2, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y_onehot: torch.Tensor | None = None) -> torch.Tensor:
        if y_onehot is not None:
            z = torch.cat([z, y_onehot.to(z)], dim=1)  # (B, D + K)
        return self.body(self.from_latent(z).view(-1, *self.shape))  # (B, C_in, H, W)


class ConvVAE(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="vae-demo",
    tags=["vae", "image-generation", "pytorch"],
    repo_url="https://huggingface.co/spaces/vae-demo/vae-demo",
):
    """A convolutional VAE with a standard-normal prior and a diagonal Gaussian posterior."""

    def __init__(self, config: VAEConfig | dict | None = None) -> None:
        super().__init__()
        if config is None:
            config = VAEConfig()
        elif isinstance(config, dict):
            config = VAEConfig.from_dict(config)
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        if config.likelihood in ("gaussian", "laplace"):
            # One learned log-scale per channel for the continuous likelihoods.
            self.log_scale = nn.Parameter(torch.full((config.in_channels,), -2.0))

    # --- pytorch/examples names -------------------------------------------------------------
    def _onehot(self, y: torch.Tensor | int | None, batch: int, device: torch.device) -> torch.Tensor | None:
        return one_hot(y, self.config.num_classes, batch, device)

    def encode(self, x: torch.Tensor, y: torch.Tensor | int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C, H, W) [, labels y (B,)] -> mu, logvar (B, D)."""
        return self.encoder(x, self._onehot(y, x.shape[0], x.device))

    def reparameterize(
        self, mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return DiagonalGaussian(mu, logvar).sample(generator)

    def decode(self, z: torch.Tensor, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """z (B, D) [, labels y (B,)] -> decoder output (B, C, H, W)."""
        return self.decoder(z, self._onehot(y, z.shape[0], z.device))

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None, y: torch.Tensor | int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x, y)
        return self.decode(self.reparameterize(mu, logvar, generator), y), mu, logvar

    # --- helpers used by training and inference ----------------------------------------------
    @property
    def conditional(self) -> bool:
        return self.config.num_classes > 0

    def posterior(self, x: torch.Tensor, y: torch.Tensor | int | None = None) -> DiagonalGaussian:
        return DiagonalGaussian(*self.encode(x, y))

    def decode_mean(self, z: torch.Tensor, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """Decode to the mean image in [0, 1]."""
        return likelihood_mean(self.decode(z, y), self.config.likelihood)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device
