"""The Lab tab's plain functions: live training, the latent explorer and the ELBO of one image."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import skip_without_bundled

from vae_demo.demo import lab
from vae_demo.generative.live import LiveRun, TinyVAE, elbo_terms


def test_tiny_vae_gives_finite_terms_and_a_gradient_to_every_parameter():
    model = TinyVAE(latent_dim=3, hidden=16)
    x = torch.rand(5, 1, 8, 8)
    recon, kl, q = elbo_terms(model, x, sample=True, generator=torch.Generator().manual_seed(0))
    assert recon.shape == kl.shape == (5,) and q.mean.shape == (5, 3)
    assert torch.isfinite(recon).all() and (kl >= 0).all()
    (-(recon - kl).mean()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_live_training_improves_the_elbo_and_the_kl_separates_vae_from_autoencoder():
    vae, ae = LiveRun(beta=1.0, seed=0), LiveRun(beta=0.0, seed=0)
    before, _ = vae.evaluate()
    for run in (vae, ae):
        run.train_for(1.5)
    after, mu_vae = vae.evaluate()
    ae_terms, mu_ae = ae.evaluate()
    assert after.elbo > before.elbo + 3, (before, after)
    assert ae_terms.kl > after.kl, "the autoencoder pays nothing for codes far from the prior"
    assert mu_ae.abs().max() > mu_vae.abs().max()


def test_train_live_yields_frames_until_the_budget_and_refuses_bad_numbers():
    frames = list(lab.train_live(seconds=2, every=1))
    assert len(frames) == 2 and "(done)" in frames[-1].status
    f = frames[-1]
    assert f.curves.ndim == 3 and f.samples.shape[2] == 3 and f.latent_map.shape[2] == 3
    assert [h["step"] for h in f.history] == sorted(h["step"] for h in f.history)
    assert all(math.isfinite(h["elbo"]) for h in f.history)
    with pytest.raises(ValueError, match="finite"):
        next(lab.train_live(beta=math.nan))
    with pytest.raises(ValueError, match="time budget"):
        next(lab.train_live(seconds=10_000))


def test_pixel_to_latent_maps_the_corners_and_centre():
    assert lab.pixel_to_latent(0, 0) == (-lab.MAP_EXTENT, lab.MAP_EXTENT)
    assert lab.pixel_to_latent(lab.MAP_PX, lab.MAP_PX) == (lab.MAP_EXTENT, -lab.MAP_EXTENT)
    assert lab.pixel_to_latent(lab.MAP_PX / 2, lab.MAP_PX / 2) == (0.0, 0.0)


@skip_without_bundled("mnist-vae-2d")
def test_locate_draws_the_posterior_and_decode_point_gives_a_digit():
    r = lab.locate()
    a = r.latent_map
    assert a.shape == (lab.MAP_PX, lab.MAP_PX, 3) and r.reconstruction.ndim == 2 and "mu = (" in r.text
    plain = lab.latent_map()
    assert (a != plain).any(), "the ellipse is drawn"
    digit = lab.decode_point(0.5, -0.5)
    assert digit.shape == r.reconstruction.shape and digit.std() > 10
    assert not np.array_equal(digit, lab.decode_point(-2.0, 2.0))


@skip_without_bundled("mnist-vae")
def test_elbo_of_one_digit_adds_up_and_the_likelihood_bounds_it():
    rows, text = lab.elbo_of_image("mnist-vae", k=200)
    recon, kl, elbo, log_px = (r[1] for r in rows)
    assert kl > 0 and elbo == pytest.approx(recon - kl, abs=0.02)
    assert log_px >= elbo - 1.0, "the importance-sampled log p(x) is at least the ELBO (up to noise)"
    assert rows[2][2] == pytest.approx(rows[2][1] / math.log(2), abs=0.1)
    assert "bits" in text and "PNG" in text
