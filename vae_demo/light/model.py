"""The light-and-colour VAE: a conditional VAE (Sohn et al. 2015) over how to re-light a photo.

A small CNN reads a thumbnail of the degraded photo y (short side ``config.thumb_size``) and predicts, on a coarse
grid (stride ``config.grid_stride`` of the thumbnail), a per-cell colour transform in linear light: a per-channel
log-gain, a 3x3 channel mix and a non-positive offset (haze's airlight is subtracted, never added). The grid is
bilinearly upsampled to the photo's full resolution and applied there, then a global per-channel monotone tone
curve (piecewise linear, f(0) = 0) maps the sRGB result, as HDRNet (Gharbi et al. 2017) does with its bilateral
grid, simplified. The output is a smooth re-lighting of the input pixels, so it cannot invent structure, and a
black pixel stays black.

The latent z is one global vector (exposure, white balance, tone): q(z | y, x) sees the clean photo while
training, p(z | y) is predicted from the degraded one; the mode decodes the prior mean, samples decode prior draws
(alternative exposures and white balances).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from vae_demo.catalog import FAMILIES
from vae_demo.core.config import Config
from vae_demo.core.distributions import DiagonalGaussian
from vae_demo.light.pipeline import linear_to_srgb, srgb_to_linear

COEFFS = 12  # per grid cell: 3 log-gains, 6 off-diagonal mixes, 3 offsets
CURVE_TABLE = 512  # entries of the fused sRGB + tone curve table


@dataclass
class LightConfig(Config):
    """Everything needed to rebuild a ``LightVAE``; saved beside the weights as ``config.json``."""

    name: str = "light-vae"
    architecture: str = FAMILIES["light"].architecture
    thumb_size: int = 128  # the networks see the photo resized to this short side
    widths: tuple[int, ...] = (16, 32, 64)  # stride-2 convolutions down to the grid (stride 2**len)
    global_width: int = 64  # the global (whole-photo) feature vector
    latent_dim: int = 8
    posterior_width: int = 32
    curve_knots: int = 16  # segments of the global tone curve

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)
        if not self.widths or self.thumb_size < 2 ** (len(self.widths) + 1):
            raise ValueError(f"thumb_size {self.thumb_size} is too small for {len(self.widths)} levels")

    @property
    def grid_stride(self) -> int:
        return 2 ** len(self.widths)


@dataclass
class LightOutput:
    """A training pass: the output from z ~ q, from the prior mode, and the two latent distributions."""

    recon: torch.Tensor  # (B, 3, H, W) sRGB, from z ~ q(z | y, x)
    mode: torch.Tensor  # (B, 3, H, W) sRGB, from the prior mean
    posterior: DiagonalGaussian  # (B, latent_dim)
    prior: DiagonalGaussian  # (B, latent_dim)


@dataclass
class LightEnhancement:
    """``enhance``'s result for one photo batch: the mode, K samples and their per-pixel std."""

    mode: torch.Tensor  # (B, 3, H, W) in [0, 1]
    samples: torch.Tensor | None  # (K, B, 3, H, W), None for K = 0
    std: torch.Tensor | None  # (B, 3, H, W), None for K < 2


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.LeakyReLU(0.1))


class Backbone(nn.Module):
    """Thumbnail (B, C, h, w) -> grid features (B, widths[-1], h/s, w/s) and a global vector (B, global_width)."""

    def __init__(self, cfg: LightConfig, in_channels: int) -> None:
        super().__init__()
        chans = (in_channels, *cfg.widths)
        self.local = nn.Sequential(*[_down(a, b) for a, b in zip(chans[:-1], chans[1:], strict=True)])
        w = cfg.widths[-1]
        self.global_convs = nn.Sequential(_down(w, w), _down(w, w))
        # mean and max pooled statistics: exposure needs the brightest areas as much as the average
        self.global_fc = nn.Sequential(nn.Linear(2 * w + 2 * in_channels, cfg.global_width), nn.LeakyReLU(0.1))

    def forward(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        local = self.local(t)  # (B, w, h/s, w/s)
        g = self.global_convs(local)
        bright = F.avg_pool2d(t, 4).amax(dim=(2, 3))  # (B, C): the brightest 4x4 areas, robust to single pixels
        stats = [g.mean(dim=(2, 3)), g.amax(dim=(2, 3)), t.mean(dim=(2, 3)), bright]
        return local, self.global_fc(torch.cat(stats, dim=1))


class LightVAE(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="vae-demo",
    tags=["vae", "conditional-vae", "low-light", "white-balance", "dehazing", "pytorch"],
    repo_url="https://huggingface.co/spaces/vae-demo/vae-demo",
):
    """p(x | y) = integral of p(x | z, y) p(z | y) dz, with q(z | y, x) for training."""

    def __init__(self, config: LightConfig | dict | None = None) -> None:
        super().__init__()
        if config is None:
            config = LightConfig()
        elif isinstance(config, dict):
            config = LightConfig.from_dict(config)
        self.config = cfg = config
        w, g = cfg.widths[-1], cfg.global_width
        self.backbone = Backbone(cfg, 3)
        self.prior_head = nn.Linear(g, 2 * cfg.latent_dim)
        self.posterior_net = Backbone(
            LightConfig(thumb_size=cfg.thumb_size, widths=(16, cfg.posterior_width), global_width=g), 6
        )
        self.posterior_head = nn.Linear(2 * g, 2 * cfg.latent_dim)
        self.latent_in = nn.Linear(cfg.latent_dim, g)
        self.fuse_local = nn.Conv2d(w, g, 1)
        self.coeffs = nn.Sequential(nn.LeakyReLU(0.1), nn.Conv2d(g, g, 3, padding=1), nn.LeakyReLU(0.1))
        self.coeffs_out = nn.Conv2d(g, COEFFS, 1)
        self.curve = nn.Sequential(nn.LeakyReLU(0.1), nn.Linear(g, 3 * cfg.curve_knots))
        self.log_scale = nn.Parameter(torch.full((3,), -3.0))  # of the Laplace likelihood p(x | z, y), per channel
        for layer in (self.coeffs_out, self.curve[-1]):  # start at the identity transform
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        with torch.no_grad():
            self.coeffs_out.bias[9:].fill_(-6.0)  # offsets -softplus(-6) ~ -0.0025

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # --- the conditional VAE's parts ----------------------------------------------------------
    def thumbnail(self, y: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, 3, h, w): short side ``thumb_size``, sides multiples of the grid stride."""
        h, w = y.shape[-2:]
        s, m = self.config.thumb_size / min(h, w), self.config.grid_stride
        size = (max(m, round(h * s / m) * m), max(m, round(w * s / m) * m))
        return y if (h, w) == size else F.interpolate(y, size=size, mode="bilinear", antialias=True).clamp(0, 1)

    def features(self, ty: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Grid features (B, widths[-1], h/s, w/s) and the global vector (B, global_width) of a thumbnail."""
        return self.backbone(ty)

    def prior(self, global_feat: torch.Tensor) -> DiagonalGaussian:
        """p(z | y)."""
        return DiagonalGaussian(*self.prior_head(global_feat).chunk(2, dim=1))

    def encode(self, ty: torch.Tensor, tx: torch.Tensor, global_feat: torch.Tensor) -> DiagonalGaussian:
        """q(z | y, x) from the degraded and clean thumbnails."""
        _, g = self.posterior_net(torch.cat([ty, tx], dim=1))
        return DiagonalGaussian(*self.posterior_head(torch.cat([g, global_feat], dim=1)).chunk(2, dim=1))

    def transforms(
        self, z: torch.Tensor, local: torch.Tensor, global_feat: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The grid of raw coefficients (B, 12, h/s, w/s) and the tone curves' knot values (B, 3, K + 1)."""
        g = global_feat + self.latent_in(z)  # (B, G)
        grid = self.coeffs_out(self.coeffs(self.fuse_local(local) + g[:, :, None, None]))
        steps = F.softplus(self.curve(g).view(-1, 3, self.config.curve_knots) + 0.5413)  # softplus(0.5413) = 1
        knots = torch.cat([steps.new_zeros(steps.shape[0], 3, 1), steps.cumsum(-1)], -1) / self.config.curve_knots
        return grid, knots

    def apply(self, lin: torch.Tensor, grid: torch.Tensor, knots: torch.Tensor) -> torch.Tensor:
        """Re-light a full-resolution photo, given in linear light ``lin`` (B, 3, H, W), with a coefficient grid
        and tone curves; returns sRGB in [0, 1]."""
        b, _, h, w = lin.shape
        c = upsample(fold(grid), (h, w))  # (B, 12, H, W)
        out = (c[:, :9].view(b, 3, 3, h, w) * lin[:, None]).sum(2) + c[:, 9:]  # (B, 3, H, W)
        return output_curve(out, knots)

    def decode(
        self, z: torch.Tensor, lin: torch.Tensor, local: torch.Tensor, global_feat: torch.Tensor
    ) -> torch.Tensor:
        """The re-lit photo (B, 3, H, W) for latent z (B, latent_dim); ``lin`` is y in linear light."""
        return self.apply(lin, *self.transforms(z, local, global_feat))

    def forward(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> LightOutput:
        """Training pass on thumbnails: clean ``x`` and degraded ``y``, both (B, 3, h, w)."""
        local, g = self.features(y)
        prior, posterior = self.prior(g), self.encode(y, x, g)
        lin = srgb_to_linear(y)  # (B, 3, h, w)
        recon = self.decode(posterior.sample(generator), lin, local, g)
        return LightOutput(recon, self.decode(prior.mode(), lin, local, g), posterior, prior)

    @torch.no_grad()
    def enhance(self, y: torch.Tensor, samples: int = 0, generator: torch.Generator | None = None) -> LightEnhancement:
        """Fix a full-resolution photo (3, H, W) or (B, 3, H, W) in [0, 1]: the mode, ``samples`` draws from
        p(z | y) and their per-pixel std."""
        single = y.dim() == 3
        y = (y[None] if single else y).to(self.device, torch.float32)
        local, g = self.features(self.thumbnail(y))
        prior, lin = self.prior(g), srgb_to_linear(y)
        mode = self.decode(prior.mode(), lin, local, g)
        draws = [self.decode(prior.sample(generator), lin, local, g) for _ in range(samples)]
        stack = torch.stack(draws) if draws else None  # (K, B, 3, H, W)
        std = stack.std(dim=0) if samples > 1 else None
        if single:
            mode, stack, std = mode[0], None if stack is None else stack[:, 0], None if std is None else std[0]
        return LightEnhancement(mode, stack, std)


def fold(grid: torch.Tensor) -> torch.Tensor:
    """Raw coefficients (B, 12, h, w) -> per-cell affine maps (B, 12, h, w): the 3x3 matrix diag(gains) (I + mix)
    row by row, then the offsets (<= 0)."""
    gains, mix, offset = grid[:, :3].exp(), grid[:, 3:9], -F.softplus(grid[:, 9:])
    one = torch.ones_like(gains[:, :1])
    rows = [
        torch.cat([one, mix[:, 0:1], mix[:, 1:2]], 1),
        torch.cat([mix[:, 2:3], one, mix[:, 3:4]], 1),
        torch.cat([mix[:, 4:5], mix[:, 5:6], one], 1),
    ]
    return torch.cat([gains[:, i : i + 1] * row for i, row in enumerate(rows)] + [offset], dim=1)


def _linear_weights(n: int, size: int, like: torch.Tensor) -> torch.Tensor:
    """(n, size): the weights of 1-D linear upsampling from n to size samples (align_corners=False)."""
    eye = torch.eye(n, dtype=like.dtype, device=like.device)[None]  # (1, n, n)
    return F.interpolate(eye, size=size, mode="linear", align_corners=False)[0]


def upsample(grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear upsampling (B, C, h, w) -> (B, C, H, W), as F.interpolate(align_corners=False) but as two matrix
    products, several times faster on a CPU (forward and backward)."""
    rows = _linear_weights(grid.shape[-2], size[0], grid)  # (h, H)
    cols = _linear_weights(grid.shape[-1], size[1], grid)  # (w, W)
    return rows.T @ grid @ cols


def output_curve(lin: torch.Tensor, knots: torch.Tensor, size: int = CURVE_TABLE) -> torch.Tensor:
    """The sRGB curve, then the tone curves, as one per-channel table over sqrt(linear) (accurate in the shadows):
    ``lin`` (B, 3, H, W) linear light (clipped to [0, 1]), ``knots`` (B, 3, K + 1) -> sRGB (B, 3, H, W)."""
    s = torch.linspace(0, 1, size + 1, dtype=lin.dtype, device=lin.device)  # (size + 1,) sqrt of linear
    table = tone_curve(linear_to_srgb(s * s).expand(knots.shape[0], 3, 1, size + 1), knots).flatten(2)
    return lookup(lin.clamp(0, 1).sqrt(), table)


def lookup(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Linear interpolation in per-channel tables: ``x`` (B, 3, H, W) in [0, 1], ``table`` (B, 3, N + 1) the values
    at 0, 1/N, ..., 1; differentiable in both."""
    n = table.shape[-1] - 1
    u = x.flatten(2) * n  # (B, 3, HW)
    idx = u.detach().floor().clamp(max=n - 1)
    i = idx.long()
    lo, hi = table.gather(2, i), table.gather(2, i + 1)
    return (lo + (u - idx) * (hi - lo)).view_as(x)


def tone_curve(x: torch.Tensor, knots: torch.Tensor) -> torch.Tensor:
    """Per-channel piecewise-linear curves: ``x`` (B, 3, H, W) in [0, 1], ``knots`` (B, 3, K + 1) the values at
    0, 1/K, ..., 1 (non-decreasing, first 0); the output is clipped to [0, 1]."""
    return lookup(x.clamp(0, 1), knots).clamp(0, 1)
