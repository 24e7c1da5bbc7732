"""benchmarks/nll.py on a tiny model and made-up digits: the JSON, the refined proposal and the card section."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from conftest import ROOT

from vae_demo.generative.model import ConvVAE, VAEConfig

spec = importlib.util.spec_from_file_location("nll_benchmark", ROOT / "benchmarks" / "nll.py")
nll = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nll)


def test_nll_benchmark_writes_json_and_replaces_its_card_section(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = ConvVAE(VAEConfig(image_size=28, latent_dim=4, channels=(4, 8), name="tiny"))
    model.save_pretrained(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "README.md").write_text("# tiny\n\nTrained on nothing.\n")
    digits = torch.rand(12, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    monkeypatch.setattr(nll, "load_mnist", lambda root, train: (digits, torch.zeros(12, dtype=torch.long)))

    def run(*extra: str) -> dict:
        args = ["--checkpoint", str(tmp_path / "ckpt"), "--data", "unused", "--k", "4", "--batch-size", "5"]
        return nll.main([*args, "--json", str(tmp_path / "nll.json"), "--card", str(tmp_path / "ckpt"), *extra])

    plain = run()
    refined = run("--refine-steps", "50")
    assert json.loads((tmp_path / "nll.json").read_text()) == refined
    assert plain["proposal"] == "encoder" and refined["proposal"] == "refine_posterior"
    assert refined["n_images"] == 12 and refined["refine_steps"] == 50
    assert refined["nll_nats"] != plain["nll_nats"], "the samples come from another q (tighter on a trained model)"
    assert refined["elbo_nats"] == plain["elbo_nats"], "the ELBO stays the encoder's"
    card = (tmp_path / "ckpt" / "README.md").read_text()
    assert card.startswith("# tiny\n\nTrained on nothing.\n")
    assert card.count(nll.CARD_HEADING) == 1, "a second run replaces the section"
    assert "--refine-steps 50" in card and f"{refined['nll_nats']:.2f}" in card


def test_nll_in_parts_resumes_from_the_chunks_saved_and_refuses_other_settings(tmp_path, monkeypatch):
    torch.manual_seed(0)
    ConvVAE(VAEConfig(image_size=28, latent_dim=4, channels=(4, 8), name="tiny")).save_pretrained(tmp_path / "ckpt")
    digits = torch.rand(12, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    monkeypatch.setattr(nll, "load_mnist", lambda root, train: (digits, torch.zeros(12, dtype=torch.long)))
    parts = tmp_path / "parts"

    def run(k: str = "4") -> dict:
        args = ["--checkpoint", str(tmp_path / "ckpt"), "--data", "unused", "--k", k, "--batch-size", "5"]
        return nll.main([*args, "--json", str(tmp_path / "nll.json"), "--parts", str(parts), "--chunk", "5"])

    first = run()
    assert sorted(p.name for p in parts.iterdir()) == ["chunk_00000.json", "chunk_00005.json", "chunk_00010.json"]
    assert first["n_images"] == 12 and first["parts"] == {"folder": str(parts), "chunk": 5}
    saved = json.loads((parts / "chunk_00005.json").read_text())
    (parts / "chunk_00005.json").unlink()  # as if the run had stopped before this chunk
    last = json.loads((parts / "chunk_00010.json").read_text())
    last["result"]["nll_nats"] = 1e6
    (parts / "chunk_00010.json").write_text(json.dumps(last))
    resumed = run()
    assert json.loads((parts / "chunk_00005.json").read_text()) == saved, "the missing chunk scored again, same seed"
    assert resumed["nll_nats"] > first["nll_nats"] + 1e4, "a saved chunk is read back, not scored again"
    with pytest.raises(SystemExit, match="other settings"):
        run(k="8")


def test_the_validation_split_is_the_held_out_training_digits_and_never_goes_to_a_card(tmp_path, monkeypatch):
    torch.manual_seed(0)
    ConvVAE(VAEConfig(image_size=28, latent_dim=4, channels=(4, 8), name="tiny")).save_pretrained(tmp_path / "ckpt")
    test = torch.zeros(6, 1, 28, 28)
    train = torch.rand(nll.VAL_SIZE + 3, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    asked = []

    def load(root, train_set):
        asked.append(train_set)
        return (train, torch.zeros(len(train))) if train_set else (test, torch.zeros(6))

    monkeypatch.setattr(nll, "load_mnist", lambda root, train: load(root, train))
    args = ["--checkpoint", str(tmp_path / "ckpt"), "--data", "unused", "--k", "2", "--limit", "4"]
    result = nll.main([*args, "--split", "val", "--json", str(tmp_path / "val.json")])
    assert asked == [True] and result["split"] == "val" and result["n_images"] == 4
    spy = []
    monkeypatch.setattr(
        nll,
        "evaluate",
        lambda model, images, **kw: spy.append(images) or {"nll_nats": 0.0, "elbo_nats": 0.0, "n_images": len(images)},
    )
    nll.main([*args, "--split", "val", "--json", str(tmp_path / "val.json")])
    expected = nll.dynamic_binarize(train[3:], torch.Generator().manual_seed(0))[:4]  # the last VAL_SIZE digits
    assert torch.equal(spy[0], expected)
    with pytest.raises(SystemExit, match="--card is for test figures"):
        nll.main([*args, "--split", "val", "--json", str(tmp_path / "v.json"), "--card", str(tmp_path / "ckpt")])
