"""How the VAE serves each kind of noise: the Anscombe pair, impulses, the low-frequency guard, the blind
noise level, the x8 self-ensemble, and every path on tiny models (with and without conditions)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vae_demo.restoration import degradations as D
from vae_demo.restoration import serving
from vae_demo.restoration.model import RestorationConfig, RestorationVAE
from vae_demo.restoration.noise_level import noise_level
from vae_demo.restoration.restore import restore

TINY = RestorationConfig(widths=(4, 8), blocks=(1, 1), latent_channels=2, posterior_width=4, conditions=("noise",))
# Like denoise-vae: no conditions, pixel-unshuffled input.
TINY_UNSHUFFLED = RestorationConfig(widths=(4, 8), blocks=(1, 1), latent_channels=2, posterior_width=4, unshuffle=2)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def smooth_photo(c: int = 3, size: int = 96, seed: int = 0) -> torch.Tensor:
    """A smooth random image in [0.15, 0.85]: bicubic enlargement of an 8x8 random one."""
    small = torch.rand(1, c, 8, 8, generator=seeded(seed))
    return 0.15 + 0.7 * F.interpolate(small, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)


@pytest.mark.parametrize("counts", [2.0, 10.0, 50.0])
def test_the_inverse_anscombe_is_unbiased(counts):
    """Makitalo & Foi's inverse maps E[anscombe(Poisson)] back to the Poisson mean, also at a few photons."""
    peak = 100.0
    x = torch.full((1, 1, 400, 400), counts / peak)
    noisy = torch.poisson(x * peak, generator=seeded(0)) / peak
    mean_transformed = serving.anscombe(noisy, peak).mean()
    assert serving.inverse_anscombe(mean_transformed, peak).item() == pytest.approx(counts / peak, rel=0.03)


@pytest.mark.parametrize("peak", [30, 100, 300])
def test_the_poisson_peak_is_estimated(peak):
    """Within 30% (at a few photons per pixel the Anscombe transform stabilises less, and it reads high)."""
    noisy = D.poisson_noise(smooth_photo(size=256), peak, seeded(1))
    assert serving.estimate_peak(noisy) == pytest.approx(peak, rel=0.3)


def test_impulses_are_found_and_saturated_regions_left_alone():
    x = smooth_photo()
    x[..., 10:40, 10:40] = 1.0  # a blown-out highlight: at 1, but like its neighbours
    noisy = D.salt_and_pepper(x, 0.1, seeded(2))
    hit = serving.impulses(noisy)
    truth = (noisy != x).any(1, keepdim=True)
    assert hit.shape == (1, 1, 96, 96)
    assert (hit & truth).sum() >= 0.95 * truth.sum(), "salt and pepper is found"
    assert (hit & ~truth).sum() <= 8, "nothing else is, but for the highlight's corners"
    assert serving.impulses(x).sum() == 4, "a clean photo has none, but for the highlight's 4 corners"
    dense = D.salt_and_pepper(smooth_photo(), 0.5, seeded(2))
    truth = (dense != smooth_photo()).any(1, keepdim=True)
    assert (serving.impulses(dense) & truth).sum() >= 0.95 * truth.sum(), "half the pixels hit: found too"


def test_keep_low_frequencies_removes_a_blotch_and_keeps_detail():
    y = smooth_photo()
    yy, xx = torch.meshgrid(torch.arange(96.0), torch.arange(96.0), indexing="ij")
    blotch = 0.2 * torch.exp(-((yy - 48) ** 2 + (xx - 40) ** 2) / (2 * 12**2))  # up to 51 grey levels
    checker = 0.05 * (2 * (torch.arange(96)[:, None] + torch.arange(96)[None, :]).remainder(2).float() - 1)
    out = serving.keep_low_frequencies((y + blotch + checker).clamp(0, 1), y)
    block_means = F.avg_pool2d(out - y, 16) * 255
    assert block_means.abs().max() < 3, "16x16 averages back within 3 grey levels"
    assert (out - y - checker).abs().mean() * 255 < 1.5 and (out - y).std() * 255 > 10, "the fine pattern stays"


@pytest.mark.parametrize("sigma", [5, 15, 30])
def test_noise_level_reads_white_noise(sigma):
    x = smooth_photo(c=1, size=256)
    assert noise_level(D.gaussian_noise(x, sigma, seeded(0))) == pytest.approx(sigma, rel=0.12)


def test_noise_level_sees_noise_spread_over_pixels():
    """An upscaled noisy photo: the wavelet estimate reads almost nothing; this one reads it at full strength (its
    speed is benchmarks/noise_estimate.py's to measure)."""
    from skimage.restoration import estimate_sigma

    x = smooth_photo(size=256)
    y = D.resize(D.gaussian_noise(D.resize(x, (128, 128)), 25, seeded(0)), (256, 256))
    assert estimate_sigma(y[0].permute(1, 2, 0).numpy(), channel_axis=-1, average_sigmas=True) * 255 < 5
    assert noise_level(y) > 20


def test_the_x8_self_ensemble_averages_flipped_and_turned_views():
    torch.manual_seed(0)
    model = RestorationVAE(TINY)
    y = smooth_photo(size=40)[..., :40, :36]  # not square: turned views swap the sides
    plain, x8 = restore(model, y, 10), restore(model, y, 10, ensemble=True)
    assert x8.mode.shape == y.shape and not torch.equal(x8.mode, plain.mode)
    assert "8 flips" in x8.how
    # a model that is itself symmetric (identity: untrained residual zeroed) gives the same result either way
    torch.nn.init.zeros_(model.decoder.tail.weight)
    torch.nn.init.zeros_(model.decoder.tail.bias)
    assert torch.allclose(restore(model, y, 10, ensemble=True).mode, y, atol=1e-6)


@pytest.mark.parametrize("config", [TINY, TINY_UNSHUFFLED], ids=["conditioned", "unshuffled-no-conditions"])
@pytest.mark.parametrize(
    ("kind", "level", "words"),
    [
        ("gaussian", 20.0, "told sigma 20"),
        ("gaussian", None, "estimated sigma"),
        ("poisson", 30.0, "Anscombe"),
        ("poisson", None, "estimated peak"),
        ("salt_and_pepper", None, "impulses"),
        ("real", None, "brightness and colour kept"),
    ],
)
def test_every_kind_of_noise_is_served(config, kind, level, words):
    torch.manual_seed(0)
    model = RestorationVAE(config)
    for y in (smooth_photo(size=36), smooth_photo(c=1, size=36)):
        r = serving.denoise(model, y, kind, level, samples=2, generator=seeded(0))
        assert r.mode.shape == y.shape and r.samples.shape == (2, *y.shape) and r.std.shape == y.shape
        assert r.mode.min() >= 0 and r.mode.max() <= 1 and words in r.how


def test_salt_and_pepper_keeps_the_pixels_it_did_not_hit():
    torch.manual_seed(0)
    x = smooth_photo()
    noisy = D.salt_and_pepper(x, 0.1, seeded(3))
    model = RestorationVAE(TINY)
    torch.nn.init.zeros_(model.decoder.tail.weight)  # a model that returns its input: the filling alone
    torch.nn.init.zeros_(model.decoder.tail.bias)
    out = serving.denoise(model, noisy, "salt_and_pepper").mode
    hit = serving.impulses(noisy).expand_as(x)
    assert torch.equal(out[~hit], noisy[~hit])
    assert (out[hit] - x[hit]).abs().mean() < (noisy[hit] - x[hit]).abs().mean() / 3


def test_auto_is_the_blind_real_photo_path_and_unknown_kinds_are_refused():
    torch.manual_seed(0)
    model = RestorationVAE(TINY)
    y = D.gaussian_noise(smooth_photo(size=48), 10, seeded(0))
    assert torch.equal(serving.fix(model, y, "auto").mode, serving.denoise(model, y, "real").mode)
    assert torch.equal(serving.fix(model, y, "noise", 10).mode, serving.denoise(model, y, "gaussian", 10).mode)
    with pytest.raises(ValueError, match="unknown noise kind"):
        serving.denoise(model, y, "speckle")
