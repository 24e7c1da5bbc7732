"""benchmarks/restore.py keeps its interface (arguments, table, JSON layout); the protocol details of
vae_demo.restoration.benchmark behind it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT
from PIL import Image

from vae_demo import catalog
from vae_demo.core import hub
from vae_demo.core.device import make_generator
from vae_demo.restoration import benchmark, benchmark_cases, benchmark_report, problems
from vae_demo.restoration.model import RestorationConfig, RestorationVAE
from vae_demo.restoration.restore import Restoration

spec = importlib.util.spec_from_file_location("restore_benchmark", ROOT / "benchmarks" / "restore.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, mode in (("a_grey.png", "L"), ("b_colour.png", "RGB")):
        small = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
        Image.fromarray(small).resize((64, 48), Image.BICUBIC).convert(mode).save(folder / name)
    (folder / "notes.txt").write_text("not an image, ignored")
    return folder


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    RestorationVAE(
        RestorationConfig(widths=(4, 8), blocks=(1, 1), latent_channels=2, posterior_width=4)
    ).save_pretrained(tmp_path / "ckpt")
    return str(tmp_path / "ckpt")


def run(tmp_path, *args):
    out = tmp_path / "out.json"
    report = bench.main([*args, "--json", str(out)])
    assert json.loads(out.read_text()) == report
    return report


def test_denoise_report_layout(tmp_path, data, checkpoint, capsys):
    report = run(
        tmp_path,
        "--task",
        "denoise",
        "--level",
        "25",
        "--data",
        str(data),
        "--methods",
        "noisy,vae,vae_mean,tv",
        "--checkpoint",
        checkpoint,
        "--samples",
        "2",
    )
    assert {"task", "level", "data", "n_images", "methods"} <= set(report)
    assert report["task"] == "denoise" and report["level"] == 25 and report["n_images"] == 2
    for name in ("noisy", "vae", "vae_mean", "tv"):
        m = report["methods"][name]
        assert {"psnr", "ssim", "sec_per_image", "per_image"} <= set(m)
        assert [r["name"] for r in m["per_image"]] == ["a_grey.png", "b_colour.png"]
    methods = report["methods"]
    assert methods["vae"]["kl_per_image"] >= 0 and methods["vae"]["sample_std_255"] >= 0
    assert 18 < methods["noisy"]["psnr"] < 24, "sigma 25 noise gives about 20 dB"
    assert methods["tv"]["psnr"] > methods["noisy"]["psnr"]
    printed = capsys.readouterr().out
    assert "PSNR" in printed and "tv" in printed


def test_the_std_map_calibration_is_reported_for_denoising(tmp_path, data, checkpoint, capsys):
    report = run(
        tmp_path,
        "--task",
        "denoise",
        "--level",
        "25",
        "--data",
        str(data),
        "--methods",
        "vae",
        "--checkpoint",
        checkpoint,
        "--samples",
        "3",
    )
    vae = report["methods"]["vae"]
    assert vae["calibration_samples"] == 3
    assert -1 <= vae["std_error_spearman"] <= 1 and 0 <= vae["coverage_2std"] <= 1
    assert "Spearman" in capsys.readouterr().out


def test_calibration_measures_how_the_std_ranks_the_error():
    ref = torch.zeros(1, 1, 8, 8)
    std = torch.linspace(0.01, 0.2, 64).reshape(1, 1, 8, 8)
    mode = std * 1.5  # errors grow with the std, and stay within two of it
    r = Restoration(mode, None, None, std, 0.0)
    assert benchmark.calibration(r, ref) == pytest.approx({"spearman": 1.0, "coverage_2std": 1.0})
    r = Restoration(std.flip(-1).flip(-2) * 3, None, None, std, 0.0)  # the biggest errors where it is surest
    c = benchmark.calibration(r, ref)
    assert c["spearman"] == pytest.approx(-1.0) and c["coverage_2std"] < 0.5


@pytest.mark.parametrize(
    ("task", "level", "classical"),
    [("poisson", "30", "nlm"), ("salt_and_pepper", "10", "median"), ("camera", "15", "nlm")],
)
def test_noise_tasks_run_the_apps_path_beside_their_classical_method(
    tmp_path, data, checkpoint, task, level, classical
):
    report = run(
        tmp_path,
        "--task",
        task,
        "--level",
        level,
        "--data",
        str(data),
        "--methods",
        f"noisy,vae,vae_x8,{classical}",
        "--checkpoint",
        checkpoint,
        "--limit",
        "1",
    )
    assert report["task"] == task and set(report["methods"]) == {"noisy", "vae", "vae_x8", classical}
    assert report["methods"]["vae_x8"]["per_image"] != report["methods"]["vae"]["per_image"], "8 views averaged"
    if task == "salt_and_pepper":  # the level is a percent: 10% of the pixels hit
        clean = benchmark_cases.load_images(data, 1)[0][1]
        ref, noisy = benchmark_cases.degrade_one(clean, task, 10, make_generator(0))
        assert np.mean(np.any(ref != noisy, axis=-1) if noisy.ndim == 3 else ref != noisy) == pytest.approx(
            0.1, abs=0.03
        )


def test_vae_defaults_to_the_model_the_app_uses(tmp_path, data, checkpoint, monkeypatch):
    """Without --checkpoint, each task runs the checkpoint problems.py names for its problem."""
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    for name in {row.model for row in problems.PROBLEMS.values()}:  # a tiny model under every problem's name
        (bundled / name).symlink_to(checkpoint)
    monkeypatch.setattr(hub, "BUNDLED_DIR", bundled)
    report = run(tmp_path, "--task", "jpeg", "--level", "20", "--data", str(data), "--methods", "vae", "--limit", "1")
    assert report["checkpoint"] == problems.PROBLEMS["jpeg"].model
    assert benchmark.app_model("sr", 4) == problems.PROBLEMS["x4"].model
    assert benchmark.app_model("camera", 15) == problems.NOISES["real"].model


def test_same_seed_same_inputs(tmp_path, data):
    a = run(tmp_path, "--task", "denoise", "--level", "15", "--data", str(data), "--methods", "noisy", "--seed", "3")
    b = run(tmp_path, "--task", "denoise", "--level", "15", "--data", str(data), "--methods", "noisy", "--seed", "3")
    c = run(tmp_path, "--task", "denoise", "--level", "15", "--data", str(data), "--methods", "noisy", "--seed", "4")
    assert a["methods"]["noisy"]["per_image"] == b["methods"]["noisy"]["per_image"]
    assert a["methods"]["noisy"]["per_image"] != c["methods"]["noisy"]["per_image"]


@pytest.mark.parametrize(
    ("task", "level", "methods"),
    [
        ("sr", "2", "bicubic,unsharp"),
        ("jpeg", "10", "noisy,tv"),
        ("deblur", "1.6", "noisy,richardson_lucy"),
        ("lowlight", "0.3", "noisy,gamma"),
    ],
)
def test_other_tasks_and_limit(tmp_path, data, task, level, methods):
    report = run(tmp_path, "--task", task, "--level", level, "--data", str(data), "--methods", methods, "--limit", "1")
    assert report["n_images"] == 1 and set(report["methods"]) == set(methods.split(","))


def test_sr_is_scored_on_luma_without_the_border():
    ref = np.full((20, 20, 3), 100, np.uint8)
    out = ref.copy()
    out[:2] = 0  # damage only inside the 2-pixel border
    out[..., 2] = 50  # and only blue, which Y weighs little
    psnr, _ = benchmark_cases.score(out / 255, ref / 255, "sr", 2)
    y_error = 24.966 * 50 / 255  # BT.601: the blue change moves Y by this much; the black rows are cropped
    assert psnr == pytest.approx(20 * np.log10(255 / y_error), abs=0.05)


def test_unknown_method_is_refused(tmp_path, data):
    with pytest.raises(SystemExit, match="unknown methods"):
        bench.main(
            [
                "--task",
                "denoise",
                "--level",
                "25",
                "--data",
                str(data),
                "--methods",
                "magic",
                "--json",
                str(tmp_path / "x.json"),
            ]
        )


def test_a_missing_folder_or_a_broken_image_is_one_line(tmp_path, data):
    with pytest.raises(SystemExit, match="no image folder at"):
        bench.main(
            [
                "--task",
                "denoise",
                "--level",
                "25",
                "--data",
                str(tmp_path / "nowhere"),
                "--methods",
                "noisy",
                "--json",
                str(tmp_path / "x.json"),
            ]
        )
    (data / "c_broken.png").write_text("not a PNG")
    with pytest.raises(SystemExit, match="c_broken.png cannot be read as an image"):
        bench.main(
            [
                "--task",
                "denoise",
                "--level",
                "25",
                "--data",
                str(data),
                "--methods",
                "noisy",
                "--json",
                str(tmp_path / "x.json"),
            ]
        )


def test_the_table_has_one_row_per_run_in_task_order(tmp_path, data):
    sr = run(tmp_path, "--task", "sr", "--level", "2", "--data", str(data), "--methods", "bicubic")
    noise = run(tmp_path, "--task", "denoise", "--level", "25", "--data", str(data), "--methods", "noisy,tv")
    text = benchmark_report.table(benchmark_report.sort_reports([sr, {"not": "a report"}, noise]))
    lines = text.splitlines()
    assert lines[0] == "| task | data (images) | noisy | bicubic | tv |"
    assert lines[2].startswith("| Gaussian noise sigma 25 | images (2) |") and lines[3].startswith("| SR x2 |")


def test_photo_gaps_say_where_a_mean_gap_comes_from():
    def method(*psnrs):
        return {"per_image": [{"name": f"{k}.png", "psnr": v} for k, v in enumerate(psnrs)]}

    report = {"task": "denoise", "level": 15.0, "data": "val/Set12", "methods": {}}
    report["methods"] = {"vae": method(30.5, 28.0, 31.2), "bm3d": method(30.0, 29.5, 31.0)}
    lines = benchmark_report.photo_gaps(report, "vae", "bm3d").splitlines()
    assert lines[:3] == ["0.png              +0.50", "1.png              -1.50", "2.png              +0.20"]
    assert lines[3] == (
        "vae - bm3d on Set12, denoise 15: above on 2 of 3, mean -0.267 dB; without the worst (1.png) +0.350 dB"
    )


def test_the_script_runs_as_a_command():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # CI installs the project (pip install -e .); this works either way
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "restore.py"), "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert "--task\n" in done.stdout and "{" + ",".join(catalog.tasks()) + "}" in done.stdout
    assert "--json JSON" in done.stdout


@pytest.fixture
def divnoising_checkpoint(tmp_path):
    from vae_demo.restoration.divnoising import DivNoisingConfig, DivNoisingVAE

    torch.manual_seed(0)
    config = DivNoisingConfig(
        widths=(4, 8), latent_channels=2, latent_levels=2, noise_model={"kind": "gaussian", "sigma": 25}
    )
    DivNoisingVAE(config).save_pretrained(tmp_path / "divnoising")
    return str(tmp_path / "divnoising")


@pytest.mark.parametrize("level", [25, 15, 50])
def test_divnoising_methods_report_kl_and_spread_on_the_same_inputs(tmp_path, data, divnoising_checkpoint, level):
    """The bundled-model method at its own sigma and at others (brought to its own), and the per-image fit."""
    args = ["--task", "denoise", "--level", str(level), "--data", str(data), "--mmse-samples", "3"]
    report = run(
        tmp_path,
        *args,
        "--methods",
        "noisy,divnoising,divnoising_mode,divnoising_x8,divnoising_fit,divnoising_fit_x8",
        "--divnoising-checkpoint",
        divnoising_checkpoint,
        "--fit-seconds",
        "0.5",
    )
    assert report["fit_seconds"] == 0.5 and report["mmse_samples"] == 3
    assert report["divnoising_checkpoint"] == divnoising_checkpoint
    for name in ("divnoising", "divnoising_fit"):
        m = report["methods"][name]
        assert [r["name"] for r in m["per_image"]] == ["a_grey.png", "b_colour.png"]
        assert m["kl_per_image"] > 0 and m["sample_std_255"] > 0, m
        assert m["psnr"] != report["methods"]["noisy"]["psnr"]
    mode = report["methods"]["divnoising_mode"]  # one pass at the posterior means: no spread to report
    assert "sample_std_255" not in mode and mode["psnr"] != report["methods"]["divnoising"]["psnr"]
    for name in ("divnoising_x8", "divnoising_fit_x8"):  # eight passes at the posterior means: no spread either
        m = report["methods"][name]
        assert "sample_std_255" not in m and m["psnr"] != report["methods"]["noisy"]["psnr"]
    assert report["methods"]["divnoising_x8"]["psnr"] != mode["psnr"]
    for name in ("divnoising_fit", "divnoising_fit_x8"):
        assert report["methods"][name]["sec_per_image"] >= 0.5, "each image is fitted for --fit-seconds"
    same = run(tmp_path, *args, "--methods", "noisy", "--divnoising-checkpoint", divnoising_checkpoint)
    assert same["methods"]["noisy"]["per_image"] == report["methods"]["noisy"]["per_image"], "the same noisy inputs"


def test_divnoising_without_its_checkpoint_or_for_another_task_is_one_line(tmp_path, data):
    with pytest.raises(SystemExit, match="needs the trained checkpoint .*missing"):
        run(
            tmp_path,
            "--task",
            "denoise",
            "--level",
            "25",
            "--data",
            str(data),
            "--methods",
            "divnoising",
            "--divnoising-checkpoint",
            str(tmp_path / "absent"),
        )
    with pytest.raises(SystemExit, match="only denoise"):
        run(tmp_path, "--task", "jpeg", "--level", "20", "--data", str(data), "--methods", "divnoising_fit")


def test_a_run_with_parts_resumes_from_the_images_saved(tmp_path, data, checkpoint, monkeypatch):
    """Two shards save their images' results; a whole run then reads them back (the VAE's statistics and
    calibration too) instead of restoring again, runs only what is missing, and refuses parts of other inputs."""
    parts = tmp_path / "parts"
    args = ["--task", "denoise", "--level", "25", "--data", str(data), "--methods", "noisy,vae,tv"]
    args += ["--checkpoint", checkpoint, "--samples", "2", "--parts", str(parts)]
    for shard in ("0/2", "1/2"):
        half = run(tmp_path, *args, "--shard", shard)
        assert half["n_images"] == 1 and half["shard"] == shard
    assert sorted(p.name for p in (parts / "vae").iterdir()) == ["a_grey.json", "b_colour.json"]
    calls = []
    real = benchmark.restore_one
    monkeypatch.setattr(
        benchmark, "restore_one", lambda run_, method, *a: calls.append(method) or real(run_, method, *a)
    )
    first = run(tmp_path, *args)
    assert calls == [] and first["n_images"] == 2 and "shard" not in first, "every image read back"
    (parts / "tv" / "b_colour.json").unlink()  # as if a run had stopped before this image
    again = run(tmp_path, *args)
    assert calls == ["tv"], "only the missing image ran again"
    for method in ("noisy", "vae", "tv"):
        strip = {k: v for k, v in first["methods"][method].items() if k != "sec_per_image"}
        assert {k: v for k, v in again["methods"][method].items() if k != "sec_per_image"} == strip
    assert again["methods"]["vae"]["coverage_2std"] == first["methods"]["vae"]["coverage_2std"]
    with pytest.raises(SystemExit, match="other settings, weights or inputs"):
        run(tmp_path, *[a if a != "25" else "30" for a in args])
    for bad in (["--shard", "2/2"], ["--shard", "half"]):
        with pytest.raises(SystemExit):
            run(tmp_path, *args, *bad)
    with pytest.raises(SystemExit):
        run(tmp_path, *args[:-2], "--shard", "0/2")  # no --parts to merge from
