"""The digit classifier (vae_demo.generative.classifier) and the conditional-accuracy benchmark it drives.

Training runs a few steps on a tiny synthetic set through the CLI and the folder loads through the hub; the
benchmark's shares are checked on stub models; the bundled checkpoint reads real test digits.
"""

from __future__ import annotations

import importlib.util
import json
from types import SimpleNamespace

import pytest
import torch
from conftest import MNIST_RAW, ROOT, SHARED_DATA, skip_without_bundled
from torch import nn

from vae_demo import cli
from vae_demo.core import hub
from vae_demo.generative import classifier_train, data
from vae_demo.generative.classifier import ClassifierConfig, DigitClassifier, accuracy, predict, shift_batch
from vae_demo.generative.classifier_train import ClassifierRunConfig

spec = importlib.util.spec_from_file_location("conditional_benchmark", ROOT / "benchmarks" / "conditional.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def synthetic_digits(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Ten easy classes: class c is a bright 6x6 square at the c-th of ten places, on faint noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = torch.rand(n, 1, 28, 28, generator=g) * 0.1
    for i, c in enumerate(labels.tolist()):
        row, col = 3 + 12 * (c // 5), 1 + 5 * (c % 5)
        images[i, 0, row : row + 6, col : col + 6] = 1.0
    return images, labels


def test_classifier_trains_through_the_cli_and_loads_through_the_hub(tmp_path, monkeypatch):
    train_set, test_set = synthetic_digits(400), synthetic_digits(50, seed=1)
    monkeypatch.setattr(
        classifier_train, "load_mnist", lambda root, train, download=False: train_set if train else test_set
    )
    config = json.loads((ROOT / "configs" / "mnist-classifier.json").read_text())
    config.update(batch_size=32, val_size=40)
    config["trainer"].update(warmup_steps=5, max_epochs=2)
    (tmp_path / "run.json").write_text(json.dumps(config))
    out = tmp_path / "mnist-classifier"
    args = ["--config", str(tmp_path / "run.json"), "--data", "unused", "--out", str(out), "--max-steps", "20"]
    cli.main(["train", *args, "--run-dir", str(tmp_path / "run")])

    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["steps"] == 20 and summary["data"] == {"train": 360, "val": 40, "test": 50}
    assert summary["val_accuracy"] > 0.5, "ten squares at ten places are easy to tell apart"
    card = (out / "README.md").read_text()
    assert f"{summary['test_accuracy']:.2%}" in card and "validation split" in card
    assert "configs/mnist-classifier.json" in card

    monkeypatch.setattr(hub, "BUNDLED_DIR", tmp_path)  # load it by name, as the benchmark and the app would
    model = hub.load_model("mnist-classifier", device="cpu")
    assert isinstance(model, DigitClassifier) and not model.training
    assert model.config == ClassifierConfig.from_dict(config["model"])
    assert accuracy(model, *test_set) == pytest.approx(summary["test_accuracy"])
    assert (out / "model.safetensors").stat().st_size < 10_000_000

    monkeypatch.setattr(data, "load_mnist", lambda root, train: test_set)
    cli.main(["eval", "--checkpoint", str(out), "--data", "unused", "--json", str(tmp_path / "eval.json")])
    written = json.loads((tmp_path / "eval.json").read_text())
    assert written.pop("provenance")["argv"]
    assert written == {"test_accuracy": summary["test_accuracy"], "n_images": 50}


def test_shift_batch_moves_ink_and_keeps_zero_moves_exact():
    x = torch.zeros(2, 1, 28, 28)
    x[:, :, 10:14, 10:14] = 1.0
    assert torch.allclose(shift_batch(x, 0.0, 0.0, 0.0), x, atol=1e-6)
    moved = shift_batch(x, 2.0, 10.0, 0.1, generator=torch.Generator().manual_seed(0))
    assert moved.shape == x.shape and not torch.allclose(moved, x)
    assert moved.min() >= 0 and moved.max() <= 1


def test_config_checks_itself_and_the_run_config_refuses_typos():
    with pytest.raises(ValueError, match="architecture"):
        ClassifierConfig(architecture="vae")
    with pytest.raises(ValueError, match="classes"):
        ClassifierConfig(num_classes=3)
    run = ClassifierRunConfig.from_json(ROOT / "configs" / "mnist-classifier.json")
    assert run.model.name == "mnist-classifier" and run.val_size == 5000
    with pytest.raises(ValueError, match="unknown"):
        ClassifierRunConfig.from_dict({"val_sise": 5000})


class StubCVAE(nn.Module):
    """Writes digit y as an image filled with (y + 0.5) / 10, whatever z is."""

    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(num_classes=10, latent_dim=3, style_temperature=1.0)
        self.weight = nn.Parameter(torch.zeros(1))

    @property
    def device(self) -> torch.device:
        return self.weight.device

    def decode_mean(self, z: torch.Tensor, y) -> torch.Tensor:
        y = torch.as_tensor(y).expand(len(z)).float()
        return ((y + 0.5) / 10).view(-1, 1, 1, 1).expand(-1, 1, 28, 28).clone()

    def encode(self, x: torch.Tensor, y) -> tuple[torch.Tensor, torch.Tensor]:
        return x.flatten(1)[:, :3], torch.zeros(len(x), 3)


class StubClassifier(nn.Module):
    """Reads the fill level as the digit, except that it reads every 3 written by a style of 5 (or by an odd
    sample index of the prior draws: a top-left pixel written at 0.35 exactly) as 8."""

    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(num_classes=10)
        self.weight = nn.Parameter(torch.zeros(1))

    @property
    def device(self) -> torch.device:
        return self.weight.device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        digit = (x[:, 0, 5, 5] * 10).floor().long().clamp(0, 9)
        misread = (digit == 3) & (x[:, 0, 0, 0] < 0.3)  # the stub cvae below marks such samples
        return nn.functional.one_hot(torch.where(misread, 8, digit), 10).float()


def test_benchmark_shares_per_digit_on_stubs():
    cvae, classifier = StubCVAE(), StubClassifier()
    cond = bench.conditional_samples(cvae, seeds=[0, 1], per_seed=4)
    assert cond["images"].shape == (80, 1, 28, 28) and cond["requested"].tolist()[:8] == [0] * 4 + [1] * 4
    cond["images"][(cond["requested"] == 3) & (torch.arange(80) % 2 == 1), 0, 0, 0] = 0.0  # half the 3s misread
    style_x, style_y = synthetic_digits(20)
    picks = bench.pick_styles(style_y, per_digit=2)
    styles = bench.style_samples(cvae, style_x[picks], style_y[picks])
    assert styles["images"].shape == (200, 1, 28, 28)
    styles["images"][(styles["requested"] == 3) & (styles["style_digit"] == 5), 0, 0, 0] = 0.0

    result = bench.score(classifier, cond, styles)
    assert result["conditional"]["per_digit"]["3"] == {"share": 0.5, "n": 8}
    assert result["conditional"]["share"] == pytest.approx(76 / 80)
    assert result["conditional"]["read_as"] == {"3": {"8": 4}}
    assert result["styles"]["n"] == 180, "a style decoded with its own label is left out"
    assert result["styles"]["per_digit"]["3"] == {"share": pytest.approx(16 / 18), "n": 18}
    assert result["styles"]["by_style_digit"]["5"] == pytest.approx(16 / 18)
    assert result["styles"]["by_style_digit"]["4"] == 1.0
    assert result["own_label"] == {"share": 1.0, "n": 20, "per_digit": result["own_label"]["per_digit"]}
    assert result["overall"]["n"] == 260 and result["overall"]["share"] == pytest.approx(254 / 260)
    assert predict(classifier, cond["images"]).shape == (80,)


def test_benchmark_main_writes_provenance_and_the_classifier_accuracy(tmp_path, monkeypatch):
    test_x, test_y = synthetic_digits(40)
    test_x[:, :, :, :] = ((test_y.float() + 0.5) / 10).view(-1, 1, 1, 1)  # the stub classifier reads them right
    models = {"cvae": StubCVAE(), "clf": StubClassifier()}
    monkeypatch.setattr(bench, "load_checkpoint", lambda folder, device: models[folder])
    monkeypatch.setattr(bench, "load_mnist", lambda root, train: (test_x, test_y))
    args = ["--cvae", "cvae", "--classifier", "clf", "--data", "u", "--seeds", "0", "--per-seed", "2"]
    (tmp_path / "card").mkdir()
    (tmp_path / "card" / "README.md").write_text("# stub\n")
    args += ["--card", str(tmp_path / "card")]
    result = bench.main([*args, "--styles-per-digit", "1", "--json", str(tmp_path / "c.json")])
    card = (tmp_path / "card" / "README.md").read_text()
    assert card.startswith("# stub\n") and card.count(bench.CARD_HEADING) == 1 and "100.00%" in card
    written = json.loads((tmp_path / "c.json").read_text())
    assert written[bench.PROVENANCE_KEY]["argv"] and written["classifier_test_accuracy"] == 1.0
    assert result["overall"]["n"] == 20 + 90 and result["met"] is True


@pytest.mark.needs_data
@pytest.mark.skipif(not MNIST_RAW.is_dir(), reason=f"MNIST not found at {MNIST_RAW}")
@skip_without_bundled("mnist-classifier")
def test_bundled_classifier_reads_real_test_digits():
    from vae_demo.generative.data import load_mnist

    images, labels = load_mnist(SHARED_DATA / "mnist", train=False)
    model = hub.load_model("mnist-classifier", device="cpu")
    assert accuracy(model, images[:500], labels[:500]) >= 0.98
