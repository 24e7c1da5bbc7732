"""Sampling, interpolation, traversal, the 2-D manifold and the likelihood estimates."""

from __future__ import annotations

import pytest
import torch

from vae_demo.generative import inference
from vae_demo.generative.evaluate import elbo_per_image, evaluate, log_likelihood_per_image
from vae_demo.generative.model import ConvVAE, VAEConfig


@pytest.fixture
def pair(tiny_batch):
    return tiny_batch[:1], tiny_batch[5:6]


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_interpolation_endpoints_are_the_encodings(tiny_model, pair, method):
    x0, x1 = pair
    images, path = inference.interpolate(tiny_model, x0, x1, steps=7, method=method)
    assert images.shape == (7, 1, 16, 16) and path.shape == (7, 4)
    z0, z1 = inference.encode(tiny_model, x0)[0], inference.encode(tiny_model, x1)[0]
    torch.testing.assert_close(path[0], z0, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(path[-1], z1, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(images[0], inference.reconstruct(tiny_model, x0)[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(images[-1], inference.reconstruct(tiny_model, x1)[0], atol=1e-5, rtol=1e-5)


def test_refining_the_posterior_leaves_the_model_alone(tiny_model, tiny_batch):
    """The mechanics on an untrained model; the gain in ELBO is tested on faces-vae (test_checkpoints.py)."""
    x = tiny_batch[:4]
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    refined = inference.refine_posterior(tiny_model, x, steps=30)
    assert refined.mean.shape == (4, 4) and torch.isfinite(refined.logvar).all()
    assert all(p.grad is None for p in tiny_model.parameters())
    assert all(torch.equal(v, before[k]) for k, v in tiny_model.state_dict().items())
    again = inference.encode(tiny_model, x, refine_steps=30)
    torch.testing.assert_close(again, refined.mean)  # seeded: the same steps give the same encoding
    torch.testing.assert_close(inference.encode(tiny_model, x, refine_steps=0), tiny_model.posterior(x).mean)
    images, _ = inference.interpolate(tiny_model, x[:1], x[1:2], steps=3, refine_steps=30)
    torch.testing.assert_close(images[0], inference.reconstruct(tiny_model, x[:1], refine_steps=30)[0])


def test_interpolation_needs_two_steps(tiny_model, pair):
    with pytest.raises(ValueError):
        inference.interpolate(tiny_model, *pair, steps=1)


def test_slerp_keeps_equal_norms_and_hits_the_endpoints():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(8, generator=g), torch.randn(8, generator=g)
    z1 = z1 / z1.norm() * z0.norm()
    t = torch.linspace(0, 1, 11)
    path = inference.slerp(z0, z1, t)
    torch.testing.assert_close(path.norm(dim=1), z0.norm().expand(11), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(path[0], z0, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(path[-1], z1, atol=1e-5, rtol=1e-5)
    # and it is not the straight line, which would shrink the norm in the middle
    assert inference.lerp(z0, z1, t)[5].norm() < path[5].norm() - 1e-3


def test_slerp_of_parallel_vectors_falls_back_to_lerp():
    z0 = torch.tensor([1.0, 2.0, 3.0])
    t = torch.linspace(0, 1, 5)
    torch.testing.assert_close(inference.slerp(z0, 2 * z0, t), inference.lerp(z0, 2 * z0, t))


def test_lerp_midpoint():
    z0, z1 = torch.tensor([0.0, 2.0]), torch.tensor([4.0, -2.0])
    torch.testing.assert_close(inference.lerp(z0, z1, torch.tensor([0.5]))[0], torch.tensor([2.0, 0.0]))


def test_sample_is_seeded(tiny_model):
    a = inference.sample(tiny_model, n=6, seed=3)
    b = inference.sample(tiny_model, n=6, seed=3)
    c = inference.sample(tiny_model, n=6, seed=4)
    assert a.shape == (6, 1, 16, 16)
    assert a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_sample_at_zero_temperature_decodes_the_origin(tiny_model):
    images = inference.sample(tiny_model, n=3, temperature=0.0, seed=1)
    origin = tiny_model.decode_mean(torch.zeros(1, 4)).detach()
    torch.testing.assert_close(images, origin.expand(3, -1, -1, -1))


def test_traverse_changes_only_the_chosen_dimension(tiny_model, monkeypatch):
    seen = {}
    decode_mean = tiny_model.decode_mean

    def spy(z):
        seen["z"] = z.clone()
        return decode_mean(z)

    monkeypatch.setattr(tiny_model, "decode_mean", spy)
    z = inference.prior_latent(tiny_model, seed=0)
    values = torch.linspace(-3, 3, 5)
    images = inference.traverse(tiny_model, z, dim=2, values=values)
    assert images.shape == (5, 1, 16, 16)
    zs = seen["z"]
    torch.testing.assert_close(zs[:, 2], values)
    others = [0, 1, 3]
    torch.testing.assert_close(zs[:, others], z[others].expand(5, -1))
    assert torch.equal(z, inference.prior_latent(tiny_model, seed=0)), "traverse must not modify z in place"


def test_latent_manifold_for_a_2d_model():
    torch.manual_seed(0)
    model = ConvVAE(VAEConfig(image_size=16, latent_dim=2, channels=(4, 8))).eval()
    grid = inference.latent_manifold(model, n=5)
    assert grid.shape == (25, 1, 16, 16)
    assert torch.isfinite(grid).all()


def test_latent_manifold_rejects_other_latent_sizes(tiny_model):
    with pytest.raises(ValueError, match="2-D"):
        inference.latent_manifold(tiny_model, n=5)


def test_posterior_samples(tiny_model, tiny_batch):
    mean, std = inference.posterior_samples(tiny_model, tiny_batch[:3], k=8, seed=0)
    assert mean.shape == std.shape == (3, 1, 16, 16)
    assert (std >= 0).all() and std.sum() > 0
    mean2, std2 = inference.posterior_samples(tiny_model, tiny_batch[:3], k=8, seed=0)
    assert torch.equal(mean, mean2) and torch.equal(std, std2)


def test_importance_sampled_log_likelihood_bounds_the_elbo(tiny_model, tiny_batch):
    """log p(x) >= IWAE-k >= ELBO in expectation (Burda et al. 2016); k = 50 is clearly above the ELBO."""
    x = tiny_batch.repeat(2, 1, 1, 1)
    g = torch.Generator().manual_seed(0)
    elbo = torch.stack([elbo_per_image(tiny_model, x, g) for _ in range(20)]).mean(0)
    ll = log_likelihood_per_image(tiny_model, x, k=50, chunk=20, generator=g)
    assert ll.shape == elbo.shape == (16,)
    assert ll.mean() >= elbo.mean()

    metrics = evaluate(tiny_model, x, k=50, batch_size=8, seed=0)
    assert metrics["n_images"] == 16
    assert -metrics["nll_nats"] >= metrics["elbo_nats"]
    assert "nll_nats" not in evaluate(tiny_model, x, k=0)


def test_evaluate_is_seeded(tiny_model, tiny_batch):
    assert evaluate(tiny_model, tiny_batch, k=5, seed=1) == evaluate(tiny_model, tiny_batch, k=5, seed=1)


def test_proposal_defaults_to_the_encoder(tiny_model, tiny_batch):
    q = tiny_model.posterior(tiny_batch)
    default = log_likelihood_per_image(tiny_model, tiny_batch, k=8, generator=torch.Generator().manual_seed(3))
    given = log_likelihood_per_image(
        tiny_model, tiny_batch, k=8, generator=torch.Generator().manual_seed(3), proposal=q
    )
    assert torch.equal(default, given)


def test_refined_proposal_tightens_the_bound(tiny_model, tiny_batch):
    """Importance samples from the refined posterior give a higher log p(x) estimate at the same k."""
    plain = evaluate(tiny_model, tiny_batch, k=10, seed=0)
    refined = evaluate(tiny_model, tiny_batch, k=10, seed=0, refine_steps=50)
    assert refined["nll_nats"] < plain["nll_nats"]
    assert refined["elbo_nats"] == plain["elbo_nats"]  # the ELBO stays the encoder's
    with pytest.raises(ValueError, match="unconditional"):
        evaluate(tiny_model, tiny_batch, k=2, refine_steps=5, labels=torch.zeros(len(tiny_batch), dtype=torch.long))


def test_dimensions_are_ranked_by_how_much_they_change_the_picture():
    torch.manual_seed(0)
    model = ConvVAE(VAEConfig(latent_dim=6, channels=(8, 16))).eval()
    with torch.no_grad():  # make dimension 4 the one the decoder listens to most, dimension 1 ignored
        w = model.decoder.from_latent.weight
        w[:, 1] = 0.0
        w[:, 4] *= 20.0
    order = inference.dimensions_by_effect(model)
    assert sorted(order) == list(range(6)) and order[0] == 4 and order[-1] == 1
