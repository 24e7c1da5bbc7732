"""Measured the way the field measures: provenance in every result, the unclipped noise protocol and the serving
path on it, fair classical baselines (the project's noise estimate, an oracle sigma, Anscombe, adaptive median),
the ``real`` task on pairs, and training that validates on the held-out split."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from conftest import ROOT
from PIL import Image

from vae_demo.core.provenance import PROVENANCE_KEY, provenance
from vae_demo.core.splits import validation_names
from vae_demo.restoration import classical, degradations, serving
from vae_demo.restoration.model import RestorationConfig, RestorationVAE
from vae_demo.restoration.restore import restore


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _image(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    small = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    im = Image.fromarray(small).resize((shape[1], shape[0]), Image.BICUBIC)
    return np.asarray(im if len(shape) == 3 else im.convert("L"))


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    return RestorationVAE(RestorationConfig(widths=(4, 8), blocks=(1, 1), latent_channels=2, posterior_width=4))


@pytest.fixture
def checkpoint(tmp_path, tiny_model):
    tiny_model.save_pretrained(tmp_path / "ckpt")
    return str(tmp_path / "ckpt")


@pytest.fixture
def pairs(tmp_path):
    """A folder of real-noise pairs: clean/NAME and noisy/NAME."""
    rng = np.random.default_rng(0)
    for sub in ("clean", "noisy"):
        (tmp_path / "pairs" / sub).mkdir(parents=True)
    for name in ("a.png", "b.png"):
        clean = _image(rng, (48, 64, 3))
        noisy = np.clip(clean + rng.normal(0, 12, clean.shape), 0, 255).astype(np.uint8)
        Image.fromarray(clean).save(tmp_path / "pairs" / "clean" / name)
        Image.fromarray(noisy).save(tmp_path / "pairs" / "noisy" / name)
    return tmp_path / "pairs"


# --- provenance ---------------------------------------------------------------------------------------------
def test_provenance_names_the_commit_machine_and_versions():
    p = provenance(threads=3)
    assert p["threads"] == 3 and p["torch"] == torch.__version__ and p["numpy"] == np.__version__
    assert p["date_utc"].endswith("Z") and p["cpu"] and p["cpu_capability"] and p["machine"] and p["python"]
    assert p["commit"] is None or (len(p["commit"]) == 40 and isinstance(p["dirty"], bool))


def test_a_benchmark_json_carries_its_provenance(tmp_path, pairs, checkpoint):
    out = tmp_path / "real.json"
    args = ["--task", "real", "--data", str(pairs), "--methods", "noisy,vae,vae_noise,nlm,nlm_oracle"]
    report = _script("restore").main([*args, "--checkpoint", checkpoint, "--json", str(out)])
    written = json.loads(out.read_text())
    assert written == report and set(written[PROVENANCE_KEY]) == set(provenance())
    assert report["task"] == "real" and report["n_images"] == 2 and report["level"] == 0
    assert set(report["methods"]) == {"noisy", "vae", "vae_noise", "nlm", "nlm_oracle"}
    assert all(r["sigma"] > 0 for r in report["methods"]["nlm_oracle"]["per_image"]), "the oracle's sigma is kept"
    assert report["methods"]["nlm_oracle"]["psnr"] >= report["methods"]["nlm"]["psnr"] - 1e-6
    assert "noise estimate" in report["classical"]["nlm"] and "oracle" in report["classical"]["nlm_oracle"]


def test_every_benchmark_that_writes_a_json_records_provenance():
    writers = [*sorted((ROOT / "benchmarks").glob("*.py")), ROOT / "vae_demo" / "codec" / "benchmark.py"]
    writers = [p for p in writers if "write_text(json.dumps(" in p.read_text()]
    assert len(writers) >= 10
    assert [p.name for p in writers if "PROVENANCE_KEY" not in p.read_text()] == []


def test_the_real_task_needs_both_halves_of_a_pair(tmp_path, pairs):
    (pairs / "clean" / "b.png").unlink()
    with pytest.raises(SystemExit, match="no clean reference"):
        _script("restore").main(["--task", "real", "--data", str(pairs), "--json", str(tmp_path / "x.json")])
    with pytest.raises(SystemExit):  # --level is required for the simulated tasks
        _script("restore").main(["--task", "denoise", "--data", str(pairs), "--json", str(tmp_path / "x.json")])


# --- the noise protocol ---------------------------------------------------------------------------------------
def test_unclipped_noise_is_the_same_draw_left_in_floating_point():
    x = torch.full((1, 1, 32, 32), 0.02)
    clipped = degradations.gaussian_noise(x, 50, torch.Generator().manual_seed(0))
    unclipped = degradations.gaussian_noise(x, 50, torch.Generator().manual_seed(0), clip=False)
    assert unclipped.min() < 0 and torch.equal(unclipped.clamp(0, 1), clipped)


def test_the_serving_path_clips_a_float_input_to_what_the_model_knows(tiny_model):
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    y = degradations.gaussian_noise(x, 50, torch.Generator().manual_seed(1), clip=False)
    plain = restore(tiny_model, y.clamp(0, 1), 50)
    served = serving.denoise(tiny_model, y, "gaussian", 50)
    assert torch.equal(served.mode, plain.mode), "unclipped input: exactly the clipped input's result"
    assert "input clipped to [0, 1]" in served.how and "clipped" not in plain.how
    sp = serving.denoise(tiny_model, y, "salt_and_pepper")
    assert sp.mode.min() >= 0 and sp.mode.max() <= 1


def test_the_benchmark_records_its_noise_protocol(tmp_path, pairs):
    bench = _script("restore")
    clean = pairs / "clean"
    runs = {
        clip: bench.main(
            ["--task", "denoise", "--level", "50", "--data", str(clean), "--methods", "tv", "--noise-clip", clip]
            + ["--json", str(tmp_path / f"{clip}.json")]
        )
        for clip in ("on", "off")
    }
    assert runs["on"]["noise_clip"] is True and runs["off"]["noise_clip"] is False
    assert runs["on"]["split"] == "all"
    on, off = (runs[c]["methods"]["tv"]["psnr"] for c in ("on", "off"))
    assert on != off, "the clipped and the unclipped noisy inputs differ"


# --- fair classical baselines -----------------------------------------------------------------------------------
def _smooth(channels: int = 3, size: int = 64) -> np.ndarray:
    a = _image(np.random.default_rng(1), (size, size, 3) if channels == 3 else (size, size)) / 255.0
    return a.astype(np.float64)


def _degrade(a: np.ndarray, name: str, level: float, seed: int = 1) -> np.ndarray:
    t = torch.from_numpy(a).float()
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    out = degradations.degrade(t, name, level, torch.Generator().manual_seed(seed))[0].permute(1, 2, 0).numpy()
    return (out[..., 0] if out.shape[-1] == 1 else out).astype(np.float64)


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a - b) ** 2))


def test_blind_rows_give_the_classical_methods_the_projects_noise_estimate(monkeypatch):
    noisy = _degrade(_smooth(), "gaussian_noise", 20)
    monkeypatch.setattr("vae_demo.restoration.noise_level.noise_level", lambda a: 17.5)
    assert classical._sigma01(noisy, None) == pytest.approx(17.5 / 255)
    seen = []
    monkeypatch.setitem(classical.METHODS, "bm3d", lambda image, s: seen.append(s) or image)
    classical.run_classical("bm3d", noisy, "camera", 15)
    assert seen == [None], "not told the camera level: the method falls back to the project's estimate"
    assert classical.describe("bm3d", "camera", 15).startswith("the project's noise estimate")


def test_the_oracle_walks_to_the_best_sigma_of_its_grid():
    clean = _smooth()
    noisy = _degrade(clean, "gaussian_noise", 25)
    out, sigma = classical.oracle("nlm", noisy, clean, start=6.0)
    assert sigma > 6.0 * 2**0.5, "a start far too low is walked up"
    start = classical._psnr8(classical.METHODS["nlm"](noisy, 6.0), clean)
    assert classical._psnr8(out, clean) > start


def test_poisson_goes_through_the_anscombe_transform():
    clean = _smooth(1) * 0.9 + 0.05
    noisy = _degrade(clean, "poisson", 10)
    out = classical.run_classical("nlm", noisy, "poisson", 10)
    assert _mse(out, clean) < 0.3 * _mse(noisy, clean)
    assert "Anscombe" in classical.describe("nlm", "poisson", 10)
    blind = classical.run_classical("nlm", noisy, "poisson", None)  # the peak estimated, as the app does it
    assert _mse(blind, clean) < 0.5 * _mse(noisy, clean)


@pytest.mark.parametrize("fraction", [0.1, 0.4])
@pytest.mark.parametrize("channels", [1, 3])
def test_the_adaptive_median_beats_the_plain_one_and_keeps_what_was_not_hit(fraction, channels):
    clean = _smooth(channels) * 0.9 + 0.05  # no pixel at 0 or 1
    noisy = _degrade(clean, "salt_and_pepper", fraction)
    out = classical.run_classical("adaptive_median", noisy, "salt_and_pepper", fraction)
    hit = noisy != clean if channels == 1 else np.any(noisy != clean, axis=-1)
    assert np.array_equal(out[~hit], clean[~hit]), "pixels that were not hit are kept as they are"
    plain = classical.run_classical("median", noisy, "salt_and_pepper", fraction)
    assert _mse(out, clean) < 0.5 * _mse(plain, clean)


# --- validation on the held-out split ----------------------------------------------------------------------------
def _training_folder(root, name: str, grey: bool) -> list[str]:
    """A folder named like a training folder with two of its validation photos and two others."""
    held = sorted(n.split("/", 1)[1] for n in validation_names() if n.startswith(f"{name}/"))[:2]
    folder = root / name
    folder.mkdir()
    rng = np.random.default_rng(0)
    for file in [*held, "zz_train_1.png", "zz_train_2.png"]:
        Image.fromarray(_image(rng, (40, 40) if grey else (40, 40, 3))).save(folder / file)
    return held


def test_a_new_restoration_config_validates_on_the_held_out_split(tmp_path):
    from vae_demo.restoration.train import RestorationRunConfig, load_folder, validation_sets

    held = _training_folder(tmp_path, "CBSD432", grey=False)
    _training_folder(tmp_path, "Train400", grey=True)
    run = RestorationRunConfig(data_split="train", val_images=8)
    sets = validation_sets(tmp_path, run)
    assert set(sets) == {"CBSD432_val", "Train400_val"} and len(sets["CBSD432_val"]) == len(held) == 2
    assert len(load_folder(tmp_path / "CBSD432", grey=False, split="train")) == 2
    old = RestorationRunConfig.from_json(ROOT / "configs" / "denoise-vae.json")
    assert old.data_split == "all", "the shipped configs keep their data and their monitor"


def test_a_divnoising_run_can_hold_out_the_validation_split(tmp_path):
    from vae_demo.restoration.divnoising_train import DivNoisingRunConfig, held_out

    names = sorted(n.split("/", 1)[1] for n in validation_names() if n.startswith("Train400/"))[:2]
    manifest = {"source": "/data/Train400", "files": [{"name": n, "source": n} for n in [*names, "x.png"]]}
    paths = [tmp_path / f["name"] for f in manifest["files"]]
    train, val = held_out(paths, DivNoisingRunConfig(data_split="train", val_images=1), manifest)
    assert [p.name for p in train] == ["x.png"] and [p.name for p in val] == names
    train, val = held_out(paths, DivNoisingRunConfig(val_images=1), None)
    assert [p.name for p in val] == ["x.png"], "the older runs: the last files by name"


def test_a_split_run_trains_without_the_validation_photos_and_its_card_says_what_chose_it(tmp_path):
    from vae_demo.core.trainer import TrainerConfig
    from vae_demo.restoration.train import RestorationRunConfig, train_restoration

    data = tmp_path / "train"
    data.mkdir()
    _training_folder(data, "CBSD432", grey=False)
    (tmp_path / "val" / "Set12").mkdir(parents=True)  # a report set beside the data: not read
    trainer = TrainerConfig(max_epochs=1, warmup_steps=1, out_dir=str(tmp_path / "run"))
    model = RestorationConfig(widths=(4, 8), blocks=(1, 1), latent_channels=2, posterior_width=4)
    run = RestorationRunConfig(model=model, trainer=trainer, patch_size=16, batch_size=2, steps_per_epoch=1)
    run.data_split = "train"
    train_restoration(run, data, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "training_summary.json").read_text())
    assert "CBSD432_val_psnr" in summary["validation"][-1] and summary["run_config"]["data_split"] == "train"
    assert "validation split held out" in (tmp_path / "out" / "README.md").read_text()


def test_the_benchmark_can_run_the_validation_split_of_a_training_folder(tmp_path):
    from vae_demo.restoration.benchmark_cases import make_cases

    held = _training_folder(tmp_path, "CBSD432", grey=False)
    cases = make_cases("denoise", 25, tmp_path / "CBSD432", None, 0, split="val")
    assert [name for name, _, _ in cases] == held
    assert len(make_cases("denoise", 25, tmp_path / "CBSD432", None, 0, split="train")) == 2
