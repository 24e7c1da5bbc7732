"""The restoration VAE on tiny configs: shapes, gradients, any size, grey stays grey, samples, tiling."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, skip_without_bundled
from PIL import Image

from vae_demo.core import hub
from vae_demo.core.trainer import TrainerConfig
from vae_demo.restoration.degradations import gaussian_noise
from vae_demo.restoration.model import RestorationConfig, RestorationVAE
from vae_demo.restoration.restore import estimate_noise_sigma, restore
from vae_demo.restoration.train import (
    PatchBatches,
    RestorationRunConfig,
    load_folder,
    restoration_loss,
    train_restoration,
    warm_start,
)

TINY = RestorationConfig(widths=(4, 8), blocks=(1, 1), latent_channels=2, posterior_width=4)
TINY_UNSHUFFLED = RestorationConfig(widths=(4, 8), blocks=(1, 1), latent_channels=2, posterior_width=4, unshuffle=2)


@pytest.fixture(params=[TINY, TINY_UNSHUFFLED], ids=["full-resolution", "pixel-unshuffle"])
def tiny_restorer(request) -> RestorationVAE:
    """Every tiny-model test runs on both designs: the U-Net at full resolution and FFDNet's half resolution."""
    torch.manual_seed(0)
    return RestorationVAE(request.param).eval()


def test_pixel_unshuffle_sets_the_multiple_and_keeps_the_latent_size():
    plain, unshuffled = RestorationVAE(TINY), RestorationVAE(TINY_UNSHUFFLED)
    assert (plain.multiple, unshuffled.multiple) == (2, 4)
    y = torch.rand(1, 3, 16, 24)
    assert unshuffled.prior(unshuffled.features(y, 0.1)).mean.shape == (1, 2, 4, 6)  # 1 / multiple of the image
    with pytest.raises(ValueError, match="unshuffle"):
        RestorationConfig(unshuffle=0)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(1.0 / max((a - b).pow(2).mean().item(), 1e-20))


def photo(h: int = 32, w: int = 32, c: int = 3, seed: int = 0) -> torch.Tensor:
    """Smooth random colour shapes: something a restorer can work on."""
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(1, c, max(2, h // 8), max(2, w // 8), generator=g)
    return torch.nn.functional.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)


def test_forward_shapes_and_finite(tiny_restorer):
    x = photo(16, 16).repeat(2, 1, 1, 1)
    y = gaussian_noise(x, 25, torch.Generator().manual_seed(0))
    recon, posterior, prior, feats = tiny_restorer(x, y, torch.tensor([25 / 255, 10 / 255]))
    assert recon.shape == x.shape and torch.isfinite(recon).all()
    side = 16 // tiny_restorer.multiple  # the latent is at 1 / multiple of the image, 2 channels
    assert posterior.mean.shape == prior.mean.shape == (2, 2, side, side)
    assert len(feats) == 2


def test_loss_gives_a_gradient_to_every_parameter(tiny_restorer):
    tiny_restorer.train()
    x = photo(16, 16).repeat(2, 1, 1, 1)
    y = gaussian_noise(x, 25, torch.Generator().manual_seed(0))
    batch = (x, y, torch.full((2,), 0.1), torch.zeros(2, 0))
    losses = restoration_loss(tiny_restorer, batch, RestorationRunConfig(model=TINY), step=10)
    assert set(losses) == {"loss", "nll", "kl", "mode_nll"}
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses["kl"] >= 0
    losses["loss"].backward()
    missing = [n for n, p in tiny_restorer.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient reached {missing}"


@pytest.mark.parametrize("size", [(17, 23), (32, 32), (9, 40)])
def test_restore_any_size(tiny_restorer, size):
    y = photo(*size)
    out = restore(tiny_restorer, y, noise_sigma=10, samples=3, generator=torch.Generator().manual_seed(0))
    assert out.mode.shape == y.shape and out.mean.shape == y.shape and out.std.shape == y.shape
    assert out.samples.shape == (3, *y.shape)
    assert out.mode.min() >= 0 and out.mode.max() <= 1
    assert out.noise_sigma == 10


def test_grey_stays_grey(tiny_restorer):
    y = photo(24, 24, c=1)
    out = restore(tiny_restorer, y, noise_sigma=15, samples=2)
    assert out.mode.shape == (1, 1, 24, 24) and out.samples.shape == (2, 1, 1, 24, 24)


def test_samples_are_seeded_and_distinct(tiny_restorer):
    y = photo()
    a = restore(tiny_restorer, y, 25, samples=3, generator=torch.Generator().manual_seed(1))
    b = restore(tiny_restorer, y, 25, samples=3, generator=torch.Generator().manual_seed(1))
    c = restore(tiny_restorer, y, 25, samples=3, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a.samples, b.samples) and not torch.equal(a.samples, c.samples)
    assert not torch.equal(a.samples[0], a.samples[1])
    assert a.std.mean() > 0
    assert torch.equal(a.mode, restore(tiny_restorer, y, 25).mode), "the mode does not depend on sampling"


def test_blind_noise_estimate_is_close_to_sigma():
    x = photo(128, 128, c=1)
    for sigma in (10, 25, 50):
        y = gaussian_noise(x, sigma, torch.Generator().manual_seed(0))
        assert estimate_noise_sigma(y) == pytest.approx(sigma, rel=0.15)


def test_restore_rejects_a_bad_shape(tiny_restorer):
    with pytest.raises(ValueError, match="grey or RGB"):
        restore(tiny_restorer, torch.rand(1, 2, 16, 16))


def test_tiled_equals_untiled_tiny(tiny_restorer):
    y = photo(96, 80)
    g = torch.Generator().manual_seed(0)
    whole = restore(tiny_restorer, y, 20, samples=2, generator=g)
    overlap = 8 * tiny_restorer.multiple  # the same receptive field in the network's own pixels for both designs
    tiled = restore(
        tiny_restorer, y, 20, samples=2, generator=torch.Generator().manual_seed(0), tile=48, overlap=overlap
    )
    assert psnr(whole.mode, tiled.mode) > 45
    assert psnr(whole.samples, tiled.samples) > 45


@skip_without_bundled("denoise-vae")
def test_tiled_equals_untiled_with_the_bundled_model():
    model = hub.load_checkpoint(hub.bundled_path("denoise-vae"), "cpu")
    y = gaussian_noise(photo(320, 288), 25, torch.Generator().manual_seed(0))
    whole = restore(model, y, 25)
    tiled = restore(model, y, 25, tile=192, overlap=64)
    assert psnr(whole.mode, tiled.mode) > 45


MEMORY_SCRIPT = """
import json, resource, torch
from vae_demo.restoration.restore import restore
from vae_demo.restoration.model import RestorationConfig, RestorationVAE
torch.set_num_threads(2)
model = RestorationVAE(RestorationConfig(widths=(8, 16, 32), blocks=(1, 1, 1), latent_channels=2, posterior_width=8))
y = torch.rand(1, 3, 4096, 4096)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = restore(model, y, 10, tile=512, overlap=32)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"shape": list(out.mode.shape), "before_mb": before / 1024, "after_mb": after / 1024}))
"""


def test_a_4096px_photo_restores_tiled_in_bounded_memory():
    # cwd=ROOT: `python -c` puts the working directory first on sys.path, so this tree's vae_demo is used
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=600, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["shape"] == [1, 3, 4096, 4096]
    # The 4096x4096x3 float input, mode, weights and output are ~0.9 GB; one 512 px tile adds little.
    # Untiled, this model's full-resolution activations alone would need several GB.
    assert result["after_mb"] - result["before_mb"] < 1200, result


def test_checkpoint_round_trip_through_the_hub_loader(tmp_path, tiny_restorer):
    tiny_restorer.save_pretrained(tmp_path / "restore")
    config = json.loads((tmp_path / "restore" / "config.json").read_text())
    assert config["architecture"] == "restoration-vae"
    loaded = hub.load_checkpoint(tmp_path / "restore", "cpu")
    assert isinstance(loaded, RestorationVAE)
    y = photo()
    assert torch.allclose(restore(loaded, y, 10).mode, restore(tiny_restorer, y, 10).mode, atol=1e-5)  # NHWC vs NCHW


def _image_folder(folder, n: int, size: tuple[int, int], mode: str) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        c = 3 if mode == "RGB" else 1
        a = (photo(size[1], size[0], c=c, seed=i)[0].permute(1, 2, 0).numpy() * 255).astype("uint8")
        Image.fromarray(a[..., 0] if c == 1 else a, mode).save(folder / f"{i:02d}.png")


def test_patch_batches_grey_patches_have_equal_channels(tmp_path):
    _image_folder(tmp_path / "colour", 3, (40, 36), "RGB")
    _image_folder(tmp_path / "grey", 3, (40, 40), "L")
    run = RestorationRunConfig(model=TINY, patch_size=16, batch_size=6, steps_per_epoch=2, grey_fraction=0.5)
    batches = list(PatchBatches(load_folder(tmp_path / "colour", False), load_folder(tmp_path / "grey", True), run))
    assert len(batches) == 2
    clean, degraded, sigma, condition = batches[0]
    assert clean.shape == degraded.shape == (6, 3, 16, 16) and sigma.shape == (6,)
    assert condition.shape == (6, 0), "TINY knows no conditions: every patch is blind"
    grey = (clean[:, 0] == clean[:, 1]).flatten(1).all(dim=1) & (clean[:, 1] == clean[:, 2]).flatten(1).all(dim=1)
    assert grey.any(), "some patches are grey"
    assert (degraded[grey, 0] == degraded[grey, 2]).all(), "a grey patch is degraded as grey"


def _tiny_run(tmp_path, **fields) -> RestorationRunConfig:
    """A one-epoch run of the TINY model on 16-px patches, its run folder in tmp_path; ``fields`` override."""
    trainer = TrainerConfig(max_epochs=1, warmup_steps=1, out_dir=str(tmp_path / "run"))
    return RestorationRunConfig(**{"model": TINY, "patch_size": 16, "trainer": trainer, **fields})


def test_train_restoration_writes_a_loadable_checkpoint(tmp_path):
    data = tmp_path / "train"
    _image_folder(data / "CBSD432", 3, (40, 36), "RGB")
    _image_folder(data / "Train400", 2, (32, 32), "L")
    run = _tiny_run(tmp_path, batch_size=4, steps_per_epoch=3)
    train_restoration(run, data, tmp_path / "out")
    model = hub.load_checkpoint(tmp_path / "out", "cpu")
    assert isinstance(model, RestorationVAE)
    summary = json.loads((tmp_path / "out" / "training_summary.json").read_text())
    assert summary["steps"] == 3
    assert (tmp_path / "run" / "latest" / "model.safetensors").is_file()


TASKED = RestorationConfig(
    widths=(4, 8), blocks=(1, 1), latent_channels=2, posterior_width=4, conditions=("noise", "jpeg", "sr")
)


def test_task_conditioning_changes_the_output_and_checks_names():
    torch.manual_seed(0)
    model = RestorationVAE(TASKED).eval()
    y = photo(16, 16)
    blind, jpeg = restore(model, y, 0, condition=None).mode, restore(model, y, 0, condition="jpeg").mode
    assert not torch.equal(blind, jpeg)
    assert torch.equal(restore(model, y, 0, condition="deblur-not-known").mode, blind), "an unknown condition is blind"
    with pytest.raises(ValueError, match="knows the conditions"):
        model.features(y, 0.0, "colourise")
    assert model.condition_code(["sr", None]).tolist() == [[0, 0, 1], [0, 0, 0]]


def test_warm_start_keeps_what_the_old_model_computed(tmp_path):
    torch.manual_seed(0)
    old = RestorationVAE(TINY).eval()
    old.save_pretrained(tmp_path / "old")
    new = RestorationVAE(TASKED).eval()
    warm_start(new, tmp_path / "old")
    y = photo(16, 16)
    expected = restore(old, y, 10).mode
    for condition in (None, "noise", "jpeg"):
        assert torch.allclose(restore(new, y, 10, condition=condition).mode, expected, atol=1e-6)
    with pytest.raises(ValueError, match="cannot warm-start"):
        warm_start(RestorationVAE(RestorationConfig(widths=(8, 8), blocks=(1, 1))), tmp_path / "old")


def test_patch_batches_tell_the_task_unless_blind(tmp_path):
    _image_folder(tmp_path / "colour", 2, (40, 36), "RGB")
    run = RestorationRunConfig(model=TASKED, patch_size=16, batch_size=64, steps_per_epoch=1, blind_fraction=0.25)
    ((_, _, _, codes),) = list(PatchBatches(load_folder(tmp_path / "colour", False), [], run))
    told = codes.sum(dim=1)
    assert set(told.tolist()) <= {0.0, 1.0}
    assert 0.3 < told.mean().item() < 0.9, "noise/jpeg/sr patches are told their condition, 25% of them blind"


def test_training_writes_a_restoration_png_each_epoch(tmp_path):
    data = tmp_path / "train"
    _image_folder(data / "CBSD432", 3, (40, 36), "RGB")
    _image_folder(tmp_path / "val" / "Set12", 2, (32, 32), "L")
    run = _tiny_run(tmp_path, batch_size=2, steps_per_epoch=2)
    train_restoration(run, data, tmp_path / "out")
    from PIL import Image as PILImage

    with PILImage.open(tmp_path / "run" / "Set12_epoch001.png") as img:
        assert img.size == (3 * (32 + 2) + 2, 32 + 2 + 2), "noisy | restored | clean"


def test_a_one_problem_run_degrades_only_that_way_and_its_card_says_so(tmp_path):
    """configs/sr-vae.json's kind of run: one degradation, no extra noise; the card names the problem."""
    data = tmp_path / "train"
    _image_folder(data / "CBSD432", 3, (40, 36), "RGB")
    run = _tiny_run(
        tmp_path,
        model=TASKED,
        batch_size=8,
        steps_per_epoch=2,
        blind_fraction=0.0,
        extra_noise=0.0,
        degradations=[{"name": "low_resolution", "probability": 1.0, "low": 1.5, "high": 4.5}],
    )
    for clean, degraded, sigma, codes in PatchBatches(load_folder(data / "CBSD432", False), [], run):
        assert (sigma == 0).all(), "no noise on top of the enlargement"
        assert (codes[:, TASKED.conditions.index("sr")] == 1).all() and codes.sum() == len(codes)
        assert not torch.equal(clean, degraded)
    train_restoration(run, data, tmp_path / "out")
    card = (tmp_path / "out" / "README.md").read_text()
    assert "trained on one problem alone (enlargement x2, x3 or x4" in card
    assert "JPEG blocks, blur" not in card
    assert "mild noise" not in card, "extra_noise 0: the card does not claim noisy patches"


def test_a_one_problem_card_says_when_a_share_of_the_patches_also_got_noise():
    from vae_demo.restoration.card import _restoration_scope

    blur = [{"name": "gaussian_blur", "probability": 1.0, "low": 0.5, "high": 3.0}]
    scope = _restoration_scope({"degradations": blur, "extra_noise": 0.1})
    assert "one problem alone (gaussian blur 0.5-3" in scope
    assert "10% of the blurred or enlarged patches also get mild noise" in scope


def test_a_two_stage_card_names_both_stages_and_both_commands(tmp_path):
    from vae_demo.restoration.card import write_restoration_card

    run = json.loads((ROOT / "configs" / "denoise-vae.json").read_text())
    first = json.loads((ROOT / "configs" / "denoise-vae-stage1.json").read_text())
    stage1 = {"run_config": first, "steps": 10000, "wall_seconds": 408.0, "hardware": "GPU A", "validation": []}
    summary = {"run_config": run, "steps": 5000, "wall_seconds": 144.0, "hardware": "GPU B", "validation": []}
    write_restoration_card(tmp_path, {**summary, "stages": [stage1]})
    card = (tmp_path / "README.md").read_text()
    assert "1. `configs/denoise-vae-stage1.json`: from scratch, 10000 steps from lr 0.0006" in card
    assert (
        "GPU A, wall time 6.8 min" in card
        and "a fresh schedule, 5000 steps" in card
        and "GPU B, wall time 2.4 min" in card
    )
    assert f"warm-up {first['kl_warmup_steps']} steps of stage 1" in card
    assert card.index("--config configs/denoise-vae-stage1.json") < card.index("--config configs/denoise-vae.json")
    write_restoration_card(tmp_path, summary)  # one stage: no stage lines, one command
    card = (tmp_path / "README.md").read_text()
    assert "stage" not in card and "- Training: seed 0, 5000 steps of batch 64" in card


def test_a_card_names_each_stages_patches_when_the_stages_drew_them_differently(tmp_path):
    from vae_demo.restoration.card import write_restoration_card

    first = json.loads((ROOT / "configs" / "denoise-vae-stage1.json").read_text())
    noise = {"name": "gaussian_noise", "probability": 0.5, "low": 0.0, "high": 55.0}
    last = {
        **first,
        "patch_size": 48,
        "grey_fraction": 0.7,
        "degradations": [noise, {**noise, "low": 5.0, "high": 30.0}],
    }
    stage1 = {"run_config": first, "steps": 100, "wall_seconds": 60.0, "hardware": "GPU", "validation": []}
    write_restoration_card(tmp_path, {**stage1, "run_config": last, "stages": [stage1]})
    card = (tmp_path / "README.md").read_text()
    size, grey = first["patch_size"], f"{first['grey_fraction']:.0%}"
    assert "Random patches (by stage below), flips" in card
    assert f"warm-up steps), {size}x{size} patches ({grey} grey); GPU" in card
    assert "48x48 patches (70% grey); gaussian noise 0-55 for 50%, gaussian noise 5-30 for 50%; GPU" in card
    assert "trained on one problem alone (gaussian noise 0-55; gaussian noise 5-30" in card
    write_restoration_card(tmp_path, {**stage1, "stages": [stage1]})  # the same draw twice: said once, above
    card = (tmp_path / "README.md").read_text()
    assert f"Random {size}x{size} patches ({grey} grey), flips" in card and "patches (by stage" not in card
