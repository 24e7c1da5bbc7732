"""Classical baselines: each one improves its own problem, on small images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_demo.restoration import classical, degradations


def smooth_image(channels: int = 1, size: int = 64) -> np.ndarray:
    g = torch.Generator().manual_seed(0)
    small = torch.rand(1, channels, size // 8, size // 8, generator=g) * 0.8 + 0.1
    x = torch.nn.functional.interpolate(small, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
    a = x[0].permute(1, 2, 0).numpy().astype(np.float64)
    return a[..., 0] if channels == 1 else a


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a - b) ** 2))


def degrade(a: np.ndarray, name: str, level: float) -> np.ndarray:
    t = torch.from_numpy(a).float()
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    out = degradations.degrade(t, name, level, torch.Generator().manual_seed(1))[0].permute(1, 2, 0).numpy()
    return (out[..., 0] if out.shape[-1] == 1 else out).astype(np.float64)


@pytest.mark.parametrize("method", ["bm3d", "nlm", "tv"])
@pytest.mark.parametrize("channels", [1, 3])
def test_denoisers_reduce_gaussian_noise(method, channels):
    clean = smooth_image(channels)
    noisy = degrade(clean, "gaussian_noise", 25)
    out = classical.run_classical(method, noisy, "gaussian_noise", 25)
    assert out.shape == clean.shape and out.min() >= 0 and out.max() <= 1
    assert mse(out, clean) < 0.5 * mse(noisy, clean)


def test_blind_denoising_estimates_sigma():
    clean = smooth_image()
    noisy = degrade(clean, "gaussian_noise", 25)
    assert mse(classical.run_classical("nlm", noisy, "poisson", None), clean) < 0.5 * mse(noisy, clean)


def test_median_removes_salt_and_pepper():
    clean = smooth_image(3)
    noisy = degrade(clean, "salt_and_pepper", 0.1)
    assert mse(classical.run_classical("median", noisy, "salt_and_pepper", 0.1), clean) < 0.2 * mse(noisy, clean)


def test_richardson_lucy_sharpens_a_known_blur():
    clean = smooth_image(1, 96)
    clean = np.clip(clean + (np.indices(clean.shape).sum(0) % 16 < 8) * 0.2 - 0.1, 0, 1)  # stripes: edges to restore
    blurred = degrade(clean, "gaussian_blur", 1.6)
    assert mse(classical.run_classical("richardson_lucy", blurred, "gaussian_blur", 1.6), clean) < mse(blurred, clean)


@pytest.mark.parametrize("method", ["gamma", "clahe"])
def test_low_light_methods_brighten(method):
    dark = degrade(smooth_image(3), "lowlight", 0.2)
    assert classical.run_classical(method, dark, "lowlight", 0.2).mean() > dark.mean() + 0.05


def test_unsharp_and_bicubic_keep_shape():
    a = smooth_image(3)
    assert classical.run_classical("unsharp", a, "downsample", 2).shape == a.shape
    assert np.array_equal(classical.run_classical("bicubic", a, "downsample", 2), a)
    assert np.isfinite(classical.run_classical("unsharp", a.astype(np.float32), "downsample", 2)).all(), "float32 input"


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown classical method"):
        classical.run_classical("magic", smooth_image(), "gaussian_noise", 25)


def test_every_task_has_a_classical_method():
    assert set(classical.METHODS_FOR) == set(degradations.DEGRADATIONS)
    assert all(m in classical.METHODS for ms in classical.METHODS_FOR.values() for m in ms)


def test_unsharp_keeps_flat_regions_and_sharpens_edges():
    flat = np.full((32, 32, 3), 0.5)
    assert np.allclose(classical.run_classical("unsharp", flat, "downsample", 2), 0.5)
    clean = smooth_image(1, 96)
    clean = np.clip(clean + (np.indices(clean.shape).sum(0) % 16 < 8) * 0.2 - 0.1, 0, 1)
    blurred = degrade(clean, "gaussian_blur", 1.6)
    assert mse(classical.run_classical("unsharp", blurred, "gaussian_blur", 1.6), clean) < mse(blurred, clean)
