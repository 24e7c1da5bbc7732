"""The codec's coding-time shortcuts equal CompressAI's layers (up to float rounding) and code the same bytes."""

from __future__ import annotations

import pytest
import torch
from compressai.layers import GDN
from compressai.models.utils import deconv
from torch import nn

from vae_demo.codec import fastpath
from vae_demo.codec.model import CodecConfig, HyperpriorCodec


def randomized_gdn(channels: int, inverse: bool) -> GDN:
    torch.manual_seed(1)
    layer = GDN(channels, inverse=inverse)
    with torch.no_grad():  # away from the identity-like initial values
        layer.gamma.add_(0.05 * torch.rand_like(layer.gamma))
        layer.beta.add_(0.2 * torch.rand_like(layer.beta))
    return layer


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_gdn_equals_compressai(inverse, channels_last):
    layer = randomized_gdn(16, inverse)
    x = torch.randn(2, 16, 9, 13)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        assert torch.allclose(fastpath.gdn(layer, x), layer(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("out_channels", [3, 1, 16])
def test_subpixel_convolution_equals_the_transposed_one(out_channels):
    torch.manual_seed(0)
    layer = deconv(8, out_channels)
    assert fastpath.is_subpixel(layer)
    x = torch.randn(1, 8, 7, 10)
    with torch.inference_mode():
        got = fastpath.transform(nn.Sequential(layer), x)
        assert got.shape == (1, out_channels, 14, 20)
        assert torch.allclose(got, layer(x), rtol=1e-5, atol=1e-5)


def test_wide_or_other_transposed_convolutions_stay_as_they_are():
    assert not fastpath.is_subpixel(deconv(8, 64))
    assert not fastpath.is_subpixel(nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1))
    assert not fastpath.is_subpixel(nn.Conv2d(8, 3, 5, stride=2, padding=2))


@pytest.fixture(scope="module")
def codec() -> HyperpriorCodec:
    torch.manual_seed(0)
    model = HyperpriorCodec(CodecConfig(name="tiny-codec", N=8, M=12, lambdas=(0.005, 0.05, 0.5)))
    model.finalize()
    return model.eval()


def test_range_tables_code_the_same_bytes_as_compressai(codec):
    gc = codec.gaussian_conditional
    g = torch.Generator().manual_seed(0)
    y = torch.randn(1, 12, 6, 5, generator=g) * 20  # some symbols beyond the tables: bypass coding
    indexes = torch.randint(0, gc._quantized_cdf.shape[0], y.shape, generator=g).int()
    tables = fastpath.RangeTables()
    data = tables.encode(gc, y, indexes)
    assert data == gc.compress(y, indexes)[0]
    assert torch.equal(tables.decode(gc, data, indexes), gc.decompress([data], indexes, torch.float32))
    assert torch.equal(tables.decode(gc, data, indexes), torch.round(y))


def test_range_tables_follow_new_tables(codec):
    gc = codec.gaussian_conditional
    tables = fastpath.RangeTables()
    before = tables.get(gc)
    assert tables.get(gc) is before  # converted once
    saved = gc._offset.clone()
    try:
        gc._offset.add_(1)  # an in-place write (as load_state_dict makes) is seen
        assert tables.get(gc)[2] == (saved + 1).tolist()
    finally:
        gc._offset.copy_(saved)


def test_coding_equals_the_plain_compressai_path(codec):
    """The model's compress / decompress against the same steps through CompressAI's own layers."""
    x = torch.rand(1, 3, 64, 128)
    strings, shape = codec.compress(x, 1.0)
    with torch.no_grad():
        g, ig, hg, ihg = codec.gains(1.0)
        y = codec.g_a(x) * g
        z = codec.h_a(torch.abs(y)) * hg
        assert codec.entropy_bottleneck.compress(z)[0] == strings[1]
        z_hat = codec.entropy_bottleneck.decompress([strings[1]], shape)
        indexes, _ = codec._prior(z_hat, ihg)
        y_hat = codec.gaussian_conditional.decompress([strings[0]], indexes, torch.float32)
        assert torch.equal(y_hat, torch.round(y))  # the y string holds the rounded latent
        reference = codec.g_s(y_hat * ig).clamp(0, 1)
    assert torch.allclose(codec.decompress(strings, shape, 1.0), reference, atol=1e-5)
