"""``vae-demo`` / ``python -m vae_demo``: config overrides, training, sampling, evaluation, restore, app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, folder_run, skip_without_bundled, write_checkpoint
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
    main(
        [
            "train",
            "--config",
            str(config),
            "--data",
            str(data),
            "--out",
            str(tmp_path / "out"),
            "--max-steps",
            "3",
            "model.widths=[4,8]",
            "model.blocks=[1,1]",
            "model.posterior_width=4",
            "patch_size=16",
            "trainer.warmup_steps=1",
        ]
    )
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
    with pytest.raises(SystemExit, match="not a generative VAE"):
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


def test_run_dir_puts_the_training_state_outside_the_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder, config = folder_run(tmp_path, "folder-vae", images=10, batch_size=3)
    run_dir = tmp_path / "elsewhere" / "run"
    main(["train", "--config", str(config), "--data", str(folder), "--run-dir", str(run_dir), "--max-steps", "2"])
    assert (run_dir / "trainer_state.pt").is_file() and (run_dir / "final" / "model.safetensors").is_file()
    assert not (tmp_path / "runs").exists()


def test_trainer_out_dir_override_moves_the_training_state(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder, config = folder_run(tmp_path, "state-vae", images=10, batch_size=3)
    state = tmp_path / "elsewhere"
    main(
        [
            "train",
            "--config",
            str(config),
            "--data",
            str(folder),
            "--out",
            str(tmp_path / "out"),
            "--max-steps",
            "2",
            f"trainer.out_dir={state}",
        ]
    )
    assert (state / "trainer_state.pt").is_file()
    assert not (tmp_path / "runs").exists(), "the default runs/NAME is not used when trainer.out_dir is given"


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
    assert any(
        not torch.equal(a, b) for a, b in zip(plain.state_dict().values(), ema.state_dict().values(), strict=True)
    )


# --- vae-demo restore -------------------------------------------------------------------------------------------


def photo_folder(tmp_path) -> Path:
    """Two small photos (colour PNG, grey JPEG) and a file named like an image that is not one."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    smooth = Image.fromarray(rng.integers(0, 255, (5, 7, 3), dtype=np.uint8)).resize((56, 40), Image.BICUBIC)
    smooth.save(folder / "a.png")
    smooth.convert("L").resize((32, 48)).save(folder / "b.jpg")
    (folder / "broken.png").write_text("this is not a picture")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@skip_without_bundled("denoise-vae")
def test_restore_a_folder_writes_pngs_and_reports_the_unreadable_file(tmp_path, capsys):
    folder = photo_folder(tmp_path)
    before = snapshot(folder)
    out = tmp_path / "restored"
    main(["restore", str(folder), "--out", str(out), "--problem", "noise", "--samples", "2", "--std-maps"])
    assert snapshot(folder) == before, "the inputs are untouched"
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "a_restored.png",
        "a_sample1.png",
        "a_sample2.png",
        "a_std.png",
        "b_restored.png",
        "b_sample1.png",
        "b_sample2.png",
        "b_std.png",
    ]
    with Image.open(out / "a_restored.png") as a, Image.open(out / "b_restored.png") as b:
        assert (a.size, a.mode, b.size, b.mode) == ((56, 40), "RGB", (32, 48), "L")
    with Image.open(out / "a_std.png") as std:
        assert std.size == (56, 40)
    captured = capsys.readouterr()
    reported = [line for line in captured.err.splitlines() if "broken.png" in line]
    assert len(reported) == 1 and reported[0].startswith("skipped ") and "not an image" in reported[0]
    assert "restored 2 of 3 inputs" in captured.out


@skip_without_bundled("denoise-vae", "sr-vae")
def test_restore_x2_enlarges_and_nothing_restored_exits_nonzero(tmp_path):
    folder = photo_folder(tmp_path)
    main(["restore", str(folder / "a.png"), "--out", str(tmp_path / "big"), "--problem", "x2"])
    with Image.open(tmp_path / "big" / "a_restored.png") as img:
        assert img.size == (112, 80)
    with pytest.raises(SystemExit, match="nothing was restored"):
        main(["restore", str(folder / "broken.png"), str(tmp_path / "missing.png"), "--out", str(tmp_path / "none")])


def test_restore_refuses_to_overwrite_an_input(tmp_path):
    folder = photo_folder(tmp_path)
    Image.new("RGB", (20, 20)).save(folder / "a_restored.png")  # a.png's output name, already an input
    before = snapshot(folder)
    with pytest.raises(SystemExit, match="refusing to overwrite the input .*a_restored.png"):
        main(["restore", str(folder), "--out", str(folder)])
    with pytest.raises(SystemExit, match="is a file"):
        main(["restore", str(folder / "a.png"), "--out", str(folder / "b.jpg")])
    assert snapshot(folder) == before, "nothing was written"


def test_restore_checks_its_options(tmp_path):
    folder = photo_folder(tmp_path)
    with pytest.raises(SystemExit, match="--level is the noise level"):
        main(["restore", str(folder), "--out", str(tmp_path / "o"), "--problem", "blur", "--level", "2"])
    with pytest.raises(SystemExit, match="--std-maps needs --samples 2"):
        main(["restore", str(folder), "--out", str(tmp_path / "o"), "--samples", "1", "--std-maps"])
    assert not (tmp_path / "o").exists()


def test_a_new_catalog_row_reaches_the_cli_the_benchmark_and_the_page(monkeypatch):
    """Adding a photo problem is one catalog row: the CLI's choices, the benchmark's tasks and the Enhance menu
    all read it (its code, the degradation and the classical method, is not exercised here)."""
    import importlib.util

    from vae_demo import catalog, cli

    row = catalog.Problem(
        "Dummy scratches", "gaussian_noise", lambda s: s, None, "nlm", catalog.DENOISE_MODEL, {"dummy": "level"}
    )
    monkeypatch.setitem(catalog.PROBLEMS, "dummy", row)
    parser = cli.build_parser()
    assert parser.parse_args(["restore", "x.png", "--out", "o", "--problem", "dummy"]).problem == "dummy"
    assert parser.parse_args(["eval", "--checkpoint", "c", "--task", "dummy"]).task == "dummy"
    spec = importlib.util.spec_from_file_location("restore_cli", ROOT / "benchmarks" / "restore.py")
    restore_cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(restore_cli)
    assert (
        restore_cli.parse_args(["--task", "dummy", "--level", "1", "--data", "d", "--json", "j.json"]).task == "dummy"
    )
    import gradio as gr

    from ui.enhance import create_enhance_tab

    with gr.Blocks() as demo:
        create_enhance_tab(demo)
    menu = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "enhance-problem")
    assert ("Dummy scratches", "dummy") in [tuple(c) for c in menu.choices]


def test_a_new_bundled_model_row_reaches_the_hub_and_the_generative_menu(monkeypatch):
    from ui import settings
    from vae_demo import catalog
    from vae_demo.core import hub

    monkeypatch.setitem(catalog.MODELS, "dummy-vae", catalog.Model("generative", "generative", "A dummy."))
    assert hub.bundled_path("dummy-vae") == hub.BUNDLED_DIR / "dummy-vae"
    assert settings.model_notes()["dummy-vae"] == "A dummy."
    assert "dummy-vae" in catalog.models("generative")


def test_restore_help_gives_the_std_map_sample_count():
    from vae_demo import batch_restore

    assert batch_restore.STD_MAP_SAMPLES == 4  # the number restore --help gives


# --- eval without data, train --download, app ------------------------------------------------------------------


@skip_without_bundled("mnist-vae")
def test_eval_without_data_is_one_clear_line(tmp_path):
    checkpoint = str(ROOT / "checkpoints" / "mnist-vae")
    with pytest.raises(SystemExit) as nowhere:
        main(["eval", "--checkpoint", checkpoint, "--data", str(tmp_path / "nowhere")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as empty:
        main(["eval", "--checkpoint", checkpoint, "--data", str(tmp_path / "empty")])
    for err, says in ((nowhere, "no test data at"), (empty, "no MNIST test set under")):
        message = str(err.value.code)
        assert says in message and "\n" not in message and "--download" not in message


def test_eval_without_data_through_python_m(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # CI installs the project (pip install -e .); this works either way
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vae_demo",
            "eval",
            "--checkpoint",
            str(ROOT / "checkpoints" / "denoise-vae"),
            "--data",
            str(tmp_path / "nowhere"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"eval: no test data at {tmp_path / 'nowhere'}: give --data a folder of clean photos"
    ]


def test_train_download_with_the_restoration_config_is_a_note(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"task": "restoration", "model": {"name": "tiny-restore"}, "batch_size": 2}))
    with pytest.raises(SystemExit, match="^train: .*CBSD432"):
        main(["train", "--config", str(config), "--data", str(tmp_path / "nodata"), "--download", "--max-steps", "1"])
    assert "--download is ignored" in capsys.readouterr().err


def test_app_help_and_a_missing_app(tmp_path, monkeypatch, capsys):
    from vae_demo import cli

    with pytest.raises(SystemExit) as done:
        main(["app", "--help"])
    assert done.value.code == 0 and "--port" in capsys.readouterr().out
    assert cli.APP_PATH == ROOT / "app.py", "the app at the root of the checkout the package lives in"
    monkeypatch.setattr(cli, "APP_PATH", tmp_path / "app.py")
    with pytest.raises(SystemExit, match="no app.py at"):
        main(["app"])


def test_app_runs_app_py_as_a_script(tmp_path, monkeypatch):
    from vae_demo import cli

    fake = tmp_path / "app.py"
    fake.write_text(
        "import os, pathlib\nif __name__ == '__main__':\n"
        "    pathlib.Path(__file__).with_name('ran').write_text(os.environ['GRADIO_SERVER_PORT'])\n"
    )
    monkeypatch.setattr(cli, "APP_PATH", fake)
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7860")  # restored after the test
    main(["app", "--port", "7999"])
    assert (tmp_path / "ran").read_text() == "7999"
