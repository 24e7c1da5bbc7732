"""A variable-rate learned image codec: Ballé et al. (ICLR 2018) scale hyperprior with gain units, or
Minnen et al. (NeurIPS 2018) mean-scale hyperprior (``means=True``).

The model is a VAE in the plainest sense: the analysis transform ``g_a`` is the encoder, the latent
y is quantised (uniform noise while training, so the rate is a KL term with a uniform posterior),
a learned prior codes it (a Gaussian whose scales, and with ``means`` whose means, come from the
hyper-latent z, itself coded with a factorised "entropy bottleneck"), and the synthesis transform
``g_s`` is the decoder. With means, what is rounded and coded is y minus its predicted mean.

One model covers many rates with the gain units of Cui et al. (CVPR 2021): the latent is multiplied
per channel by a learned gain vector before rounding and by an inverse gain after; training draws
one of ``lambdas`` per image; a quality between two trained levels interpolates the gains
geometrically. The hyper synthesis ``h_s`` runs in float64 at coding time so the encoder and a
decoder in another process pick the same probability table for every symbol (bit-exact).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.func import functional_call

from vae_demo.catalog import FAMILIES
from vae_demo.codec.compressai_parts import GDN, CompressionModel, EntropyBottleneck, GaussianConditional, conv, deconv
from vae_demo.codec.fastpath import RangeTables, transform
from vae_demo.core.config import Config

ARCHITECTURE = FAMILIES["codec"].architecture  # config.json's "architecture" (vae_demo.catalog)
CODEC_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.013, 0.025, 0.0483, 0.0932)  # CompressAI's MSE levels 1-7


@dataclass
class CodecConfig(Config):
    """Everything needed to rebuild a ``HyperpriorCodec``; saved beside the weights as ``config.json``."""

    name: str = "codec-vae"
    architecture: str = ARCHITECTURE
    N: int = 64  # channels of the transforms and of the hyper-latent z
    M: int = 96  # channels of the latent y
    lambdas: tuple[float, ...] = CODEC_LAMBDAS  # one trained rate-distortion trade-off per gain vector
    weights_dtype: str = "float32"  # how the float weights are stored ("float16" halves the file)
    means: bool = False  # mean-scale hyperprior: a second hyper synthesis ``h_m`` predicts each latent's mean

    def __post_init__(self) -> None:
        self.lambdas = tuple(float(v) for v in self.lambdas)
        if self.N < 1 or self.M < 1 or not self.lambdas:
            raise ValueError(f"a codec needs N, M >= 1 and one lambda or more; got {self.N}, {self.M}, {self.lambdas}")


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """Round forward, identity backward (the decoder sees what it will see at coding time)."""
    return x + (torch.round(x) - x).detach()


class HyperpriorCodec(CompressionModel):
    """Scale hyperprior (``bmshj2018-hyperprior`` in CompressAI) with per-level gain vectors."""

    def __init__(self, config: CodecConfig | dict | None = None) -> None:
        super().__init__()
        config = CodecConfig.from_dict(config) if isinstance(config, dict) else config or CodecConfig()
        self.config = config
        n, m, levels = config.N, config.M, len(config.lambdas)
        self.g_a = nn.Sequential(conv(3, n), GDN(n), conv(n, n), GDN(n), conv(n, n), GDN(n), conv(n, m))
        self.g_s = nn.Sequential(
            deconv(m, n),
            GDN(n, inverse=True),
            deconv(n, n),
            GDN(n, inverse=True),
            deconv(n, n),
            GDN(n, inverse=True),
            deconv(n, 3),
        )
        self.h_a = nn.Sequential(conv(m, n, stride=1, kernel_size=3), nn.ReLU(), conv(n, n), nn.ReLU(), conv(n, n))
        self.h_s = nn.Sequential(*self._hyper_synthesis(n, m), nn.ReLU())  # scales are positive
        self.h_m = self._hyper_synthesis(n, m) if config.means else None
        self.entropy_bottleneck = EntropyBottleneck(n)
        self.gaussian_conditional = GaussianConditional(None)
        # Log gains: level k multiplies y by exp(gain[k]) before rounding and by exp(inv_gain[k]) after. They
        # start where high-rate theory puts them (MSE ~ step^2 / 12, best step^2 ~ 1 / lambda): gain ~ sqrt(lambda).
        spread = 0.5 * (torch.tensor(config.lambdas).log() - torch.tensor(config.lambdas).log().mean())  # (levels,)
        self.gain = nn.Parameter(spread[:, None].repeat(1, m))
        self.inv_gain = nn.Parameter(-spread[:, None].repeat(1, m))
        self.hyper_gain = nn.Parameter(torch.zeros(levels, n))
        self.hyper_inv_gain = nn.Parameter(torch.zeros(levels, n))
        self._weights_hash: str | None = None
        self._range_tables = RangeTables()

    @staticmethod
    def _hyper_synthesis(n: int, m: int) -> nn.Sequential:
        """z (N channels, 1/64 size) -> one value per latent element (M channels, 1/16 size)."""
        return nn.Sequential(deconv(n, n), nn.ReLU(), deconv(n, n), nn.ReLU(), conv(n, m, stride=1, kernel_size=3))

    multiple = 64  # image sides are padded to a multiple of this (16 for y, 4 more for z)

    @property
    def levels(self) -> int:
        return len(self.config.lambdas)

    def gains(self, quality: torch.Tensor | float) -> tuple[torch.Tensor, ...]:
        """The four gain vectors at ``quality`` in [0, levels - 1]: one per image (B, C, 1, 1) for a tensor of
        qualities, interpolated geometrically between the two trained levels around a fractional one."""
        q = torch.as_tensor(quality, dtype=torch.float64).reshape(-1).clamp(0, self.levels - 1)  # (B,)
        low = q.floor().long().clamp(max=self.levels - 2) if self.levels > 1 else q.long() * 0
        t = (q - low).view(-1, 1)  # (B, 1)
        high = (low + 1).clamp(max=self.levels - 1)
        out = []
        for table in (self.gain, self.inv_gain, self.hyper_gain, self.hyper_inv_gain):
            logs = table[low] * (1 - t).to(table.dtype) + table[high] * t.to(table.dtype)  # (B, C)
            out.append(logs.exp()[..., None, None])  # (B, C, 1, 1)
        return tuple(out)

    # --- training ---------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, quality: torch.Tensor) -> dict:
        """x: (B, 3, H, W) in [0, 1] with H, W multiples of 64; quality: (B,) trained levels."""
        g, ig, hg, ihg = self.gains(quality)
        y = self.g_a(x) * g  # (B, M, H/16, W/16)
        z = self.h_a(torch.abs(y)) * hg  # (B, N, H/64, W/64)
        z_tilde, z_likelihoods = self.entropy_bottleneck(z)  # uniform noise while training
        scales = self.h_s(z_tilde * ihg)  # (B, M, H/16, W/16)
        means = self.h_m(z_tilde * ihg) if self.h_m is not None else None  # (B, M, H/16, W/16) or None
        _, y_likelihoods = self.gaussian_conditional(y, scales, means)  # rate of y + noise
        y_hat = ste_round(y) if means is None else ste_round(y - means) + means
        x_hat = self.g_s(y_hat * ig)  # (B, 3, H, W), decoded from the rounded latent
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    # --- coding -----------------------------------------------------------------------------
    def _prior(self, z_hat: torch.Tensor, ihg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the Gaussian table of every latent element, the means or zeros), from h_s and h_m run in float64
        so that the encoder and a decoder in another process pick the same table (same count of table scales
        below each scale as ``GaussianConditional.build_indexes``, in one ``bucketize`` instead of 63 passes)
        and add back the same means."""
        hyper = z_hat.double() * ihg.double()
        params = {k: v.double() for k, v in self.h_s.state_dict().items()}
        scales = functional_call(self.h_s, params, (hyper,))  # (1, M, 4h, 4w)
        table = self.gaussian_conditional.scale_table.double()  # (levels,)
        scales = scales.clamp(min=float(self.gaussian_conditional.lower_bound_scale.bound))
        indexes = torch.bucketize(scales.contiguous(), table[:-1]).int()  # (1, M, 4h, 4w)
        if self.h_m is None:
            return indexes, torch.zeros_like(scales)
        params = {k: v.double() for k, v in self.h_m.state_dict().items()}
        return indexes, functional_call(self.h_m, params, (hyper,))  # (1, M, 4h, 4w) float64

    @torch.inference_mode()
    def compress(self, x: torch.Tensor, quality: float) -> tuple[list[bytes], tuple[int, int]]:
        """x: (1, 3, H, W) in [0, 1], sides multiples of 64 -> ([y string, z string], z's (h, w))."""
        g, _, hg, ihg = self.gains(quality)
        y = transform(self.g_a, x.contiguous(memory_format=torch.channels_last)) * g  # (1, M, H/16, W/16)
        z = self.h_a(torch.abs(y)) * hg  # (1, N, H/64, W/64)
        z_strings = self.entropy_bottleneck.compress(z)
        z_hat = self.entropy_bottleneck.decompress(z_strings, z.shape[-2:])  # what the decoder will see
        indexes, means = self._prior(z_hat, ihg)
        y_string = self._range_tables.encode(self.gaussian_conditional, y.double() - means, indexes)
        return [y_string, z_strings[0]], (int(z.shape[-2]), int(z.shape[-1]))

    @torch.inference_mode()
    def decompress(self, strings: list[bytes], shape: tuple[int, int], quality: float) -> torch.Tensor:
        """The inverse of ``compress``: (1, 3, 64 h, 64 w) in [0, 1]."""
        _, ig, _, ihg = self.gains(quality)
        z_hat = self.entropy_bottleneck.decompress([strings[1]], shape)  # (1, N, h, w)
        indexes, means = self._prior(z_hat, ihg)
        symbols = self._range_tables.decode(self.gaussian_conditional, strings[0], indexes)  # (1, M, 4h, 4w)
        y_hat = ((symbols.double() + means).float() * ig.float()).contiguous(memory_format=torch.channels_last)
        return transform(self.g_s, y_hat).clamp_(0, 1)  # (1, 3, 64 h, 64 w)

    # --- weights ----------------------------------------------------------------------------
    def weights_hash(self) -> str:
        """SHA-256 (hex) over every tensor of the state dict, names and dtypes included, in name order."""
        if self._weights_hash is None:
            h = hashlib.sha256()
            for key, t in sorted(self.state_dict().items()):
                h.update(f"{key}:{t.dtype}:{tuple(t.shape)};".encode())
                h.update(t.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
            self._weights_hash = h.hexdigest()
        return self._weights_hash

    def load_state_dict(self, state_dict, strict: bool = True):
        self._weights_hash = None
        return super().load_state_dict(state_dict, strict=strict)

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (entropy tables included, so coding never
        depends on recomputing them); float weights in ``config.weights_dtype``."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        dtype = getattr(torch, self.config.weights_dtype)
        state = {
            k: (v.to(dtype) if v.is_floating_point() else v).contiguous().cpu() for k, v in self.state_dict().items()
        }
        save_file(state, folder / "model.safetensors", metadata={"architecture": ARCHITECTURE})
        (folder / "config.json").write_text(json.dumps(self.config.to_dict(), indent=2) + "\n")
        return folder

    def finalize(self) -> None:
        """Fit the bottleneck's quantiles by bisection and build every CDF table, ready to code."""
        self.update(force=True, update_quantiles=True)
        self._weights_hash = None


def load_codec(folder: str | Path) -> HyperpriorCodec:
    """A ``HyperpriorCodec`` from a checkpoint folder, on the CPU in float32, ready to code (channels-last
    weights: about 35% faster convolutions on a CPU)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    config = CodecConfig.from_dict(json.loads((folder / "config.json").read_text()))
    model = HyperpriorCodec(config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(folder / "model.safetensors").items()}
    model.load_state_dict(state)
    return model.to(memory_format=torch.channels_last).eval()
