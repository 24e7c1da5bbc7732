"""Classical light-and-colour corrections on small synthetic images, the light benchmark's measures and tasks,
and the two command lines (benchmarks/restore.py's light tasks, benchmarks/lowlight_real.py)."""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pytest
import torch
from conftest import ROOT
from PIL import Image

from vae_demo.light import benchmark, classical, pipeline
from vae_demo.restoration import benchmark as restoration_benchmark


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def smooth_image(size: int = 64, lo: float = 0.2, hi: float = 0.6, seed: int = 0) -> np.ndarray:
    """A smooth colour image (size, size, 3) with values in [lo, hi]."""
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(1, 3, size // 8, size // 8, generator=g)
    x = torch.nn.functional.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)
    return (lo + (hi - lo) * x[0].permute(1, 2, 0)).numpy().astype(np.float64)


def apply(fn, image: np.ndarray, *args) -> np.ndarray:
    out = fn(torch.from_numpy(image).permute(2, 0, 1).float(), *args)
    return out.permute(1, 2, 0).numpy().astype(np.float64)


def test_grey_world_makes_the_linear_channel_means_equal():
    cast = apply(pipeline.colour_cast, smooth_image(), 0.8, None, 0.0)  # amber
    means = classical.to_linear(cast).reshape(-1, 3).mean(0)
    assert means.max() / means.min() > 1.2
    out = classical.run_method("grey_world", cast)
    balanced = classical.to_linear(out).reshape(-1, 3).mean(0)
    assert balanced == pytest.approx(np.full(3, balanced.mean()), rel=1e-4)
    luma = np.asarray(pipeline.LUMA)  # exposure kept
    assert (classical.to_linear(out) @ luma).mean() == pytest.approx(
        (classical.to_linear(cast) @ luma).mean(), rel=1e-4
    )


def test_white_patch_makes_the_99th_percentiles_equal():
    cast = apply(pipeline.colour_cast, smooth_image(), 0.8, None, math.pi)  # blue
    top = np.percentile(classical.to_linear(classical.run_method("white_patch", cast)).reshape(-1, 3), 99, axis=0)
    assert top == pytest.approx(np.full(3, top.mean()), rel=1e-3)


def test_the_exposure_oracle_recovers_a_known_gain():
    clean = smooth_image()
    dark = classical.to_srgb(classical.to_linear(clean) / 4)  # two stops under, no noise
    assert classical.exposure_gain(dark, clean) == pytest.approx(4.0, rel=1e-6)
    assert classical.run_method("exposure_oracle", dark, clean) == pytest.approx(clean, abs=1e-6)


def test_oracles_need_the_reference():
    with pytest.raises(ValueError, match="oracle"):
        classical.run_method("exposure_oracle", smooth_image())
    assert all("oracle" in name for name in classical.ORACLES)


@pytest.mark.parametrize("method", ["gamma", "gamma_auto", "clahe", "hist_eq", "contrast_stretch"])
def test_brightening_methods_brighten_a_dark_image(method):
    dark = apply(pipeline.darken, smooth_image(), 3.0, None, 0.0)  # 3 stops, noiseless
    out = classical.run_method(method, dark)
    assert out.shape == dark.shape and out.min() >= 0 and out.max() <= 1
    assert out.mean() > dark.mean() + 0.05


def test_gamma_is_the_plain_power_curve():
    image = smooth_image()
    assert classical.run_method("gamma", image) == pytest.approx(image**0.45)


def test_dark_channel_prior_reduces_haze():
    clean = smooth_image(lo=0.0, hi=0.8, seed=3)
    clean[::2, :, 2] = 0.02  # every patch has a dark pixel, as the prior assumes of haze-free photos
    hazy = apply(pipeline.haze, clean, 0.6, None)
    out = classical.run_method("dehaze_dcp", hazy)
    assert np.mean((out - clean) ** 2) < 0.75 * np.mean((hazy - clean) ** 2)


def test_ciede2000_of_identical_images_is_zero_and_grows_with_a_cast():
    image = smooth_image()
    assert benchmark.ciede2000(image, image) == 0.0
    assert benchmark.ciede2000(apply(pipeline.colour_cast, image, 0.8, None, 0.0), image) > 2.0


def test_colourfulness_of_a_grey_image_is_zero():
    assert benchmark.colourfulness(np.full((16, 16, 3), 0.4)) == 0.0
    assert benchmark.colourfulness(smooth_image()) > 1.0


def test_the_task_table_has_the_four_light_tasks():
    assert set(benchmark.LIGHT_TASKS) == {"lowlight", "haze", "colour_cast", "light_auto"}
    assert set(benchmark.LIGHT_TASKS) <= set(restoration_benchmark.ALL_TASKS)
    assert set(benchmark.LEVEL_MEANING) == set(benchmark.LIGHT_TASKS)


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i, mode in enumerate(("RGB", "L")):
        a = (smooth_image(48, 0.05, 0.95, seed=i) * 255).round().astype(np.uint8)
        Image.fromarray(a).convert(mode).save(folder / f"{i}.png")
    return folder


@pytest.mark.parametrize(
    ("task", "level"), [("lowlight", "3"), ("haze", "0.5"), ("colour_cast", "0.7"), ("light_auto", "0")]
)
def test_restore_py_runs_every_light_task(tmp_path, data, task, level):
    out = tmp_path / "out.json"
    args = ["--task", task, "--level", level, "--data", str(data), "--methods", "noisy,gamma,exposure_oracle"]
    report = load_script("restore").main([*args, "--json", str(out)])
    assert json.loads(out.read_text()) == report
    assert report["n_images"] == 2 and report["blind"] == (task == "light_auto")
    assert report["oracles"] == ["exposure_oracle"] and report["level_meaning"] == benchmark.LEVEL_MEANING[task]
    for r in report["methods"].values():
        assert {"psnr", "ssim", "ciede2000", "sec_per_image", "per_image"} <= set(r)
        assert {"name", "psnr", "ssim", "ciede2000"} == set(r["per_image"][0])


def test_same_seed_same_inputs(data):
    a, b, c = (benchmark.run_light_benchmark("lowlight", 2, data, "noisy", seed=s) for s in (1, 1, 2))
    assert a["methods"]["noisy"]["per_image"] == b["methods"]["noisy"]["per_image"]
    assert a["methods"]["noisy"]["per_image"] != c["methods"]["noisy"]["per_image"]


def test_unknown_light_method_is_refused(data):
    with pytest.raises(SystemExit, match="unknown methods"):
        benchmark.run_light_benchmark("haze", 0.5, data, "noisy,bm3d")


def test_lowlight_real_report(tmp_path, data):
    out = tmp_path / "real.json"
    report = load_script("lowlight_real").main(["--data", str(data), "--methods", "gamma,clahe", "--json", str(out)])
    assert json.loads(out.read_text()) == report
    gamma = report["methods"]["gamma"]["median"]
    assert gamma["colourfulness_ratio"] == pytest.approx(1.0) and gamma["noise_ratio"] == pytest.approx(1.0)
    assert gamma["brightness_out"] > gamma["brightness_in"]
    assert len(report["methods"]["clahe"]["per_image"]) == 2
    assert report["methods"]["gamma"]["per_image"][1]["colourfulness_ratio"] is None  # the grey photo


def test_lowlight_real_refuses_oracles(tmp_path, data):
    with pytest.raises(SystemExit, match="oracle"):
        load_script("lowlight_real").main(
            ["--data", str(data), "--methods", "exposure_oracle", "--json", str(tmp_path / "x.json")]
        )


@pytest.fixture
def light_checkpoint(tmp_path):
    from vae_demo.light.model import LightConfig, LightVAE

    torch.manual_seed(0)
    LightVAE(LightConfig(thumb_size=16, widths=(4,), global_width=8, latent_dim=2, posterior_width=4)).save_pretrained(
        tmp_path / "light"
    )
    return str(tmp_path / "light")


@pytest.mark.parametrize(("task", "blind"), [("colour_cast", False), ("light_auto", True)])
def test_the_vae_method_serves_the_tasks_problem(data, light_checkpoint, task, blind):
    report = benchmark.run_light_benchmark(task, 0.5, data, "noisy,vae", limit=1, checkpoint=light_checkpoint)
    assert report["checkpoint"] == light_checkpoint and report["blind"] is blind
    assert 0 <= report["methods"]["vae"]["ciede2000"] < 100


def test_the_vae_method_says_what_is_missing(tmp_path, data):
    with pytest.raises(SystemExit, match="trained light VAE"):
        benchmark.run_light_benchmark("haze", 0.5, data, "vae", checkpoint=str(tmp_path / "nothing"))


def test_lowlight_real_runs_the_vae(tmp_path, data, light_checkpoint):
    args = ["--data", str(data), "--methods", "vae", "--limit", "1", "--checkpoint", light_checkpoint]
    report = load_script("lowlight_real").main([*args, "--json", str(tmp_path / "real.json")])
    assert report["checkpoint"] == light_checkpoint and report["methods"]["vae"]["median"]["noise_gamma"] >= 0


def test_restore_py_writes_the_runs_line_into_the_light_card(tmp_path, data, light_checkpoint):
    from vae_demo.light.card import REPORT_HEADING

    (tmp_path / "card").mkdir()
    card = tmp_path / "card" / "README.md"
    card.write_text("# light-vae\n\nRe-train with: ...\n")
    base = ["--data", str(data), "--methods", "noisy,vae,gamma,clahe,exposure_oracle", "--checkpoint", light_checkpoint]
    for task, level in (("lowlight", "3"), ("haze", "0.5"), ("lowlight", "3")):
        args = ["--task", task, "--level", level, *base, "--card", str(card.parent)]
        report = load_script("restore").main([*args, "--json", str(tmp_path / f"{task}.json")])
    text = card.read_text()
    assert text.startswith("# light-vae") and text.count(REPORT_HEADING) == 1
    lines = [x for x in text.split(REPORT_HEADING)[1].splitlines() if x.startswith("- ")]
    assert [x.split(" on ")[0] for x in lines] == ["- haze 0.5", "- lowlight 3"], "one line per task, the last run's"
    best = max(("gamma", "clahe"), key=lambda m: report["methods"][m]["psnr"])
    assert f"{best} {report['methods'][best]['psnr']:.2f}" in lines[1] and "exposure_oracle" in lines[1]
    with pytest.raises(SystemExit):
        load_script("restore").main(
            ["--task", "denoise", "--level", "25", "--data", str(data), "--json", "x.json", "--card", str(card.parent)]
        )


def test_light_speed_times_every_light_problem_as_the_app_serves_it(tmp_path):
    report = load_script("light_speed").main(["--threads", "1", "--repeats", "1", "--json", str(tmp_path / "s.json")])
    assert set(report["metrics"]) == {"lowlight", "haze", "colour_cast", "light_auto"}
    assert all(m["min"] <= m["median"] <= m["max"] for m in report["metrics"].values())
    assert "camera-vae" in report["metrics"]["lowlight"]["how"], "the dark photo is denoised after brightening"
