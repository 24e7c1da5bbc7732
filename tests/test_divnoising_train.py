"""Training DivNoising on noisy images alone: the noisy copy, the run (which never opens a clean image),
the bundled config and, when it is installed, the bundled checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, skip_without_bundled
from PIL import Image

from vae_demo.cli import main
from vae_demo.restoration.noisy_copy import MANIFEST, make_noisy_copy, sha256

TINY = ["model.widths=[8,16]", "model.latent_levels=2", "model.blocks=1", "model.latent_channels=4"]


@pytest.fixture
def clean(tmp_path) -> Path:
    """Eight grey and two colour 'clean photos': smooth gradients with a few shapes."""
    folder = tmp_path / "clean"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):
        small = rng.integers(0, 255, (4, 4, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((72, 64), Image.BICUBIC)
        img.convert("L" if i < 8 else "RGB").save(folder / f"photo{i:02d}.{'png' if i % 2 else 'jpg'}")
    return folder


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def test_make_noisy_is_deterministic_per_seed_and_keeps_grey_and_colour(tmp_path, clean, capsys):
    main(["make-noisy", "--data", str(clean), "--sigma", "25", "--seed", "0", "--out", str(tmp_path / "a")])
    assert "wrote 10 noisy PNGs" in capsys.readouterr().out
    b = make_noisy_copy(clean, tmp_path / "b", sigma=25, seed=0)
    other = make_noisy_copy(clean, tmp_path / "c", sigma=25, seed=1)
    names = sorted(p.name for p in (tmp_path / "a").glob("*.png"))
    assert names == [f"photo{i:02d}.png" for i in range(10)]
    assert [sha256(tmp_path / "a" / n) for n in names] == [sha256(tmp_path / "b" / n) for n in names]
    assert all(sha256(tmp_path / "a" / n) != sha256(tmp_path / "c" / n) for n in names)
    assert json.loads((tmp_path / "a" / MANIFEST).read_text()) == b and b["files"] != other["files"]
    assert {k: b[k] for k in ("source", "sigma", "seed")} == {"source": str(clean.resolve()), "sigma": 25.0, "seed": 0}
    for f in b["files"]:
        with Image.open(tmp_path / "b" / f["name"]) as noisy, Image.open(clean / f["source"]) as original:
            assert noisy.format == "PNG" and noisy.mode == f["mode"] == ("L" if original.mode == "L" else "RGB")
            residual = np.asarray(noisy, dtype=float) - np.asarray(original, dtype=float)
            assert 20 < residual.std() < 27, "sigma 25, a little less where it is clipped"


def test_make_noisy_refuses_its_own_source_and_a_folder_of_other_images(tmp_path, clean):
    with pytest.raises(ValueError, match="must not be inside the clean folder"):
        make_noisy_copy(clean, clean / "noisy")
    (tmp_path / "busy").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "busy" / "mine.png")
    with pytest.raises(ValueError, match="already holds other images"):
        make_noisy_copy(clean, tmp_path / "busy")
    with pytest.raises(SystemExit, match="make-noisy: no image folder"):
        main(["make-noisy", "--data", str(tmp_path / "absent"), "--out", str(tmp_path / "x")])


def train(tmp_path, noisy: Path, *overrides: str, out: str = "ckpt") -> Path:
    args = ["train", "--config", str(ROOT / "configs" / "divnoising-vae.json"), "--data", str(noisy)]
    extra = ["steps_per_epoch=15", "trainer.max_epochs=2", "batch_size=4", "patch_size=32", "val_images=2"]
    extra += ["trainer.warmup_steps=5", "trainer.lr=0.003", "kl_warmup_steps=10"]
    main(["--threads", "1", *args, "--out", str(tmp_path / out), *TINY, *extra, *overrides])
    return tmp_path / out


def test_the_training_run_never_opens_a_clean_image(tmp_path, clean, monkeypatch):
    """The run's data path is the noisy copy: no file it opens lies in the clean folder, and no noisy image is a
    clean one. The summary and the model card record the folder and its manifest."""
    noisy = tmp_path / "noisy"
    make_noisy_copy(clean, noisy, sigma=25, seed=0)
    opened: list[Path] = []
    real_open = Image.open

    def spy(fp, *args, **kwargs):
        opened.append(Path(fp if isinstance(fp, (str, Path)) else fp.name).resolve())
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    monkeypatch.chdir(tmp_path)  # the trainer's state goes to runs/ here
    out = train(tmp_path, noisy)
    monkeypatch.setattr(Image, "open", real_open)
    assert opened and all(p.parent == noisy.resolve() for p in opened), opened
    assert not any(clean.resolve() in p.parents for p in opened)
    clean_pixels = [pixels(p) for p in clean.iterdir()]
    for p in noisy.glob("*.png"):
        assert not any(c.shape == pixels(p).shape and (c == pixels(p)).all() for c in clean_pixels), p
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["data"]["folder"] == str(noisy.resolve())
    assert summary["data"]["manifest"]["source"] == str(clean.resolve()) and summary["data"]["manifest"]["sigma"] == 25
    assert len(summary["data"]["train_files"]) == 8 and summary["data"]["held_out_files"] == [
        "photo08.png",
        "photo09.png",
    ]
    card = (out / "README.md").read_text()
    assert "Trained on noisy images only" in card and "--sigma 25 --seed 0" in card and "`noisy`" in card
    first, last = summary["validation"][0], summary["validation"][-1]
    assert last["val_neg_elbo"] < first["val_neg_elbo"], "the held-out noisy images' ELBO rises"
    assert last["val_kl_per_image"] > 0
    # the benchmark rows go into the card (benchmarks/restore_table.py --card), which still says what it saw
    import importlib.util

    from vae_demo.restoration.benchmark import run_benchmark

    report = run_benchmark(
        "denoise", 25, clean, "noisy,divnoising", limit=2, divnoising_checkpoint=str(out), mmse_samples=2
    )
    (tmp_path / "divnoising_denoise25.json").write_text(json.dumps(report))
    spec = importlib.util.spec_from_file_location("restore_table", ROOT / "benchmarks" / "restore_table.py")
    restore_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(restore_table)
    restore_table.main([str(tmp_path / "divnoising_denoise25.json"), "--card", str(out)])
    card = (out / "README.md").read_text()
    assert "## Benchmarks" in card and "| noisy | divnoising |" in card and "Trained on noisy images only" in card


def test_a_noise_model_that_disagrees_with_the_data_is_one_line(tmp_path, clean, monkeypatch):
    noisy = tmp_path / "noisy"
    make_noisy_copy(clean, noisy, sigma=15, seed=0)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="sigma 15 but the config's noise model says 25"):
        train(tmp_path, noisy)


def test_the_bundled_config_is_a_grey_model_of_sigma_25_noise():
    from vae_demo.restoration.divnoising import DivNoisingVAE
    from vae_demo.restoration.divnoising_train import DivNoisingRunConfig

    run = DivNoisingRunConfig.from_json(ROOT / "configs" / "divnoising-vae.json")
    assert run.family == "divnoising" and run.model.name == "divnoising-vae"
    assert run.model.noise_model == {"kind": "gaussian", "sigma": 25} and run.model.image_channels == 1
    model = DivNoisingVAE(run.model)
    s, kl = model(torch.rand(2, 1, run.patch_size, run.patch_size))
    assert s.shape == (2, 1, run.patch_size, run.patch_size) and run.patch_size % model.multiple == 0
    assert sum(p.numel() for p in model.parameters()) * 4 < 10_000_000, "the weights file stays under 10 MB"


@skip_without_bundled("divnoising-vae")
def test_the_bundled_checkpoint_was_trained_on_a_noisy_copy_alone():
    from vae_demo.core.hub import BUNDLED_DIR, load_model
    from vae_demo.restoration.divnoising import DivNoisingConfig, denoise

    folder = BUNDLED_DIR / "divnoising-vae"
    model = load_model("divnoising-vae", device="cpu")
    run = json.loads((ROOT / "configs" / "divnoising-vae.json").read_text())["model"]
    assert model.config == DivNoisingConfig.from_dict(run)
    data = json.loads((folder / "training_summary.json").read_text())["data"]
    manifest = data["manifest"]
    assert manifest["sigma"] == 25 and Path(manifest["source"]).name == "Train400"
    assert Path(data["folder"]).resolve() != Path(manifest["source"]).resolve()
    assert "Trained on noisy images only" in (folder / "README.md").read_text()
    noisy = Path(data["folder"])
    if noisy.is_dir() and Path(manifest["source"]).is_dir():  # the machine that trained it: compare the files
        for name in data["train_files"][:20]:
            assert sha256(noisy / name) != sha256(Path(manifest["source"]) / name)
    g = torch.Generator().manual_seed(0)
    y = torch.linspace(0, 1, 64).expand(64, 64)[None, None] + 25 / 255 * torch.randn(1, 1, 64, 64, generator=g)
    out = denoise(model, y.clamp(0, 1), k=4)
    assert out.kl_per_image > 100 and out.std.mean() > 0, "the latents are used and the samples differ"


def test_eval_of_a_divnoising_checkpoint_is_its_benchmark(tmp_path, clean, capsys):
    from vae_demo.restoration.divnoising import DivNoisingConfig, DivNoisingVAE

    config = DivNoisingConfig(widths=(8, 16), latent_channels=4, noise_model={"kind": "gaussian", "sigma": 25})
    DivNoisingVAE(config).save_pretrained(tmp_path / "ckpt")
    main(["eval", "--checkpoint", str(tmp_path / "ckpt"), "--data", str(clean), "--limit", "2"])
    out = capsys.readouterr().out
    assert "divnoising" in out and "KL per image" in out
