"""The learned codec: model, training loss, the .vaez format (round trips, bad files), benchmark, demo action."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vae_demo.codec import bitstream
from vae_demo.codec.bitstream import VaezError, decode_image, encode_image, unpack
from vae_demo.codec.model import CodecConfig, HyperpriorCodec, load_codec
from vae_demo.codec.train import CodecRunConfig, CropBatches, optimiser_groups, rd_loss, train_codec
from vae_demo.core import hub

ROOT = Path(__file__).resolve().parents[1]
TINY = {"name": "tiny-codec", "N": 8, "M": 12, "lambdas": [0.005, 0.05, 0.5]}


def tiny(seed: int = 0, **overrides) -> HyperpriorCodec:
    torch.manual_seed(seed)
    model = HyperpriorCodec(CodecConfig.from_dict({**TINY, **overrides}))
    model.finalize()
    return model.eval()


def photo(h: int = 70, w: int = 90, channels: int = 3, seed: int = 0) -> torch.Tensor:
    """A smooth uint8 (C, H, W) picture with some edges."""
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.interpolate(
        torch.rand(1, channels, h // 8 + 2, w // 8 + 2, generator=g), size=(h, w), mode="bilinear", align_corners=False
    )[0]
    return (x * 255).round().to(torch.uint8)


@pytest.fixture(scope="module")
def model() -> HyperpriorCodec:
    return tiny()


@pytest.fixture(scope="module")
def saved(tmp_path_factory, model) -> Path:
    return model.save_pretrained(tmp_path_factory.mktemp("ckpt") / "tiny-codec")


def test_forward_shapes_finite_and_a_gradient_on_every_parameter():
    torch.manual_seed(0)
    m = HyperpriorCodec(CodecConfig.from_dict(TINY)).train()
    run = CodecRunConfig(model=m.config, crop_size=64, batch_size=2)
    x, q = torch.rand(2, 3, 64, 64), torch.tensor([0, 2])
    out = m(x, q)
    assert out["x_hat"].shape == (2, 3, 64, 64)
    assert out["likelihoods"]["y"].shape == (2, 12, 4, 4) and out["likelihoods"]["z"].shape == (2, 8, 1, 1)
    losses = rd_loss(m, (x, q), run)
    assert all(torch.isfinite(v).all() for v in losses.values())
    losses["loss"].backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no finite gradient: {missing}"


def test_quantiles_get_only_the_aux_gradient():
    torch.manual_seed(0)
    m = HyperpriorCodec(CodecConfig.from_dict(TINY)).train()
    run = CodecRunConfig(model=m.config, crop_size=64, batch_size=2, aux_weight=0.0)
    rd_loss(m, (torch.rand(2, 3, 64, 64), torch.tensor([0, 1])), run)["loss"].backward()
    grad = m.entropy_bottleneck.quantiles.grad
    assert grad is None or not grad.any()  # the rate-distortion loss never reaches them
    m.zero_grad(set_to_none=True)
    m.aux_loss().backward()
    touched = {n for n, p in m.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert touched == {"entropy_bottleneck.quantiles"}


def test_crop_batches_shapes_and_levels():
    run = CodecRunConfig(model=CodecConfig.from_dict(TINY), crop_size=64, batch_size=3, steps_per_epoch=2)
    x, q = next(iter(CropBatches([photo(80, 100)], run)))
    assert x.shape == (3, 3, 64, 64) and x.min() >= 0 and x.max() <= 1
    assert q.shape == (3,) and set(q.tolist()) <= {0, 1, 2}


def test_gains_interpolate_between_levels(model):
    g0, g1, mid = model.gains(0.0)[0], model.gains(1.0)[0], model.gains(0.5)[0]
    assert g0.shape == g1.shape == (1, 12, 1, 1)
    assert torch.allclose(mid, (g0 * g1).sqrt())
    assert torch.allclose(g1 / g0, torch.tensor(10**0.5))  # initial gains grow as sqrt(lambda)
    assert torch.allclose(model.gains(2.0)[1] * model.gains(2.0)[0], torch.ones(1))  # inverse gains undo them


@pytest.mark.parametrize("channels", [3, 1])
def test_round_trip_and_header_fields(model, channels):
    x = photo(70, 90, channels)
    data = encode_image(model, x, 1.25)
    h = unpack(data)
    assert data[:4] == b"VAEZ" and h.version == bitstream.VERSION == data[4]
    assert h.model_name == "tiny-codec" and h.weights_hash == model.weights_hash()[:32]
    assert (h.width, h.height, h.mode, h.quality) == (90, 70, "RGB" if channels == 3 else "L", 1.25)
    assert len(h.strings) == 2 and all(len(s) % 4 == 0 for s in h.strings)
    y = decode_image(model, data)
    assert y.shape == (channels, 70, 90) and y.dtype == torch.uint8
    assert torch.equal(decode_image(model, data), y)  # decoding is deterministic


def test_higher_quality_gives_more_bytes_after_training_the_gains(model):
    m = tiny()
    with torch.no_grad():
        m.gain.copy_(torch.tensor([[-4.0], [0.0], [6.0]]).expand(3, 12))
        m.inv_gain.copy_(-m.gain)
    m._weights_hash = None
    sizes = [len(encode_image(m, photo(), q)) for q in (0, 1, 2)]
    assert sizes[0] <= sizes[1] < sizes[2]


CHILD_SCRIPT = """
import sys, torch
from vae_demo.codec.model import load_codec
from vae_demo.codec.bitstream import VaezError, decode_image, encode_image
folder, out = sys.argv[1], sys.argv[2]
model = load_codec(folder)
open(out + "/y.raw", "wb").write(decode_image(model, open(out + "/a.vaez", "rb").read()).numpy().tobytes())
x = torch.frombuffer(bytearray(open(out + "/x.raw", "rb").read()), dtype=torch.uint8).reshape(3, 70, 90)
open(out + "/b.vaez", "wb").write(encode_image(model, x, 1.5))
for path in sys.argv[3:]:
    try:
        decode_image(model, open(path, "rb").read())
    except VaezError:
        pass
print("ok")
"""


@pytest.fixture(scope="module")
def child(saved, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One fresh Python process (imports cost seconds) that decodes our file, encodes our picture, and
    decodes range-coder garbage that passes the CRC; a crash of the native decoder fails the tests."""
    out = tmp_path_factory.mktemp("child")
    m = load_codec(saved)
    x = photo(70, 90)
    (out / "a.vaez").write_bytes(encode_image(m, x, 1.5))
    (out / "x.raw").write_bytes(x.numpy().tobytes())
    h = unpack(encode_image(m, photo(), 1.0))
    g = np.random.default_rng(0)
    garbage = []
    for i, n in enumerate((0, 3, 4, 64, 4096)):
        h.strings = [g.integers(0, 256, n, dtype=np.uint8).tobytes(), h.strings[1] if i % 2 else b"\xff" * n]
        garbage.append(out / f"g{i}.vaez")
        garbage[-1].write_bytes(bitstream.pack(h))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD_SCRIPT, str(saved), str(out), *map(str, garbage)],
        cwd=ROOT,
        timeout=300,
        capture_output=True,
        text=True,
    )
    return out, proc


def test_round_trip_is_bit_exact_in_a_fresh_process(saved, child):
    out, proc = child
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = load_codec(saved)
    data = (out / "a.vaez").read_bytes()
    assert (out / "y.raw").read_bytes() == decode_image(m, data).numpy().tobytes()
    assert (out / "b.vaez").read_bytes() == data  # the encoder is deterministic too


def test_save_and_load_through_the_hub(saved, model):
    loaded = hub.load_checkpoint(saved, "cpu")
    assert isinstance(loaded, HyperpriorCodec) and not loaded.training
    assert loaded.weights_hash() == model.weights_hash()
    (saved.parent / "broken").mkdir(exist_ok=True)
    (saved.parent / "broken" / "config.json").write_text((saved / "config.json").read_text())
    (saved.parent / "broken" / "model.safetensors").write_bytes((saved / "model.safetensors").read_bytes()[:100])
    with pytest.raises(hub.CheckpointError):
        hub.load_checkpoint(saved.parent / "broken", "cpu")


# --- bad files: each ends in a VaezError sentence, fast -----------------------------------------
def _with_crc(body: bytes) -> bytes:
    return body + struct.pack(">I", zlib.crc32(body))


def test_a_file_from_another_model_is_refused(model):
    data = encode_image(tiny(seed=1), photo(), 1.0)  # same name, other weights
    with pytest.raises(VaezError, match="made by the model"):
        decode_image(model, data)
    other = encode_image(tiny(name="other-codec"), photo(), 1.0)
    with pytest.raises(VaezError, match="other-codec"):
        decode_image(model, other)


def test_every_truncation_is_refused(model):
    data = encode_image(model, photo(), 1.0)
    start = time.perf_counter()
    for n in range(len(data)):
        with pytest.raises(VaezError):
            decode_image(model, data[:n])
    assert time.perf_counter() - start < 5


def test_every_single_byte_tampering_is_refused(model):
    data = bytearray(encode_image(model, photo(), 1.0))
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x5A
        with pytest.raises(VaezError):
            decode_image(model, bytes(bad))


@pytest.mark.parametrize(
    "bad, match",
    [
        (b"", "not a .vaez file"),
        (b"PK\x03\x04 a zip", "not a .vaez file"),
        (b"VAEZ", "truncated"),
        (b"VAEZ\x07", "version 7"),
    ],
)
def test_junk_is_refused(model, bad, match):
    with pytest.raises(VaezError, match=match):
        decode_image(model, bad)


def test_stray_bytes_after_the_checksum_are_refused(model):
    with pytest.raises(VaezError, match="stray"):
        decode_image(model, encode_image(model, photo(), 1.0) + b"\x00")


def test_a_huge_claimed_size_is_refused_before_allocating(model):
    h = unpack(encode_image(model, photo(), 1.0))
    h.width = h.height = 100_000
    data = bitstream.pack(h)  # a valid CRC: only the size check can stop it
    start = time.perf_counter()
    with pytest.raises(VaezError, match="100000x100000"):
        decode_image(model, data)
    assert time.perf_counter() - start < 0.5


def test_garbage_strings_with_a_valid_checksum_never_crash(child):
    """Random range-coder bytes that pass the CRC: some picture or a sentence, never a crash (in the child)."""
    _, proc = child
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(bitstream, "MAX_FILE_BYTES", 10)
    (tmp_path / "big.vaez").write_bytes(b"VAEZ" + bytes(100))
    with pytest.raises(VaezError, match="at most 10 bytes"):
        bitstream.read_file(tmp_path / "big.vaez")


def test_encoding_a_too_large_picture_is_refused(model):
    with pytest.raises(VaezError, match="megapixels"):
        encode_image(model, torch.zeros(3, 1, bitstream.MAX_PIXELS + 1, dtype=torch.uint8), 1.0)


# --- training, benchmark, demo ---------------------------------------------------------------
@pytest.mark.parametrize("aux_lr", [None, 1e-3])
def test_train_codec_writes_a_loadable_checkpoint(tmp_path, aux_lr):
    data = tmp_path / "photos"
    data.mkdir()
    for i in range(2):
        Image.fromarray(photo(80, 96, seed=i).permute(1, 2, 0).numpy()).save(data / f"{i}.png")
    run = CodecRunConfig.from_dict(
        {
            "model": TINY,
            "crop_size": 64,
            "batch_size": 2,
            "steps_per_epoch": 2,
            "val_images": 0,
            "aux_lr": aux_lr,
            "trainer": {"max_epochs": 1, "out_dir": str(tmp_path / "run")},
        }
    )
    train_codec(run, data, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "training_summary.json").read_text())
    assert summary["steps"] == 2
    card = (tmp_path / "out" / "README.md").read_text()
    assert ("the quantiles apart" in card) == (aux_lr is not None)
    m = hub.load_checkpoint(tmp_path / "out", "cpu")
    assert decode_image(m, encode_image(m, photo(), 2)).shape == (3, 70, 90)


def test_aux_lr_puts_the_quantiles_in_a_group_of_their_own_outside_the_clip():
    model = tiny()
    assert optimiser_groups(model, CodecRunConfig(model=model.config)) is None, "default: one shared group"
    main, aux = optimiser_groups(model, CodecRunConfig(model=model.config, aux_lr=1e-3))
    quantiles = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    assert [id(p) for p in aux["params"]] == [id(p) for p in quantiles] and aux["lr"] == 1e-3 and not aux["clip"]
    assert len(main["params"]) + len(quantiles) == len(list(model.parameters())) and "lr" not in main


def test_bd_rate_of_a_curve_with_half_the_bits_is_minus_50_percent():
    from vae_demo.codec.benchmark import bd_rate

    anchor = [{"bpp": b, "psnr": 25 + 4 * math.log2(b)} for b in (0.25, 0.5, 1, 2, 4)]
    half = [{"bpp": p["bpp"] / 2, "psnr": p["psnr"]} for p in anchor]
    assert bd_rate(anchor, anchor) == pytest.approx(0, abs=1e-6)
    assert bd_rate(anchor, half) == pytest.approx(-50, abs=1e-3)


def test_benchmark_writes_json_and_plot(tmp_path):
    from vae_demo.codec.benchmark import main

    data = tmp_path / "photos"
    data.mkdir()
    Image.fromarray(photo(64, 80).permute(1, 2, 0).numpy()).save(data / "a.png")
    result = main(["--data", str(data), "--codecs", "jpeg,webp", "--json", str(tmp_path / "r.json")])
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["n_images"] == 1 and set(saved["codecs"]) == {"jpeg", "webp"} == set(result["bd_rate_vs_jpeg"])
    assert set(saved["codecs"]["jpeg"]["points"][0]) >= {"bpp", "psnr", "ssim", "encode_s", "decode_s"}
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_benchmark_sweeps_the_levels_of_the_codec_it_loads(model, saved, tmp_path):
    from vae_demo.codec.benchmark import main

    data = tmp_path / "photos"
    data.mkdir()
    Image.fromarray(photo(64, 80).permute(1, 2, 0).numpy()).save(data / "a.png")
    argv = ["--data", str(data), "--codecs", "vae,jpeg", "--checkpoint", str(saved), "--repeats", "1"]
    result = main([*argv, "--json", str(tmp_path / "r.json")])
    settings = [p["setting"] for p in result["codecs"]["vae"]["points"]]
    assert settings == [0.0, 0.5, 1.0, 1.5, 2.0] and model.levels == 3  # every trained level and midpoint


def test_compress_action_matches_sizes_and_decompresses(model, monkeypatch):
    from vae_demo.demo import compress as action

    monkeypatch.setattr(action, "get_codec", lambda: model)
    image = Image.fromarray(photo(96, 128, seed=3).permute(1, 2, 0).numpy())
    out = action.compress(image, quality=2)
    assert out.vae.shape == out.jpeg.shape == (96, 128, 3)
    rows = {r[0]: r for r in out.rows}
    vae_bytes = Path(out.path).stat().st_size
    assert rows["VAE (.vaez)"][1] == vae_bytes
    for name in ("JPEG", "WebP"):
        assert name in rows and (rows[name][1] <= vae_bytes or rows[name][-1].endswith("(its smallest file: larger)"))
    assert np.array_equal(action.decompress(out.path), out.vae)
    assert out.zoom.shape[0] == 3 * 96 and out.zoom.ndim == 3
    assert out.summary.startswith("On this photo")  # the tiny model has 3 levels: too few for a BD-rate
    with pytest.raises(ValueError, match="quality"):
        action.compress(image, quality=99)
    with pytest.raises(VaezError):
        action.decompress(None)


def test_the_rate_summary_reads_the_curves_of_this_photo():
    from vae_demo.demo.compress import rate_summary

    webp = [{"bpp": b, "psnr": p} for b, p in ((0.25, 28.0), (0.5, 31.0), (1.0, 34.0), (2.0, 37.0))]
    vae = [{"bpp": pt["bpp"] / 2, "psnr": pt["psnr"]} for pt in webp]  # half the bits for the same PSNR
    text = rate_summary({"vae": vae, "webp": webp}, webp_psnr=31.0, webp_bytes=10_000, pixels=160_000)
    assert "50.0% fewer bytes than WebP (BD-rate -50.0%)" in text
    assert "a VAE file saves 5,000 bytes (50%)" in text  # 0.25 bpp x 160,000 pixels / 8
    worse = rate_summary({"vae": webp, "webp": vae}, webp_psnr=31.0, webp_bytes=5_000, pixels=160_000)
    assert "100.0% more bytes" in worse and "costs 5,000 bytes more" in worse


def test_compress_refuses_a_photo_over_the_limit(model, monkeypatch):
    from vae_demo.core.images import ImageError
    from vae_demo.demo import compress as action

    monkeypatch.setattr(action, "get_codec", lambda: model)
    monkeypatch.setattr(bitstream, "MAX_PIXELS", 64 * 64)
    with pytest.raises(ImageError, match="megapixels"):
        action.compress(Image.new("RGB", (65, 64)), 1)


def test_pillow_search_respects_the_budget():
    from vae_demo.codec.anchors import ANCHORS

    image = Image.fromarray(photo(96, 128).permute(1, 2, 0).numpy())
    data, q = ANCHORS["jpeg"].at_most(image, 2000)
    assert len(data) <= 2000 and 1 <= q <= 95


def test_the_jpeg_anchor_is_huffman_optimised_same_pixels_fewer_bytes():
    import io

    from vae_demo.codec.anchors import ANCHORS

    image = Image.fromarray(photo(96, 128).permute(1, 2, 0).numpy())
    plain = io.BytesIO()
    image.save(plain, format="JPEG", quality=50)
    ours = ANCHORS["jpeg"].encode(image, 50)
    assert len(ours) < len(plain.getvalue())
    assert np.array_equal(ANCHORS["jpeg"].decode(ours), ANCHORS["jpeg"].decode(plain.getvalue()))


BUNDLED = hub.BUNDLED_DIR / "codec-vae"


@pytest.mark.skipif(not (BUNDLED / "model.safetensors").is_file(), reason="bundled codec-vae missing")
def test_bundled_codec_round_trips_and_fits_in_10_mb():
    assert all(f.stat().st_size < 10 * 2**20 for f in BUNDLED.iterdir())
    m = hub.load_model("codec-vae", device="cpu")
    x = photo(128, 192)
    small, big = (encode_image(m, x, q) for q in (0, m.levels - 1))
    assert len(small) < len(big)
    assert decode_image(m, big).shape == (3, 128, 192)


@pytest.mark.parametrize("lambdas", [TINY["lambdas"], [0.01, 0.1]], ids=["same-levels", "other-levels"])
def test_warm_start_copies_the_gains_only_for_the_same_levels(tmp_path, lambdas):
    from vae_demo.codec.train import warm_start

    source = tiny(seed=1)
    with torch.no_grad():
        source.gain.mul_(3.0)  # trained-looking gains, unlike a fresh model's
    source.save_pretrained(tmp_path / "src")
    (tmp_path / "src" / "config.json").write_text(json.dumps(source.config.to_dict()))
    target = tiny(seed=2, lambdas=lambdas)
    fresh_gain = target.gain.detach().clone()
    warm_start(target, tmp_path / "src")
    assert torch.equal(target.g_a[0].weight, source.g_a[0].weight), "the transforms are copied either way"
    if lambdas == TINY["lambdas"]:
        assert torch.equal(target.gain, source.gain)
    else:
        assert torch.equal(target.gain, fresh_gain)


def test_a_staged_codec_card_names_every_stage_and_its_command(tmp_path):
    from vae_demo.codec.card import write_codec_card

    run = CodecRunConfig.from_dict({"model": {**TINY, "M": 24}, "crop_size": 128, "batch_size": 8}).to_dict()
    second = CodecRunConfig.from_dict({"model": TINY, "crop_size": 128, "batch_size": 8}).to_dict()
    first = CodecRunConfig.from_dict({"model": TINY, "crop_size": 256, "batch_size": 16}).to_dict()
    summary = {"run_config": run, "steps": 3000, "wall_seconds": 900.0, "hardware": "CPU", "validation": []}
    stage1 = {"run_config": first, "steps": 12000, "wall_seconds": 444.0, "hardware": "GPU"}
    stage2 = {"run_config": second, "steps": 2000, "wall_seconds": 600.0, "hardware": "CPU"}
    write_codec_card(tmp_path, {**summary, "stages": [stage1, stage2]})
    card = (tmp_path / "README.md").read_text()
    assert (
        "- Stage 1 (`configs/tiny-codec-stage1.json`, M = 12): from scratch, 12000 steps of batch 16 on 256x256" in card
    )
    assert (
        "GPU, wall time 7.4 min" in card
        and "- Stage 2 (`configs/tiny-codec-stage2.json`, M = 12): from stage 1's" in card
    )
    assert "- Training (stage 3, from stage 2's weights, its latent widened from M = 12 to 24): seed 0, 3000" in card
    commands = [card.index(f"configs/tiny-codec{s}.json --data") for s in ("-stage1", "-stage2", "")]
    assert commands == sorted(commands)
    write_codec_card(tmp_path, summary)
    assert "stage" not in (tmp_path / "README.md").read_text().lower()


def test_a_widened_codec_starts_as_its_source_and_trains_its_new_channels(tmp_path):
    """warm_start into a larger M: the source's tensors lead, the decoded picture and the rate barely move, and
    the loss reaches every new channel (none starts dead)."""
    from vae_demo.codec.train import warm_start

    source = tiny(seed=1)
    source.save_pretrained(tmp_path / "src")
    wide = HyperpriorCodec(CodecConfig.from_dict({**TINY, "M": 24}))
    warm_start(wide, tmp_path / "src")
    assert torch.equal(wide.g_a[6].weight[:12], source.g_a[6].weight)
    assert torch.equal(wide.gain[:, :12], source.gain) and torch.equal(wide.g_s[0].weight[:12], source.g_s[0].weight)
    x, quality = photo(64, 64)[None].float() / 255, torch.tensor([2])
    with torch.no_grad():
        before, after = source(x, quality), wide.eval()(x, quality)
    assert (before["x_hat"] - after["x_hat"]).abs().max() < 0.02
    bits = [sum(-v.log2().sum() for v in out["likelihoods"].values()) for out in (before, after)]
    assert bits[1] < 1.1 * bits[0] + 10
    wide.train()
    out = wide(x, quality)
    loss = (out["x_hat"] - x).pow(2).mean() * 1000 + sum(-v.log2().sum() for v in out["likelihoods"].values()) / 4096
    loss.backward()
    for name in ("g_a.6.weight", "h_s.4.weight", "h_a.0.weight"):
        grad = dict(wide.named_parameters())[name].grad
        new = grad[12:] if name != "h_a.0.weight" else grad[:, 12:]
        assert new.flatten(1).abs().sum(1).gt(0).all() if name != "h_a.0.weight" else new.abs().sum() > 0, name


# --- the mean-scale hyperprior, tiles, format version 1 ----------------------------------------
def test_a_mean_scale_codec_codes_the_latent_minus_its_means():
    m = tiny(means=True)
    strings, shape = m.compress(photo(64, 128).float()[None] / 255, 1.0)
    with torch.no_grad():
        g, ig, hg, ihg = m.gains(1.0)
        y = m.g_a(photo(64, 128).float()[None] / 255) * g
        z_hat = m.entropy_bottleneck.decompress([strings[1]], shape)
        indexes, means = m._prior(z_hat, ihg)
        assert means.abs().max() > 0  # h_m predicts means
        symbols = m.gaussian_conditional.decompress([strings[0]], indexes, torch.float32)
        assert torch.equal(symbols, torch.round(y.double() - means).float())
        reference = m.g_s((symbols.double() + means).float() * ig).clamp(0, 1)
    assert torch.allclose(m.decompress(strings, shape, 1.0), reference, atol=1e-5)


def test_a_mean_scale_codec_is_bit_exact_in_a_fresh_process(tmp_path):
    saved = tiny(seed=3, means=True).save_pretrained(tmp_path / "mean-scale")
    m = load_codec(saved)
    x = photo(70, 90)
    (tmp_path / "a.vaez").write_bytes(encode_image(m, x, 1.5))
    (tmp_path / "x.raw").write_bytes(x.numpy().tobytes())
    proc = subprocess.run(
        [sys.executable, "-c", CHILD_SCRIPT, str(saved), str(tmp_path)],
        cwd=ROOT,
        timeout=300,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "y.raw").read_bytes() == decode_image(m, (tmp_path / "a.vaez").read_bytes()).numpy().tobytes()
    assert (tmp_path / "b.vaez").read_bytes() == (tmp_path / "a.vaez").read_bytes()


def test_a_mean_scale_codec_warm_started_from_a_scale_codec_starts_as_it(tmp_path):
    from vae_demo.codec.train import warm_start

    source = tiny(seed=4)
    folder = source.save_pretrained(tmp_path / "scale")
    m = HyperpriorCodec(CodecConfig.from_dict({**TINY, "means": True}))
    warm_start(m, folder)
    m.finalize()
    assert not m.h_m[-1].weight.any() and not m.h_m[-1].bias.any()
    x = photo(64, 128).float()[None] / 255
    assert m.eval().compress(x, 1.0)[0] == source.compress(x, 1.0)[0]  # the same strings: every mean is 0


def test_a_big_picture_is_coded_in_tiles_and_round_trips(model, monkeypatch):
    monkeypatch.setattr(bitstream, "WHOLE_PIXELS", 64 * 64)
    monkeypatch.setattr(bitstream, "TILE", 64)
    x = photo(150, 130)
    data = encode_image(model, x, 1.0)
    header = unpack(data)
    assert header.tile == 64 and len(header.strings) == 2 * 3 * 3
    y = decode_image(model, data)
    assert y.shape == x.shape
    top_left = decode_image(model, encode_image(model, x[:, :64, :64].contiguous(), 1.0))
    assert torch.equal(y[:, :64, :64], top_left)  # each tile is coded on its own
    header.strings = header.strings[:-2]  # one tile missing, with a valid checksum
    with pytest.raises(VaezError, match="16 coded strings, not 18"):
        decode_image(model, bitstream.pack(header))


def test_a_version_1_file_still_decodes(model):
    data = encode_image(model, photo(), 1.0)
    h = unpack(data)
    body = b"".join(
        [
            b"VAEZ\x01",
            struct.pack(">B", len(h.model_name)),
            h.model_name.encode(),
            bytes.fromhex(h.weights_hash),
            struct.pack(">IIBHB", h.width, h.height, 0, round(h.quality * 1000), 2),
            *(struct.pack(">I", len(s)) + s for s in h.strings),
        ]
    )
    assert torch.equal(decode_image(model, _with_crc(body)), decode_image(model, data))
