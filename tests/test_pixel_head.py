"""The autoregressive head of the ladder VAE (vae_demo.generative.pixel_head): each logit reads only earlier pixels,
a new head starts as the decoder it joins, sampling matches the one-pass likelihood, and a stage trains the head
alone."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from test_hvae import TINY, binary_digits

from vae_demo.core.hub import CheckpointError, load_weights
from vae_demo.generative import hvae_train
from vae_demo.generative.hvae import LadderVAE
from vae_demo.generative.pixel_head import MaskedConv2d, PixelHead

HEADED = dataclasses.replace(TINY, pixel_width=6, pixel_layers=2)


def _trained_head(seed: int = 0) -> PixelHead:
    """A head whose last layer is not zero (a fresh one outputs nothing to test)."""
    torch.manual_seed(seed)
    head = PixelHead(state_width=8, width=6, layers=2)
    torch.nn.init.normal_(head.out.weight)
    return head


def test_each_logit_reads_only_the_pixels_before_it_in_raster_order():
    head, state = _trained_head(), torch.randn(1, 8, 14, 14)
    x = torch.zeros(1, 1, 28, 28, requires_grad=True)
    i, j = 12, 9
    head(x, state)[0, 0, i, j].backward()
    reads = x.grad[0, 0] != 0
    before = torch.zeros(28, 28, dtype=torch.bool)
    before[:i] = True
    before[i, :j] = True
    assert not (reads & ~before).any(), "the pixel itself and later ones are never read"
    assert reads[i, j - 1] and reads[i - head.reach, j], "the left neighbour and the top of its reach are read"


def test_masks_are_refused_for_other_types_and_even_sizes():
    with pytest.raises(ValueError, match="type 'A' or 'B'"):
        MaskedConv2d("C", 1, 4, 3)
    with pytest.raises(ValueError, match="odd size"):
        MaskedConv2d("A", 1, 4, 4)


def test_a_new_head_starts_as_the_decoder_it_joins(tmp_path):
    plain = LadderVAE(TINY)
    plain.save_pretrained(tmp_path / "plain")
    headed = load_weights(LadderVAE(HEADED), tmp_path / "plain", new_part="pixel")
    x = binary_digits(4)
    a, b = plain(x, torch.Generator().manual_seed(1)), headed(x, torch.Generator().manual_seed(1))
    assert torch.equal(a.logits, b.logits) and torch.equal(a.log_weight, b.log_weight)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_weights(LadderVAE(HEADED), tmp_path / "plain")  # without new_part, a missing weight is an error


def test_drawing_pixel_by_pixel_follows_the_one_pass_probabilities():
    """The band the sampler computes gives each pixel the same logit as the full pass (teacher forcing) does on the
    image it drew; so the likelihood the ELBO scores is the distribution the samples come from."""
    head, state = _trained_head(1), torch.randn(3, 8, 14, 14)
    logits = torch.randn(3, 1, 28, 28)
    x = head.sample(logits, state, torch.Generator().manual_seed(0))
    assert set(x.unique().tolist()) <= {0.0, 1.0}
    full = torch.sigmoid(logits + head(x, state))
    g = torch.Generator().manual_seed(0)  # replay the sampler's uniform draws through the full pass
    again = torch.zeros_like(x)
    for i in range(28):
        for j in range(28):
            again[..., i, j] = torch.bernoulli(full[..., i, j], generator=g)
    assert torch.equal(again, x)


def test_the_models_samples_are_binary_with_a_head_and_means_without():
    g = torch.Generator().manual_seed(0)
    headed = LadderVAE(HEADED).eval()
    assert set(headed.sample(2, g).unique().tolist()) <= {0.0, 1.0}
    assert headed.reconstruct_to_depth(binary_digits(2), 3, g).shape == (2, 1, 28, 28)
    means = LadderVAE(TINY).eval().sample(2, g)
    assert ((means > 0) & (means < 1)).any()


def test_a_head_stage_trains_the_head_alone(tmp_path, monkeypatch):
    images = binary_digits(60)
    monkeypatch.setattr(hvae_train, "load_mnist", lambda root, train, download=False: (images, torch.zeros(60)))
    first = LadderVAE(TINY)
    first.save_pretrained(tmp_path / "stage1")
    run = hvae_train.HVAERunConfig(
        model=HEADED, batch_size=20, val_size=20, init_from=str(tmp_path / "stage1"), train_only="pixel"
    )
    run.trainer.max_epochs, run.trainer.warmup_steps, run.trainer.ema_decay = 2, 1, 0.0
    model = hvae_train.train_hvae(run, "unused", tmp_path / "stage2")
    after = model.state_dict()
    assert all(torch.equal(after[name].cpu(), t) for name, t in first.state_dict().items()), "the rest is frozen"
    assert after["pixel.out.weight"].abs().sum() > 0, "the head learned"
    summary = json.loads((tmp_path / "stage2" / "training_summary.json").read_text())
    assert summary["run_config"]["train_only"] == "pixel"
    card = (tmp_path / "stage2" / "README.md").read_text()
    assert "autoregressive head" in card and "trained the head alone" in card
    with pytest.raises(ValueError, match="no part 'decoder'"):
        hvae_train.train_hvae(dataclasses.replace(run, train_only="decoder"), "unused", tmp_path / "stage3")
