"""DivNoising (Prakash, Krull and Jug, ICLR 2021): a VAE that learns to denoise from noisy images alone.

The decoder maps latents z to a clean signal s, and the likelihood is the *noise model* p(y | s)
(``noise_models``), so the objective is the ordinary ELBO of the noisy data,
    log p(y) >= E_q[log p_noise(y | s(z))] - KL(q(z | y) || p(z)).
Nothing tells the decoder what clean looks like: the noise model explains the pixel-wise noise, and
the KL makes it cheaper to encode the image's structure than its noise (for white noise, encoding it
never pays: the likelihood gains less than the KL costs). Posterior samples are plausible clean
images; their mean is the MMSE estimate and their spread the uncertainty.

The latents form a ladder as in Hierarchical DivNoising (Prakash et al., ICLR 2022; the top-down
structure of Sønderby et al.'s Ladder VAE): a bottom-up path computes features of y at every
resolution; a top-down path starts at the coarsest level with z ~ N(0, I) and, at each of the
``latent_levels`` coarsest levels, draws z_i from q(z_i | z_>i, y) against the prior p(z_i | z_>i).
``latent_levels = 1`` is the original DivNoising (one latent map at the coarsest resolution). Levels
without a latent get no bottom-up features (no skip connections), so the decoder sees y only through z.
``unshuffle`` = 2 folds 2x2 pixels into channels first (FFDNet), which makes every layer 4x cheaper.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from vae_demo.catalog import FAMILIES
from vae_demo.core.config import Config
from vae_demo.core.distributions import DiagonalGaussian
from vae_demo.restoration.model import UNetResBlock
from vae_demo.restoration.noise_models import NoiseModel
from vae_demo.restoration.restore import flip_rotate


@dataclass
class DivNoisingConfig(Config):
    """Everything needed to rebuild a ``DivNoisingVAE``; saved beside the weights as ``config.json``."""

    name: str = "divnoising"
    architecture: str = FAMILIES["divnoising"].architecture
    image_channels: int = 1  # a grey model serves colour photos channel by channel
    unshuffle: int = 1  # pixel-unshuffle factor before the first layer (1: off)
    widths: tuple[int, ...] = (32, 64, 128)  # channels per level; each level halves the resolution
    blocks: int = 1  # residual blocks per level, in the bottom-up and in the top-down path
    latent_channels: int = 32
    latent_levels: int = 1  # how many of the coarsest levels carry a latent map (len(widths): a full ladder)
    # The noise model of the data it was trained on ({"kind": "gaussian", "sigma": 25} on the 0-255 scale);
    # empty for a model fitted live (its noise model is the photo's).
    noise_model: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.latent_levels <= len(self.widths):
            raise ValueError(f"latent_levels must be 1 to {len(self.widths)}, got {self.latent_levels}")


# The small model ``fit_to_image`` trains on one photo (image_channels set to the photo's).
FIT_CONFIG = DivNoisingConfig(
    name="divnoising-fit", unshuffle=2, widths=(48, 64, 96), latent_channels=16, latent_levels=3
)


def _blocks(width: int, n: int) -> nn.Sequential:
    return nn.Sequential(*[UNetResBlock(width) for _ in range(n)])


class DivNoisingVAE(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="vae-demo",
    tags=["vae", "divnoising", "unsupervised-denoising", "pytorch"],
):
    """Bottom-up features, a top-down ladder of latents, the clean signal s(z); the noise model is the likelihood."""

    def __init__(self, config: DivNoisingConfig | dict | None = None) -> None:
        super().__init__()
        config = DivNoisingConfig.from_dict(config) if isinstance(config, dict) else config or DivNoisingConfig()
        self.config = config
        u, ws, c, zc = config.unshuffle, config.widths, config.image_channels, config.latent_channels
        self.multiple = u * 2 ** (len(ws) - 1)  # image sides must be a multiple of this (``denoise`` pads)
        self.first_latent = len(ws) - config.latent_levels  # levels >= this carry a latent
        self.head = nn.Sequential(nn.PixelUnshuffle(u), nn.Conv2d(c * u * u, ws[0], 3, padding=1))
        self.up = nn.ModuleList(
            nn.Sequential(
                *([nn.Conv2d(ws[i - 1], ws[i], 3, stride=2, padding=1), nn.LeakyReLU(0.1)] if i else []),
                _blocks(w, config.blocks),
            )
            for i, w in enumerate(ws)
        )
        self.down = nn.ModuleList(_blocks(w, config.blocks) for w in ws)
        self.upsample = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(ws[i], ws[i - 1], 2, stride=2), nn.LeakyReLU(0.1)) if i else nn.Identity()
            for i in range(len(ws))
        )
        top = len(ws) - 1
        latent = range(self.first_latent, len(ws))
        self.posterior = nn.ModuleDict(
            {str(i): nn.Conv2d(ws[i] * (1 if i == top else 2), 2 * zc, 3, padding=1) for i in latent}
        )
        self.prior = nn.ModuleDict({str(i): nn.Conv2d(ws[i], 2 * zc, 3, padding=1) for i in latent if i < top})
        self.from_z = nn.ModuleDict({str(i): nn.Conv2d(zc, ws[i], 3, padding=1) for i in latent})
        self.tail = nn.Sequential(nn.Conv2d(ws[0], c * u * u, 3, padding=1), nn.PixelShuffle(u))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def bottom_up(self, y: torch.Tensor) -> list[torch.Tensor]:
        """Features of y at every level, finest first: (N, widths[i], H / (u 2^i), W / (u 2^i))."""
        h, feats = self.head(y - 0.5), []
        for level in self.up:
            h = level(h)
            feats.append(h)
        return feats

    def forward(
        self, y: torch.Tensor, generator: torch.Generator | None = None, sample: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(s, KL): the clean signal of one posterior draw (N, C, H, W) on the 0-1 scale (not clipped) and
        KL(q(z | y) || p(z)) per image (N,) in nats, summed over the levels. ``sample`` False decodes the
        posterior means (a quick preview, not the MMSE estimate)."""
        return self.top_down(self.bottom_up(y), generator, sample)

    def top_down(
        self, feats: list[torch.Tensor], generator: torch.Generator | None = None, sample: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``forward`` from the bottom-up features (computed once for many posterior samples)."""
        h, kl = None, torch.zeros(feats[0].shape[0], device=feats[0].device)
        for i in reversed(range(len(feats))):
            if i >= self.first_latent:
                if h is None:  # the top: prior N(0, I)
                    q, p = DiagonalGaussian(*self.posterior[str(i)](feats[i]).chunk(2, dim=1)), None
                else:
                    p = DiagonalGaussian(*self.prior[str(i)](h).chunk(2, dim=1))
                    q = DiagonalGaussian(*self.posterior[str(i)](torch.cat([h, feats[i]], dim=1)).chunk(2, dim=1))
                z = q.sample(generator) if sample else q.mean  # (N, zc, h_i, w_i)
                kl = kl + q.kl(p, dims=(1, 2, 3))
                e = self.from_z[str(i)](z)
                h = e if h is None else h + e
            h = self.upsample[i](self.down[i](h))
        return self.tail(h) + 0.5, kl


def divnoising_loss(
    model: DivNoisingVAE,
    y: torch.Tensor,
    noise: NoiseModel,
    beta: float = 1.0,
    generator: torch.Generator | None = None,
) -> dict:
    """The negative ELBO per pixel: -log p_noise(y | s) + beta * KL, both averaged over pixels (nats)."""
    s, kl = model(y, generator)
    nll = -noise.log_prob(y, s).mean()
    kl = kl.mean() / y[0].numel()
    return {"loss": nll + beta * kl, "nll": nll, "kl": kl}


@dataclass
class Denoised:
    """The MMSE estimate (mean of K posterior samples), the samples, their per-pixel std, the KL, and the
    signal decoded at the posterior means (one pass, no sampling noise)."""

    mean: torch.Tensor  # (1, C, H, W) in [0, 1]
    samples: torch.Tensor  # (K, 1, C, H, W) in [0, 1]
    std: torch.Tensor  # (1, C, H, W), 0-1 scale
    kl_per_image: float  # nats, KL(q(z | y) || p(z)) of the whole image (every channel)
    mode: torch.Tensor  # (1, C, H, W) in [0, 1]: s(z) at z = the posterior means, level by level


def _fold(model: DivNoisingVAE, y: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) -> the batch the model takes: a grey model sees each channel of a colour photo as an image."""
    c = model.config.image_channels
    if y.shape[1] == c:
        return y
    if c == 1:
        return y.transpose(0, 1)  # (C, 1, H, W)
    raise ValueError(f"a {c}-channel DivNoising model cannot denoise a {y.shape[1]}-channel image")


def _model_input(model: DivNoisingVAE, y: torch.Tensor, pad: str) -> tuple[torch.Tensor, Callable]:
    """A (1, C, H, W) image as the model takes it (padded to ``model.multiple`` with ``pad``, a colour photo
    folded into a batch of channels for a grey model), and the map that takes an output back to y's shape.
    Reflection needs the padding smaller than the image: a smaller image is replicate-padded instead."""
    h, w = y.shape[-2:]
    ph, pw = (-h) % model.multiple, (-w) % model.multiple
    pad = pad if pad != "reflect" or (ph < h and pw < w) else "replicate"
    x = _fold(model, F.pad(y, (0, pw, 0, ph), mode=pad) if ph or pw else y).to(model.device)
    folded = x.shape[0] != y.shape[0]  # N' = C when a grey model takes a colour photo

    def back(s: torch.Tensor) -> torch.Tensor:  # (N', C', H', W') -> (1, C, H, W) on the CPU
        return (s.transpose(0, 1) if folded else s)[..., :h, :w].cpu()

    return x, back


@torch.no_grad()
def denoise(model: DivNoisingVAE, y: torch.Tensor, k: int = 16, seed: int = 0) -> Denoised:
    """K posterior samples s(z), z ~ q(z | y), of a (1, C, H, W) image (reflect-padded to ``model.multiple``),
    and s at the posterior means (``mode``; with k = 0 the only output, ``mean`` then equals it).

    A grey model denoises a colour image channel by channel: white noise is independent per channel,
    so each channel is a grey image with the same noise model.
    """
    model.eval()
    x, back = _model_input(model, y, "reflect")
    g = torch.Generator(model.device).manual_seed(seed)
    feats = model.bottom_up(x)
    mode, mode_kl = model.top_down(feats, sample=False)  # (N', C', H', W'), (N',)
    draws, kls = [], []
    for _ in range(k):  # the KL of each level depends on the draws above it: averaged over the draws
        s, kl = model.top_down(feats, g)
        draws.append(back(s))
        kls.append(float(kl.sum()))
    mode = back(mode).clamp(0, 1)
    samples = torch.stack(draws) if draws else mode[None]  # (K, 1, C, H, W)
    return Denoised(
        samples.mean(0).clamp(0, 1),
        samples.clamp(0, 1),
        samples.std(0) if k > 1 else torch.zeros_like(y),
        sum(kls) / len(kls) if kls else float(mode_kl.sum()),
        mode,
    )


def trained_sigma(model: DivNoisingVAE) -> float | None:
    """The Gaussian sigma (0-255 scale) of the noisy data the model was trained on, or None."""
    spec = model.config.noise_model
    return float(spec["sigma"]) if spec.get("kind") == "gaussian" else None


def match_noise(
    y: torch.Tensor, sigma: float, trained: float
) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """Bring an image with white Gaussian noise of ``sigma`` to a model trained at ``trained`` (0-255 scale):
    (the input for the model, the map that takes its output back). A higher sigma is shrunk around mid-grey
    by trained / sigma (signal and noise alike), so the model sees exactly the noise it knows, and the output
    is stretched back. A lower one is given as it is: the model then removes a little more than is there,
    which measured better than adding the missing noise (Set12, first 6 images, decoded at the posterior
    means: sigma 10 / 15 / 20 gave 30.12 / 29.96 / 29.65 dB as they are, 29.09 / 29.07 / 29.06 with noise
    added up to 25)."""
    if sigma <= trained:
        return y, lambda s: s
    r = trained / sigma
    return 0.5 + (y - 0.5) * r, lambda s: (0.5 + (s - 0.5) / r).clamp(0, 1)


@torch.no_grad()
def mode_x8(model: DivNoisingVAE, y: torch.Tensor) -> torch.Tensor:
    """``denoise``'s ``mode`` averaged over the 8 flips and rotations of y, each mapped back (the x8
    self-ensemble, Timofte et al. 2016): (1, C, H, W) in [0, 1]. Eight passes instead of one."""
    outs = [flip_rotate(denoise(model, flip_rotate(y, i), k=0).mode, i, inverse=True) for i in range(8)]
    return torch.stack(outs).mean(0)


@torch.no_grad()
def preview(model: DivNoisingVAE, y: torch.Tensor) -> torch.Tensor:
    """A quick look at the current estimate: s at the posterior means, (1, C, H, W) clipped to [0, 1]."""
    model.eval()
    x, back = _model_input(model, y, "replicate")
    s, _ = model(x, sample=False)
    return back(s).clamp(0, 1)


def random_patches(y: torch.Tensor, n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """``n`` random size x size crops of a (1, C, H, W) image, flipped and rotated at random."""
    h, w = y.shape[-2:]
    size = min(size, h, w)
    out = []
    for _ in range(n):
        top = int(torch.randint(h - size + 1, (1,), generator=g))
        left = int(torch.randint(w - size + 1, (1,), generator=g))
        p = y[0, :, top : top + size, left : left + size]
        p = torch.rot90(p, int(torch.randint(4, (1,), generator=g)), dims=(1, 2))
        out.append(p.flip(2) if int(torch.randint(2, (1,), generator=g)) else p)
    return torch.stack(out)


@dataclass
class FitProgress:
    """Where a fit stands: the model being trained, its step, the seconds spent and the last losses."""

    model: DivNoisingVAE
    step: int
    elapsed: float
    losses: dict  # loss, nll, kl (floats, nats per pixel), beta


def fitting(
    y: torch.Tensor,
    noise: NoiseModel,
    seconds: float = 60.0,
    config: DivNoisingConfig | None = None,
    seed: int = 0,
    lr: float = 1e-3,
    batch: int = 8,
    patch: int = 64,
    kl_warmup: float = 0.2,
    every_s: float = 2.0,
    max_steps: int = 0,
) -> Iterator[FitProgress]:
    """Train a DivNoising VAE (default ``FIT_CONFIG``) on random patches of one noisy (1, C, H, W) image.

    Yields the progress after the first step, then about every ``every_s`` seconds, and once at the end (the
    model then in eval mode);
    stop iterating to stop early. The budget is ``seconds`` of wall time (the consumer's time between
    yields included) or ``max_steps`` > 0 steps, whichever ends first; the KL weight rises from 0 to 1
    over the first ``kl_warmup`` of it. The learning rate stays at ``lr``: a half-cosine decay from 4e-3
    gained 0.5-0.8 dB on three Set12 photos but diverged on 2 of the 12 (README, DivNoising).
    """
    torch.manual_seed(seed)
    config = config or DivNoisingConfig(**{**FIT_CONFIG.to_dict(), "image_channels": y.shape[1]})
    model = DivNoisingVAE(config).to(memory_format=torch.channels_last)  # NHWC: 10-20% more steps on a CPU
    if min(y.shape[-2:]) < model.multiple:
        raise ValueError(f"The photo must be at least {model.multiple} pixels on each side.")
    patch = max(model.multiple, min(patch, *y.shape[-2:]) // model.multiple * model.multiple)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    start = last = time.monotonic()
    step, losses = 0, {}
    while (elapsed := time.monotonic() - start) < seconds and not (max_steps and step >= max_steps):
        model.train()
        done = max(elapsed / seconds, step / max_steps if max_steps else 0.0)
        beta = min(1.0, done / max(kl_warmup, 1e-6))
        patches = random_patches(y, batch, patch, g).contiguous(memory_format=torch.channels_last)
        terms = divnoising_loss(model, patches, noise, beta, g)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        step += 1
        losses = {**{k: v.item() for k, v in terms.items()}, "beta": beta}
        if step == 1 or time.monotonic() - last >= every_s:  # a first look at once, then every every_s
            last = time.monotonic()
            yield FitProgress(model, step, time.monotonic() - start, losses)
    model.eval()
    yield FitProgress(model, step, time.monotonic() - start, losses)


def fit_to_image(y: torch.Tensor, noise: NoiseModel, seconds: float = 60.0, **kwargs) -> DivNoisingVAE:
    """The model ``fitting`` ends with (the same arguments)."""
    *_, last = fitting(y, noise, seconds, **kwargs)
    return last.model
