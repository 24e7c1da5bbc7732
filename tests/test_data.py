"""Datasets and run configs: the pure helpers always, the real data only where ../shared/data exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from conftest import MNIST_RAW, ROOT, SHARED_DATA

from vae_demo.generative.data import AugmentedImages, dynamic_binarize, load_mnist, load_olivetti, split_by_subject

OLIVETTI = SHARED_DATA / "olivetti-faces"


def test_split_by_subject_keeps_people_apart():
    subjects = torch.arange(10).repeat_interleave(3)  # 10 people, 3 images each
    train_idx, test_idx = split_by_subject(subjects, (2, 7))
    assert sorted(subjects[test_idx].unique().tolist()) == [2, 7]
    assert not set(subjects[train_idx].tolist()) & {2, 7}
    assert len(train_idx) + len(test_idx) == 30


def test_dynamic_binarize_is_seeded_and_binary():
    x = torch.rand(4, 1, 8, 8)
    a = dynamic_binarize(x, torch.Generator().manual_seed(0))
    b = dynamic_binarize(x, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    assert set(a.unique().tolist()) <= {0.0, 1.0}


def test_augmented_images_keep_shape_and_range():
    images = torch.rand(3, 1, 16, 16)
    ds = AugmentedImages(images)
    assert len(ds) == 3
    out = ds[1]
    assert out.shape == (1, 16, 16)
    assert out.min() >= 0 and out.max() <= 1


def check_stage(path: Path, config_class) -> None:
    """A staged recipe's config names its model (a ``-stageK`` config, the model its recipe makes) and trains from
    scratch or from where another config of its family ends (a later stage of a recipe)."""
    run = config_class.from_json(path)
    assert run.model.name == re.sub(r"-stage\d+$", "", path.stem)
    if run.init_from is not None:
        family = json.loads(path.read_text())["family"]
        ends = {
            f"{config_class.from_json(p).trainer.out_dir}/final"
            for p in path.parent.glob("*.json")
            if json.loads(p.read_text()).get("family") == family and p != path
        }
        assert run.init_from in ends, "configs train from scratch or from another config's output"


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.json")), ids=lambda p: p.stem)
def test_run_configs_parse(path):
    """Every config parses with its family's run config (``vae_demo.catalog``) and names the model it makes."""
    from vae_demo import catalog
    from vae_demo.core.hub import imported

    family = json.loads(path.read_text()).get("family") or "generative"
    run_config = imported(catalog.FAMILIES[family].run_config)
    if family in ("codec", "restoration", "light", "hvae"):  # staged recipes
        check_stage(path, run_config)
        return
    run = run_config.from_json(path)
    assert run.model.name == path.stem
    if family == "generative":
        assert run.dataset in ("mnist", "olivetti")


@pytest.mark.needs_data
@pytest.mark.skipif(not MNIST_RAW.is_dir(), reason=f"MNIST not found at {MNIST_RAW}")
def test_load_mnist_from_the_gz_files(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_DEMO_CACHE", str(tmp_path / "cache"))  # unpacked copies go here, not to ~/.cache
    images, labels = load_mnist(SHARED_DATA / "mnist", train=False)
    assert images.shape == (10_000, 1, 28, 28) and labels.shape == (10_000,)
    assert images.dtype == torch.float32 and images.min() >= 0 and images.max() <= 1
    assert set(labels.unique().tolist()) == set(range(10))


def test_missing_mnist_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST"):
        load_mnist(tmp_path, train=False)


@pytest.mark.needs_data
@pytest.mark.skipif(not OLIVETTI.is_dir(), reason=f"Olivetti faces not found at {OLIVETTI}")
def test_load_olivetti():
    images, subjects = load_olivetti(OLIVETTI)
    assert images.shape == (400, 1, 64, 64) and subjects.shape == (400,)
    assert images.min() >= 0 and images.max() <= 1
    assert subjects.unique().numel() == 40
