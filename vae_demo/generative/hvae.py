"""A hierarchical (ladder) VAE for binarised digits: three stochastic layers, inferred top-down.

The generative model is p(z3) p(z2 | z3) p(z1 | z2, z3) p(x | z1, z2, z3): z3 is a global vector, z2 a coarse map
(7 x 7) and z1 a finer one (14 x 14). Inference shares the top-down path, as in the Ladder VAE (Sønderby et al.
2016), IAF's bidirectional inference (Kingma et al. 2016) and NVAE (Vahdat and Kautz 2020): a bottom-up pass
reads the image once, then q(z_l | x, z_>l) is computed from the bottom-up features of layer l and the top-down
state that the layers above have written. Each layer adds its own KL term to the ELBO; more layers let the
posterior and the prior be non-Gaussian as a whole, which is what tightens the bound (see ``Ladder VAE``).

Shapes for 28 x 28 digits with ``width`` C: bottom-up features h14 (C, 14, 14) -> h7 (C, 7, 7); top-down state
(C, 7, 7) -> (C, 14, 14) -> logits (1, 28, 28).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from vae_demo.catalog import FAMILIES
from vae_demo.core.config import Config
from vae_demo.core.distributions import DiagonalGaussian, standard_normal_log_prob
from vae_demo.generative.losses import reconstruction_log_prob
from vae_demo.generative.model import PreActResBlock
from vae_demo.generative.pixel_head import PixelHead


@dataclass
class HVAEConfig(Config):
    """Everything needed to rebuild a ``LadderVAE``; saved beside the weights as ``config.json``."""

    image_size: int = 28
    in_channels: int = 1
    width: int = 64  # channels of every feature map
    top_dim: int = 32  # z3, the global latent
    mid_channels: int = 8  # z2 at image_size / 4
    low_channels: int = 4  # z1 at image_size / 2
    pixel_width: int = 0  # channels of an autoregressive head on the decoder (``pixel_head``); 0: none
    pixel_layers: int = 2  # its masked 3x3 layers after the first 7x7
    likelihood: str = "bernoulli"
    name: str = "mnist-hvae"
    labels: tuple[str, ...] = field(default_factory=tuple)
    architecture: str = FAMILIES["hvae"].architecture

    def __post_init__(self) -> None:
        if self.image_size % 4:
            raise ValueError(f"image_size must be divisible by 4 (two halvings), got {self.image_size}")
        if self.likelihood != "bernoulli":
            raise ValueError("the ladder VAE models binarised images: likelihood 'bernoulli'")
        if self.pixel_width and self.in_channels != 1:
            raise ValueError("the autoregressive head (pixel_width > 0) is for one-channel images")
        self.labels = tuple(self.labels)

    @property
    def layer_sizes(self) -> tuple[int, int, int]:
        """Latent numbers per image in z3, z2 and z1 (top first)."""
        s = self.image_size
        return self.top_dim, self.mid_channels * (s // 4) ** 2, self.low_channels * (s // 2) ** 2

    @property
    def latent_dim(self) -> int:
        """Latent numbers per image, all layers together."""
        return sum(self.layer_sizes)


@dataclass
class HVAEOutput:
    """One pass with z ~ q(z | x): the decoder's logits, log p(x | z) and each layer's KL per image (nats, top
    first, each given the layers above as drawn), and one importance weight."""

    logits: torch.Tensor  # (B, C, H, W)
    log_px: torch.Tensor  # (B,)
    kl: list[torch.Tensor]  # [(B,), (B,), (B,)] for z3, z2, z1
    log_weight: torch.Tensor  # (B,) log p(x, z) - log q(z | x) at the drawn z: one importance weight


def _gaussian(moments: torch.Tensor) -> DiagonalGaussian:
    mean, logvar = moments.chunk(2, dim=1)
    return DiagonalGaussian(mean, logvar.clamp(-12.0, 8.0))


class Stochastic(nn.Module):
    """One latent map of the top-down path: p(z | state), q(z | state, bottom-up features), and z back into it."""

    def __init__(self, width: int, channels: int) -> None:
        super().__init__()
        self.prior = nn.Conv2d(width, 2 * channels, 3, padding=1)
        self.posterior = nn.Conv2d(2 * width, 2 * channels, 3, padding=1)
        self.inject = nn.Conv2d(channels, width, 3, padding=1)
        self.block = PreActResBlock(width)
        nn.init.zeros_(self.prior.weight)  # start as N(0, I), a standard prior
        nn.init.zeros_(self.prior.bias)

    def draw(self, state, generator=None, temperature: float = 1.0) -> torch.Tensor:
        """z ~ p(z | state), its std scaled by ``temperature``."""
        p = _gaussian(self.prior(state))
        return p.mean + temperature * p.std * torch.randn(p.mean.shape, generator=generator, device=state.device)

    def apply(self, state: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The top-down state after writing ``z`` into it."""
        return self.block(state + self.inject(z))

    def forward(self, state, features=None, generator=None, temperature: float = 1.0):
        """(new state, KL per image or None, log p(z) - log q(z) per image or None); without ``features`` z is
        drawn from the prior (sampling), else from the posterior."""
        if features is None:
            return self.apply(state, self.draw(state, generator, temperature)), None, None
        p = _gaussian(self.prior(state))
        q = _gaussian(self.posterior(torch.cat([state, features], dim=1)))
        z = q.sample(generator)
        log_ratio = p.log_prob(z, dims=(1, 2, 3)) - q.log_prob(z, dims=(1, 2, 3))
        return self.apply(state, z), q.kl(p, dims=(1, 2, 3)), log_ratio


def _down(width: int) -> nn.Sequential:
    return nn.Sequential(nn.SiLU(), nn.Conv2d(width, width, 4, stride=2, padding=1), PreActResBlock(width))


def _up(width: int) -> nn.Sequential:
    return nn.Sequential(nn.SiLU(), nn.ConvTranspose2d(width, width, 4, stride=2, padding=1), PreActResBlock(width))


class LadderVAE(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="vae-demo",
    tags=["vae", "hierarchical-vae", "image-generation", "pytorch"],
    repo_url="https://huggingface.co/spaces/vae-demo/vae-demo",
):
    """Three stochastic layers (z3 global, z2 at 1/4, z1 at 1/2 of the image side), top-down inference."""

    def __init__(self, config: HVAEConfig | dict | None = None) -> None:
        super().__init__()
        config = HVAEConfig.from_dict(config) if isinstance(config, dict) else (config or HVAEConfig())
        self.config = config
        c, s = config.width, config.image_size // 4
        self.stem = nn.Sequential(nn.Conv2d(config.in_channels, c, 4, stride=2, padding=1), PreActResBlock(c))  # h14
        self.down = _down(c)  # h14 -> h7
        self.top_posterior = nn.Sequential(nn.SiLU(), nn.Flatten(), nn.Linear(c * s * s, 2 * config.top_dim))
        self.top_inject = nn.Linear(config.top_dim, c * s * s)
        self.mid = Stochastic(c, config.mid_channels)
        self.up_half = _up(c)
        self.low = Stochastic(c, config.low_channels)
        self.to_logits = nn.Sequential(nn.SiLU(), nn.ConvTranspose2d(c, config.in_channels, 4, stride=2, padding=1))
        self.pixel = PixelHead(c, config.pixel_width, config.pixel_layers) if config.pixel_width else None

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _top_state(self, z3: torch.Tensor) -> torch.Tensor:
        s = self.config.image_size // 4
        return self.top_inject(z3).view(-1, self.config.width, s, s)  # (B, C, s, s)

    def _images(self, state: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """What the decoder gives for the final top-down state: the pixel means in [0, 1]; with an autoregressive
        head, binary images drawn pixel by pixel (its pixels have no mean that one pass computes)."""
        logits = self.to_logits(state)
        return torch.sigmoid(logits) if self.pixel is None else self.pixel.sample(logits, state, generator)

    def bottom_up(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The deterministic features of x that the posteriors read: (B, C, 14, 14) and (B, C, 7, 7)."""
        h14 = self.stem(x)
        return h14, self.down(h14)

    def forward(
        self,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
        features: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> HVAEOutput:
        """x (B, C, H, W) binarised -> logits, per-layer KL and one importance weight, z ~ q(z | x); ``features``:
        ``bottom_up(x)`` when already computed."""
        h14, h7 = self.bottom_up(x) if features is None else features
        q3 = _gaussian(self.top_posterior(h7))
        z3 = q3.sample(generator)  # (B, top_dim)
        kl3 = q3.kl(dims=(1,))
        log_ratio3 = standard_normal_log_prob(z3) - q3.log_prob(z3)
        state, kl2, log_ratio2 = self.mid(self._top_state(z3), h7, generator)
        state, kl1, log_ratio1 = self.low(self.up_half(state), h14, generator)
        logits = self.to_logits(state)
        if self.pixel is not None:
            logits = logits + self.pixel(x, state)  # each pixel also reads the pixels before it
        log_px = reconstruction_log_prob(x, logits, "bernoulli")
        return HVAEOutput(logits, log_px, [kl3, kl2, kl1], log_px + log_ratio3 + log_ratio2 + log_ratio1)

    def elbo(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One-sample ELBO per image (nats): log p(x | z) minus every layer's analytic KL."""
        out = self(x, generator)
        return out.log_px - sum(out.kl)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        top: torch.Tensor | None = None,
        mid: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """n images from the prior (``_images``: means, or binary with a head); ``top`` (n, top_dim) fixes z3 and
        redraws only the layers below it (what the lower layers decide); ``mid`` (n, mid_channels, s, s) fixes z2 as
        well."""
        if top is None:
            top = temperature * torch.randn(n, self.config.top_dim, generator=generator, device=self.device)
        state = self._top_state(top)
        state = self.mid.apply(state, self.mid.draw(state, generator, temperature) if mid is None else mid)
        state, _, _ = self.low(self.up_half(state), None, generator, temperature)
        return self._images(state, generator)

    @torch.no_grad()
    def draw_top(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0):
        """(z3, z2) drawn from the prior: the two upper layers of n samples, to hold fixed in ``sample``."""
        top = temperature * torch.randn(n, self.config.top_dim, generator=generator, device=self.device)
        return top, self.mid.draw(self._top_state(top), generator, temperature)

    @torch.no_grad()
    def reconstruct_to_depth(self, x: torch.Tensor, depth: int, generator: torch.Generator | None = None):
        """Images (``_images``) whose top ``depth`` layers (1: z3; 2: z3 and z2; 3: all) are drawn from q(z | x) and
        the rest from the prior: how much of the digit each layer pins down. x (B, C, H, W) binarised."""
        if depth not in (1, 2, 3):
            raise ValueError(f"depth is the number of layers taken from the posterior, 1-3; got {depth}")
        h14, h7 = self.bottom_up(x)
        z3 = _gaussian(self.top_posterior(h7)).sample(generator)
        state, _, _ = self.mid(self._top_state(z3), h7 if depth >= 2 else None, generator)
        state, _, _ = self.low(self.up_half(state), h14 if depth >= 3 else None, generator)
        return self._images(state, generator)

    @torch.no_grad()
    def log_likelihood(self, x: torch.Tensor, k: int = 1000, chunk: int = 100, generator=None) -> torch.Tensor:
        """log p(x) per image by importance sampling with the posterior (Burda et al. 2016): logsumexp of k weights
        minus log k; a lower bound in expectation that tightens as k grows."""
        weights, features = [], self.bottom_up(x)  # the same for every sample: computed once
        for start in range(0, k, chunk):
            s = min(chunk, k - start)
            xs, h14, h7 = (t.repeat_interleave(s, dim=0) for t in (x, *features))  # (B * s, ...): each image s times
            weights.append(self(xs, generator, (h14, h7)).log_weight.view(x.shape[0], s))
        return torch.logsumexp(torch.cat(weights, dim=1), dim=1) - math.log(k)
