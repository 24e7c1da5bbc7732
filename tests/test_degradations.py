"""Seeded corruptions: deterministic, shape- and range-preserving, and of the requested strength."""

from __future__ import annotations

import math

import pytest
import torch

from vae_demo.restoration import degradations as D
from vae_demo.restoration import mixture as M
from vae_demo.restoration.degradations import NOISE_TYPES, corrupt

GREY = torch.full((4, 1, 64, 64), 0.5)


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_seeded_and_shape_dtype_range_preserving(kind):
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    a, b, c = corrupt(x, kind, 0.3, seed=1), corrupt(x, kind, 0.3, seed=1), corrupt(x, kind, 0.3, seed=2)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert not torch.equal(a, x)
    assert torch.equal(x, torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))), "input modified"


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_level_zero_changes_nothing(kind):
    x = torch.rand(2, 1, 16, 16)
    assert torch.equal(corrupt(x, kind, 0.0, seed=0), x)


@pytest.mark.parametrize("sigma", [0.05, 0.1])
def test_gaussian_noise_has_the_requested_std(sigma):
    noisy = corrupt(GREY, "gaussian", sigma, seed=0)
    assert (noisy - GREY).std().item() == pytest.approx(sigma, rel=0.03)
    assert (noisy - GREY).mean().item() == pytest.approx(0.0, abs=0.005)


@pytest.mark.parametrize("fraction", [0.1, 0.5])
def test_salt_and_pepper_fraction(fraction):
    x = torch.full((4, 3, 64, 64), 0.5)
    noisy = corrupt(x, "salt_and_pepper", fraction, seed=0)
    salt, pepper = (noisy == 1).float().mean().item(), (noisy == 0).float().mean().item()
    assert salt + pepper == pytest.approx(fraction, abs=0.02)
    assert salt == pytest.approx(pepper, abs=0.02)
    changed = noisy != x
    assert torch.equal(changed[:, 0], changed[:, 1]) and torch.equal(changed[:, 1], changed[:, 2]), (
        "all channels of a pixel change together"
    )


@pytest.mark.parametrize("area", [0.1, 0.3, 0.5])
def test_mask_covers_the_requested_area(area):
    x = torch.ones(4, 1, 64, 64)
    masked = corrupt(x, "mask", area, seed=0)
    per_image = (masked == 0).float().mean(dim=(1, 2, 3))
    assert torch.allclose(per_image, torch.full((4,), area), atol=0.02)


@pytest.mark.parametrize("level", [-0.1, 1.5, math.nan, math.inf])
def test_invalid_level_raises(level):
    with pytest.raises(ValueError, match="level"):
        corrupt(GREY, "gaussian", level)


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match="noise type"):
        corrupt(GREY, "blur", 0.3)


# --- photo degradations: strengths in physical units ---------------------------------------------


PHOTO = torch.rand(2, 3, 48, 48, generator=torch.Generator().manual_seed(3)) * 0.6 + 0.2


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


OPS = {
    "gaussian_noise": lambda x, g: D.gaussian_noise(x, 25, g),
    "poisson_noise": lambda x, g: D.poisson_noise(x, 30, g),
    "salt_and_pepper": lambda x, g: D.salt_and_pepper(x, 0.1, g),
    "poisson_gaussian": lambda x, g: D.poisson_gaussian(x, 15, generator=g),
    "camera_noise": lambda x, g: D.camera_noise(x, 15, g),
    "gaussian_blur": lambda x, g: D.gaussian_blur(x, 1.5),
    "motion_blur": lambda x, g: D.motion_blur(x, 9, 30),
    "jpeg": lambda x, g: D.jpeg(x, 20),
    "low_resolution": lambda x, g: D.low_resolution(x, 3),
    "low_light": lambda x, g: D.low_light(x, 0.3, 1.2, 4, g),
    "reduce_contrast": lambda x, g: D.reduce_contrast(x, 0.4),
    "colour_cast": lambda x, g: D.colour_cast(x, (1.2, 1.0, 0.8)),
}


@pytest.mark.parametrize("name", OPS)
def test_photo_op_is_seeded_and_keeps_shape_dtype_range(name):
    op = OPS[name]
    a, b = op(PHOTO, seeded(1)), op(PHOTO, seeded(1))
    assert torch.equal(a, b)
    assert a.shape == PHOTO.shape and a.dtype == PHOTO.dtype
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert not torch.equal(a, PHOTO)


@pytest.mark.parametrize(
    "name", ["gaussian_noise", "poisson_noise", "salt_and_pepper", "low_light", "poisson_gaussian", "camera_noise"]
)
def test_random_ops_change_with_the_seed(name):
    assert not torch.equal(OPS[name](PHOTO, seeded(1)), OPS[name](PHOTO, seeded(2)))


@pytest.mark.parametrize("sigma", [15, 25, 50])
def test_gaussian_noise_std_matches_sigma_on_the_255_scale(sigma):
    flat = torch.full((2, 3, 128, 128), 0.5)
    measured = (D.gaussian_noise(flat, sigma, seeded(0)) - flat).std().item() * 255
    assert measured == pytest.approx(sigma, rel=0.03 if sigma < 50 else 0.08)  # clipping trims sigma 50 a little


@pytest.mark.parametrize("peak", [10, 100])
def test_poisson_variance_is_mean_over_peak(peak):
    flat = torch.full((2, 1, 128, 128), 0.4)
    noisy = D.poisson_noise(flat, peak, seeded(0))
    assert noisy.mean().item() == pytest.approx(0.4, rel=0.02)
    assert noisy.var().item() == pytest.approx(0.4 / peak, rel=0.05)


@pytest.mark.parametrize("sigma", [5, 15, 30])
def test_camera_noise_has_the_requested_std_at_mid_grey(sigma):
    """Poisson-Gaussian noise of std ``sigma`` at mid-grey, less in the dark (shot noise); JPEG q85 then
    smooths some of it away, but not most."""
    mid, dark = torch.full((2, 3, 128, 128), 0.5), torch.full((2, 3, 128, 128), 0.25)
    at_mid = (D.poisson_gaussian(mid, sigma, generator=seeded(0)) - mid).std().item() * 255
    at_dark = (D.poisson_gaussian(dark, sigma, generator=seeded(0)) - dark).std().item() * 255
    assert at_mid == pytest.approx(sigma, rel=0.03)
    assert at_dark == pytest.approx(sigma * ((0.8 * 0.25 / 0.5 + 0.2) ** 0.5), rel=0.05), "variance a x + b"
    camera = D.degrade(mid, "camera", sigma, seeded(0))
    assert torch.equal(camera, D.jpeg(D.poisson_gaussian(mid, sigma, generator=seeded(0)), 85))
    assert 0.5 * sigma < (camera - mid).std().item() * 255 < sigma
    assert (camera - mid).mean().abs().item() * 255 < 0.5, "no change of brightness"


@pytest.mark.parametrize("sigma", [1.0, 2.5])
def test_gaussian_blur_spreads_an_impulse_by_sigma(sigma):
    impulse = torch.zeros(1, 1, 41, 41)
    impulse[..., 20, 20] = 1.0
    out = D.gaussian_blur(impulse, sigma)[0, 0]
    profile = out.sum(dim=0)
    xs = torch.arange(41.0) - 20
    std = (profile * xs.pow(2)).sum().div(profile.sum()).sqrt().item()
    assert std == pytest.approx(sigma, rel=0.05)


def test_motion_blur_averages_along_a_line_of_the_given_length():
    k = D.motion_kernel(9, 0)
    assert k.sum().item() == pytest.approx(1.0)
    assert (k > 0).sum().item() == 9 and (k[4] > 0).all(), "a horizontal line of 9 pixels"
    vertical = D.motion_kernel(9, 90)
    assert (vertical[:, 4] > 0).all() and (vertical > 0).sum().item() == 9


def test_jpeg_quality_orders_the_error():
    x = D.gaussian_blur(torch.rand(1, 3, 64, 64, generator=seeded(0)), 1.0)
    errors = [(D.jpeg(x, q) - x).pow(2).mean().item() for q in (10, 50, 95)]
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_downsample_shrinks_by_the_scale(scale):
    x = torch.rand(2, 3, 50, 61)
    small = D.downsample(x, scale)
    assert small.shape == (2, 3, 50 // scale, 61 // scale)
    assert D.low_resolution(x, scale).shape == x.shape


def test_low_light_scales_the_mean_by_the_exposure():
    dark = D.low_light(PHOTO, 0.25)
    assert dark.mean().item() == pytest.approx(0.25 * PHOTO.mean().item(), rel=1e-4)
    assert D.low_light(PHOTO, 1.0, 2.0).mean() < PHOTO.mean(), "gamma > 1 darkens mid-tones"


def test_reduce_contrast_and_colour_cast():
    hazy = D.reduce_contrast(PHOTO, 0.5)
    assert hazy.std().item() == pytest.approx(0.5 * PHOTO.std().item(), rel=1e-4)
    warm = D.colour_cast(PHOTO, (1.2, 1.0, 0.8))
    assert warm[:, 0].mean() > PHOTO[:, 0].mean() and warm[:, 2].mean() < PHOTO[:, 2].mean()
    grey = PHOTO[:, :1]
    assert torch.equal(D.colour_cast(grey, (1.2, 1.0, 0.8)), grey), "a grey image stays grey"


@pytest.mark.parametrize("name", list(D.DEGRADATIONS))
def test_every_named_degradation_runs_at_its_default_level(name):
    out = D.degrade(PHOTO, name, D.DEGRADATIONS[name].default_level, seeded(0))
    assert out.dtype == PHOTO.dtype and out.min() >= 0 and out.max() <= 1
    if name != "downsample":
        assert out.shape == PHOTO.shape


def test_degrade_rejects_unknown_degradations_and_non_finite_levels():
    with pytest.raises(ValueError, match="unknown degradation"):
        D.degrade(PHOTO, "sharpen", 1.0)
    for task in ("denoise", "sr", "deblur"):  # tasks, not degradations: named for the job, not the corruption
        with pytest.raises(ValueError, match="unknown degradation"):
            D.degrade(PHOTO, task, 1.0)
    with pytest.raises(ValueError, match="finite"):
        D.degrade(PHOTO, "gaussian_noise", math.nan)


def test_pipeline_is_seeded_and_reports_the_noise_it_added():
    pipe = M.DegradationPipeline((M.Step("gaussian_noise", 1.0, 20.0, 20.0),))
    x = torch.full((3, 1, 32, 32), 0.5)
    (a, sa), (b, sb) = pipe(x, seeded(0)), pipe(x, seeded(0))
    assert torch.equal(a, b) and torch.equal(sa, sb)
    assert torch.allclose(sa, torch.full((3,), 20 / 255))
    never = M.DegradationPipeline((M.Step("jpeg", 0.0, 10, 20),))
    out, sigma = never(x, seeded(0))
    assert torch.equal(out, x) and (sigma == 0).all()


def test_default_pipeline_mixes_degradations():
    pipe = M.DegradationPipeline()
    x = PHOTO.repeat(8, 1, 1, 1)
    out, sigma = pipe(x, seeded(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    changed = (out - x).abs().flatten(1).amax(dim=1) > 0
    assert 0 < changed.sum() <= len(x) and (sigma > 0).any()


def test_exclusive_pipeline_draws_one_step_with_its_probability():
    pipe = M.DegradationPipeline()
    g = seeded(0)
    draws = [pipe.chosen(g) for _ in range(4000)]
    names = [d[0].name if d else "clean" for d in draws]
    assert all(len(d) <= 1 or (len(d) == 2 and d[1].name == "gaussian_noise") for d in draws)
    for step in M.DEFAULT_STEPS:
        assert names.count(step.name) / len(draws) == pytest.approx(step.probability, abs=0.025), step.name
    assert names.count("clean") / len(draws) == pytest.approx(1 - sum(s.probability for s in M.DEFAULT_STEPS), abs=0.02)
    blurred = [d for d in draws if d and d[0].name == "gaussian_blur"]
    assert 0.15 < sum(len(d) == 2 for d in blurred) / len(blurred) < 0.45, "about 30% get extra noise"


def test_independent_pipeline_can_combine_steps():
    pipe = M.DegradationPipeline((M.Step("gaussian_blur", 1.0, 1, 1), M.Step("jpeg", 1.0, 20, 20)), exclusive=False)
    assert [s.name for s in pipe.chosen(seeded(0))] == ["gaussian_blur", "jpeg"]
    with pytest.raises(ValueError, match="sum to at most 1"):
        M.DegradationPipeline((M.Step("jpeg", 0.7, 10, 20), M.Step("gaussian_noise", 0.7, 0, 50)))
