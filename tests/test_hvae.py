"""The ladder VAE (vae_demo.generative.hvae): shapes, the bound, every layer learning, training through the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import MNIST_RAW, ROOT, skip_without_bundled

from vae_demo import cli
from vae_demo.core import hub
from vae_demo.generative import evaluate, hvae_train
from vae_demo.generative.hvae import HVAEConfig, LadderVAE

TINY = HVAEConfig(width=8, top_dim=4, mid_channels=2, low_channels=2, name="tiny-hvae")


def binary_digits(n: int, seed: int = 0) -> torch.Tensor:
    """Bright bars at random places: binarisable, and easy to learn."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 28, 28)
    for i, col in enumerate(torch.randint(2, 24, (n,), generator=g).tolist()):
        x[i, 0, 4:24, col : col + 3] = 1.0
    return x


def test_shapes_kl_per_layer_and_a_gradient_on_every_parameter():
    model = LadderVAE(TINY)
    x = binary_digits(6)
    out = model(x, torch.Generator().manual_seed(0))
    assert out.logits.shape == x.shape and out.log_px.shape == (6,) and len(out.kl) == 3
    assert all(kl.shape == (6,) and (kl >= 0).all() for kl in out.kl)
    loss = -out.log_px.mean() + sum(kl.mean() for kl in out.kl)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert TINY.latent_dim == 4 + 2 * 7 * 7 + 2 * 14 * 14


def test_importance_sampling_tightens_the_bound_and_samples_are_images():
    torch.manual_seed(0)
    model = LadderVAE(TINY).eval()
    x = binary_digits(4)
    elbo = torch.stack([model.elbo(x, torch.Generator().manual_seed(s)) for s in range(20)]).mean(0)
    ll = model.log_likelihood(x, k=64, chunk=16, generator=torch.Generator().manual_seed(1))
    assert (ll > elbo).all(), "log p(x) by 64 importance samples lies above the mean one-sample ELBO"
    via_evaluate = evaluate.log_likelihood_per_image(model, x, k=8, chunk=4, generator=torch.Generator().manual_seed(2))
    assert torch.equal(via_evaluate, model.log_likelihood(x, 8, 4, torch.Generator().manual_seed(2)))
    s = model.sample(5, torch.Generator().manual_seed(0))
    assert s.shape == (5, 1, 28, 28) and float(s.min()) >= 0 and float(s.max()) <= 1
    top = torch.zeros(5, TINY.top_dim)
    a, b = (model.sample(5, torch.Generator().manual_seed(k), top=top) for k in (1, 2))
    assert not torch.equal(a, b), "with z3 fixed, the lower layers are still drawn"


def test_the_importance_weights_reuse_the_bottom_up_pass_unchanged():
    """``log_likelihood`` computes x's bottom-up features once for all k samples: the weights are those of k
    full passes on the repeated images, drawn with the same generator."""
    model = LadderVAE(TINY).eval()
    x = binary_digits(3)
    reps = x.repeat_interleave(5, dim=0)
    with torch.no_grad():
        full = model(reps, torch.Generator().manual_seed(3)).log_weight.view(3, 5)
    expected = torch.logsumexp(full, dim=1) - torch.log(torch.tensor(5.0))
    got = model.log_likelihood(x, k=5, chunk=5, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(got, expected, atol=1e-5)


def test_an_unknown_likelihood_is_refused():
    with pytest.raises(ValueError, match="bernoulli"):
        HVAEConfig(likelihood="gaussian")


def test_trains_through_the_cli_and_loads_through_the_hub(tmp_path, monkeypatch):
    images = binary_digits(300)
    monkeypatch.setattr(hvae_train, "load_mnist", lambda root, train, download=False: (images, torch.zeros(300)))
    config = json.loads((ROOT / "configs" / "mnist-hvae-stage1.json").read_text())  # the recipe from scratch
    config["model"].update(width=8, top_dim=4, mid_channels=2, low_channels=2)
    config.update(batch_size=25, val_size=50, kl_warmup_steps=5)
    config["trainer"].update(warmup_steps=2, max_epochs=2, ema_decay=0.0)
    (tmp_path / "run.json").write_text(json.dumps(config))
    out = tmp_path / "mnist-hvae"
    args = ["--config", str(tmp_path / "run.json"), "--data", "unused", "--out", str(out), "--max-steps", "12"]
    cli.main(["train", *args, "--run-dir", str(tmp_path / "run")])

    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["steps"] == 12 and summary["data"] == {"train": 250, "val": 50}
    first, last = summary["validation"][0]["val_elbo"], summary["val_elbo"]
    assert last > first, "the held-out ELBO rises as it trains"
    card = (out / "README.md").read_text()
    assert "configs/mnist-hvae.json" in card and f"{summary['val_elbo']:.2f}" in card
    monkeypatch.setattr(hub, "BUNDLED_DIR", tmp_path)
    model = hub.load_model("mnist-hvae", device="cpu")
    assert isinstance(model, LadderVAE) and model.config.width == 8
    metrics = evaluate.evaluate(model, images[:20], k=4)
    assert metrics["nll_nats"] <= -metrics["elbo_nats"] + 5.0


def test_a_later_stage_starts_from_the_weights_it_names(tmp_path, monkeypatch):
    """``init_from``: stage 2 starts where stage 1 ended (0 steps: the weights are copied as they are)."""
    images = binary_digits(60)
    monkeypatch.setattr(hvae_train, "load_mnist", lambda root, train, download=False: (images, torch.zeros(60)))
    first = LadderVAE(TINY)
    first.save_pretrained(tmp_path / "stage1")
    run = hvae_train.HVAERunConfig(model=TINY, batch_size=20, val_size=20, init_from=str(tmp_path / "stage1"))
    run.trainer.max_epochs = 0
    model = hvae_train.train_hvae(run, "unused", tmp_path / "stage2")
    for name, tensor in first.state_dict().items():
        assert torch.equal(model.state_dict()[name].cpu(), tensor), name
    summary = json.loads((tmp_path / "stage2" / "training_summary.json").read_text())
    hvae_train.write_hvae_card(tmp_path, {**summary, "stages": [summary], "history": ["a run tried first"]})
    card = (tmp_path / "README.md").read_text()
    assert "- Stage 1 (`configs/tiny-hvae-stage1.json`" in card and "\n- a run tried first" in card
    assert card.index("--config configs/tiny-hvae-stage1.json") < card.index("--config configs/tiny-hvae.json")


def test_holding_the_upper_layers_narrows_what_the_samples_can_differ_in():
    torch.manual_seed(0)
    model = LadderVAE(TINY).eval()
    g = torch.Generator().manual_seed(0)
    top, mid = model.draw_top(1, g)
    held_top = model.sample(32, g, top=top.expand(32, -1))
    held_both = model.sample(32, g, top=top.expand(32, -1), mid=mid.expand(32, -1, -1, -1))
    free = model.sample(32, g)
    spread = [float(s.std(0).mean()) for s in (free, held_top, held_both)]
    assert spread[2] < spread[0], f"with z3 and z2 held only z1 varies: spreads {spread}"
    assert model.sample(4, torch.Generator().manual_seed(3)).equal(model.sample(4, torch.Generator().manual_seed(3)))


def test_reconstructing_to_a_depth_takes_the_top_layers_from_the_posterior():
    model = LadderVAE(TINY).eval()
    x = binary_digits(3)
    for depth in (1, 2, 3):
        out = model.reconstruct_to_depth(x, depth, torch.Generator().manual_seed(0))
        assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    with pytest.raises(ValueError, match="1-3"):
        model.reconstruct_to_depth(x, 0)


def test_the_layers_panel_splits_a_digit_by_layer_and_adds_up(monkeypatch):
    from vae_demo.demo import layers

    torch.manual_seed(0)
    model = LadderVAE(TINY).eval()
    monkeypatch.setattr(layers, "get_model", lambda name: model)
    figure = layers.layer_samples(seed=1, n=4)
    assert figure.ndim == 3 and figure.shape[2] == 3 and figure.dtype.name == "uint8"
    r = layers.layers_of_digit(seed=2)
    kls, recon, elbo = [row[2] for row in r.table[:3]], r.table[3][2], r.table[4][2]
    assert [row[1] for row in r.table[:3]] == [4, 2 * 7 * 7, 2 * 14 * 14]
    assert elbo == pytest.approx(recon - sum(kls), abs=0.02) and all(k >= 0 for k in kls)
    assert "bits of KL" in r.text and r.figure.shape[2] == 3
    with pytest.raises(ValueError, match="samples a row"):
        layers.layer_samples(n=40)


@pytest.mark.needs_checkpoints
@pytest.mark.skipif(not (MNIST_RAW / "t10k-images-idx3-ubyte.gz").exists(), reason="MNIST test digits absent")
@skip_without_bundled("mnist-hvae")
def test_the_bundled_ladder_vae_uses_every_layer_on_test_digits():
    from vae_demo.generative.data import load_mnist

    model = hub.load_model("mnist-hvae", device="cpu")
    config = json.loads((ROOT / "configs" / "mnist-hvae.json").read_text())["model"]
    assert {k: getattr(model.config, k) for k in config} == config
    images, _ = load_mnist(MNIST_RAW.parent.parent, train=False)
    x = torch.bernoulli(images[:200], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model(x, torch.Generator().manual_seed(0))
    kls = [float(k.mean()) for k in out.kl]
    assert all(k > 1.0 for k in kls), f"every layer carries information about the digits: KL {kls}"
    assert float((out.log_px - sum(out.kl)).mean()) > -110, "a trained model: ELBO above -110 nats"
