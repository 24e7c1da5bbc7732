"""``python -m vae_demo``: config overrides, a short training run, sampling and evaluation."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import folder_run, write_checkpoint
from PIL import Image

from vae_demo.cli import apply_overrides, main


def test_overrides_set_nested_keys_with_json_values():
    config = {"model": {"latent_dim": 32, "channels": [32, 64]}, "batch_size": 128}
    out = apply_overrides(config, ["model.latent_dim=16", "model.channels=[8,16]", "batch_size=4", "model.name=x"])
    assert out == {"model": {"latent_dim": 16, "channels": [8, 16], "name": "x"}, "batch_size": 4}
    assert config["model"]["latent_dim"] == 32, "the original is untouched"
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        apply_overrides(config, ["latent_dim"])
    with pytest.raises(SystemExit, match="not a section"):
        apply_overrides(config, ["batch_size.x=1"])


def test_train_a_few_steps_with_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "train"
    for folder, mode in (("CBSD432", "RGB"), ("Train400", "L")):
        (data / folder).mkdir(parents=True)
        for i in range(2):
            Image.new(mode, (40, 40), 90 + 40 * i).save(data / folder / f"{i}.png")
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"task": "restoration", "model": {"name": "tiny-restore"}, "batch_size": 2}))
    main(["train", "--config", str(config), "--data", str(data), "--out", str(tmp_path / "out"), "--max-steps", "3",
          "model.widths=[4,8]", "model.blocks=[1,1]", "model.posterior_width=4", "patch_size=16",
          "trainer.warmup_steps=1"])
    summary = json.loads((tmp_path / "out" / "training_summary.json").read_text())
    assert summary["steps"] == 3
    assert json.loads((tmp_path / "out" / "config.json").read_text())["widths"] == [4, 8]


def test_sample_writes_a_grid(tmp_path, tiny_model, capsys):
    write_checkpoint(tmp_path / "ckpt", tiny_model)
    main(["sample", "--checkpoint", str(tmp_path / "ckpt"), "--n", "9", "--out", str(tmp_path / "grid.png")])
    with Image.open(tmp_path / "grid.png") as img:
        assert img.size == (3 * (16 + 2) + 2,) * 2  # make_grid: 3x3 tiles of 16 px, padding 2
    assert "wrote 9 samples" in capsys.readouterr().out


def test_sampling_a_restoration_model_is_refused(tmp_path):
    from vae_demo.restoration.model import RestorationConfig, RestorationVAE

    torch.manual_seed(0)
    RestorationVAE(RestorationConfig(widths=(4, 8), blocks=(1, 1), posterior_width=4)).save_pretrained(tmp_path / "r")
    with pytest.raises(SystemExit, match="restoration model"):
        main(["sample", "--checkpoint", str(tmp_path / "r"), "--out", str(tmp_path / "x.png")])


def test_train_a_vae_on_an_image_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder, config = folder_run(tmp_path, "folder-vae", images=10, batch_size=3)
    main(["train", "--config", str(config), "--data", str(folder), "--out", str(tmp_path / "out"), "--max-steps", "4"])
    from vae_demo.core.hub import load_checkpoint

    model = load_checkpoint(tmp_path / "out", "cpu")
    assert model.config.name == "folder-vae"
    card = (tmp_path / "out" / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: vae-demo") and "license:" in card
    run_dir = tmp_path / "runs" / "folder-vae"
    assert (run_dir / "samples_epoch001.png").is_file() and (run_dir / "reconstructions_epoch001.png").is_file()


def test_hugging_face_datasets_need_the_datasets_package(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_datasets(name, *args, **kwargs):
        if name == "datasets":
            raise ImportError("No module named 'datasets'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    from vae_demo.generative.data import load_hf_images

    with pytest.raises(ImportError, match="pip install datasets"):
        load_hf_images("some/set", 16, 1, "train")


def test_eval_a_restoration_checkpoint_on_a_folder(tmp_path, capsys):
    from vae_demo.restoration.model import RestorationConfig, RestorationVAE

    torch.manual_seed(0)
    RestorationVAE(RestorationConfig(widths=(4, 8), blocks=(1, 1), posterior_width=4)).save_pretrained(tmp_path / "r")
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (32, 24), (120, 90, 60)).save(photos / "a.png")
    main(["eval", "--checkpoint", str(tmp_path / "r"), "--data", str(photos), "--json", str(tmp_path / "m.json")])
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["task"] == "denoise" and set(report["methods"]) == {"noisy", "vae"}
    assert "PSNR" in capsys.readouterr().out


def test_with_an_ema_the_exported_weights_are_the_average(tmp_path, monkeypatch):
    from vae_demo.core.hub import load_checkpoint

    monkeypatch.chdir(tmp_path)
    folder, config = folder_run(tmp_path, "ema-vae", images=10, batch_size=3)
    common = ["train", "--config", str(config), "--data", str(folder), "--max-steps", "4"]
    main([*common, "--out", str(tmp_path / "plain")])
    main([*common, "--out", str(tmp_path / "ema"), "trainer.ema_decay=0.5"])
    plain, ema = load_checkpoint(tmp_path / "plain", "cpu"), load_checkpoint(tmp_path / "ema", "cpu")
    assert any(not torch.equal(a, b) for a, b in zip(plain.state_dict().values(), ema.state_dict().values(),
                                                       strict=True))
