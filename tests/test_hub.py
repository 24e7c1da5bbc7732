"""Resolving and loading checkpoints: local folders, the Hub cache, and every way of falling back."""

from __future__ import annotations

import json
import time
from pathlib import Path

import huggingface_hub.constants as hf_constants
import pytest
import torch
from conftest import free_port, write_checkpoint

from vae_demo.core import hub
from vae_demo.core.device import pick_device
from vae_demo.core.hub import CheckpointError, load_checkpoint, load_model, resolve_checkpoint
from vae_demo.generative.model import ConvVAE

REPO = "some-org/vae-demo-weights"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa)


@pytest.fixture
def other_model(tiny_config) -> ConvVAE:
    torch.manual_seed(123)
    return ConvVAE(tiny_config).eval()


@pytest.fixture
def bundled(tmp_path, monkeypatch, tiny_model) -> Path:
    """A bundled-checkpoints folder in tmp_path holding the tiny model as 'mnist-vae'."""
    folder = tmp_path / "bundled"
    write_checkpoint(folder / "mnist-vae", tiny_model)
    monkeypatch.setattr(hub, "BUNDLED_DIR", folder)
    return folder


def fill_hub_cache(cache: Path, name: str, model: ConvVAE | None = None, weights: bytes | None = None) -> Path:
    """The layout hf_hub_download leaves behind: models--ORG--NAME/{refs/main, snapshots/COMMIT/NAME/...}."""
    repo_dir = cache / f"models--{REPO.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / COMMIT / name
    if model is not None:
        write_checkpoint(snapshot, model)
    else:
        snapshot.mkdir(parents=True)
        (snapshot / "config.json").write_text(json.dumps({"image_size": 16, "latent_dim": 4, "channels": [4, 8]}))
        (snapshot / "model.safetensors").write_bytes(weights or b"")
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(COMMIT)
    return snapshot


def go_offline(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)


# --- local folders --------------------------------------------------------------------------------------
def test_load_checkpoint_of_a_folder(tmp_path, tiny_model):
    folder = write_checkpoint(tmp_path / "ckpt", tiny_model)
    loaded = load_checkpoint(folder)
    assert not loaded.training
    assert loaded.config == tiny_model.config
    assert loaded.device == torch.device("cpu")
    assert_same_weights(loaded, tiny_model)


def test_load_model_with_an_explicit_path(tmp_path, tiny_model):
    folder = write_checkpoint(tmp_path / "ckpt", tiny_model)
    assert_same_weights(load_model("mnist-vae", path=folder), tiny_model)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_weights_name_the_file(tmp_path, tiny_model, damage):
    folder = write_checkpoint(tmp_path / "ckpt", tiny_model)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(
        {"garbage": b"\x00\xffnot safetensors" * 50, "truncated": data[: len(data) // 2], "empty": b""}[damage]
    )
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_checkpoint(folder)
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_model("mnist-vae", path=folder)  # an explicit folder never falls back


@pytest.mark.parametrize("missing", ["config.json", "model.safetensors"])
def test_missing_file_names_it(tmp_path, tiny_model, missing):
    folder = write_checkpoint(tmp_path / "ckpt", tiny_model)
    (folder / missing).unlink()
    with pytest.raises(CheckpointError, match=missing.replace(".", r"\.")):
        load_checkpoint(folder)


@pytest.mark.parametrize("config_text", ["{not json", '{"image_size": 30, "channels": [4, 8]}', "[1, 2]"])
def test_invalid_config_names_it(tmp_path, tiny_model, config_text):
    folder = write_checkpoint(tmp_path / "ckpt", tiny_model)
    (folder / "config.json").write_text(config_text)
    with pytest.raises(CheckpointError, match="config.json"):
        load_checkpoint(folder)


def test_weights_that_do_not_fit_the_config(tmp_path, tiny_model):
    folder = write_checkpoint(tmp_path / "ckpt", tiny_model)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "latent_dim": 6}))
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(folder)


def test_unknown_model_name():
    with pytest.raises(CheckpointError, match="unknown model"):
        resolve_checkpoint("cifar-vae")
    with pytest.raises(CheckpointError, match="unknown model"):
        load_model("cifar-vae")


def test_bundled_is_the_default(bundled, tiny_model):
    assert resolve_checkpoint("mnist-vae") == bundled / "mnist-vae"
    assert_same_weights(load_model("mnist-vae"), tiny_model)


# --- the Hub ----------------------------------------------------------------------------------------------
def test_unreachable_hub_falls_back_to_bundled_within_3_seconds(bundled, monkeypatch):
    """HF_ENDPOINT on a closed loopback port: connection refused at once, so the app must not wait."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setattr(hf_constants, "ENDPOINT", endpoint)
    # hf_hub_url builds the URL from this template, made from ENDPOINT at import
    monkeypatch.setattr(
        hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setenv("VAE_DEMO_HUB_REPO", REPO)

    start = time.perf_counter()
    folder = resolve_checkpoint("mnist-vae")
    elapsed = time.perf_counter() - start
    assert folder == bundled / "mnist-vae"
    assert elapsed < 3.0, f"falling back to the bundled weights took {elapsed:.1f} s"


def test_offline_without_a_cached_copy_falls_back_quickly(bundled, monkeypatch):
    go_offline(monkeypatch)
    monkeypatch.setenv("VAE_DEMO_HUB_REPO", REPO)
    start = time.perf_counter()
    assert resolve_checkpoint("mnist-vae") == bundled / "mnist-vae"
    assert time.perf_counter() - start < 3.0


def test_offline_with_a_cached_hub_copy_uses_it(bundled, monkeypatch, tmp_path, isolated_hf_cache, other_model):
    snapshot = fill_hub_cache(Path(hf_constants.HF_HUB_CACHE), "mnist-vae", model=other_model)
    go_offline(monkeypatch)
    monkeypatch.setenv("VAE_DEMO_HUB_REPO", REPO)

    folder = resolve_checkpoint("mnist-vae")
    assert folder.resolve() == snapshot.resolve()
    assert folder.resolve().is_relative_to(tmp_path.resolve())
    assert_same_weights(load_model("mnist-vae"), other_model)


def test_corrupt_hub_copy_falls_back_to_bundled(bundled, monkeypatch, tiny_model, caplog):
    fill_hub_cache(Path(hf_constants.HF_HUB_CACHE), "mnist-vae", weights=b"\x00" * 100)
    go_offline(monkeypatch)
    monkeypatch.setenv("VAE_DEMO_HUB_REPO", REPO)

    with caplog.at_level("WARNING", logger="vae_demo.core.hub"):
        model = load_model("mnist-vae")
    assert_same_weights(model, tiny_model)
    assert "model.safetensors" in caplog.text


def test_explicit_corrupt_folder_raises_even_with_a_hub_repo(bundled, tmp_path, tiny_model, monkeypatch):
    folder = write_checkpoint(tmp_path / "mine", tiny_model)
    (folder / "model.safetensors").write_bytes(b"broken")
    go_offline(monkeypatch)
    monkeypatch.setenv("VAE_DEMO_HUB_REPO", REPO)
    with pytest.raises(CheckpointError):
        load_model("mnist-vae", path=folder)


def test_pick_device_honours_the_environment(monkeypatch, tmp_path, tiny_model):
    monkeypatch.setenv("VAE_DEMO_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    folder = write_checkpoint(tmp_path / "ckpt", tiny_model)
    assert load_checkpoint(folder).device == torch.device("cpu")
    monkeypatch.delenv("VAE_DEMO_DEVICE")
    assert isinstance(pick_device(), torch.device)


# --- a local Hub endpoint: the real hf_hub_download / from_pretrained code paths -------------------------------
@pytest.fixture
def local_hub(tmp_path, monkeypatch, other_model):
    """HF_ENDPOINT pointed at a loopback server holding REPO/mnist-vae/* and a root-level repo for from_pretrained."""
    from local_hub import LocalHub

    write_checkpoint(tmp_path / "served" / "mnist-vae", other_model)
    other_model.save_pretrained(tmp_path / "single")
    with LocalHub({REPO: tmp_path / "served", "some-org/single": tmp_path / "single"}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setattr(hf_constants, "ENDPOINT", server.url)
        monkeypatch.setattr(
            hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE", server.url + "/{repo_id}/resolve/{revision}/{filename}"
        )
        yield server


def test_weights_download_from_a_local_hub_into_the_cache(
    bundled, local_hub, monkeypatch, isolated_hf_cache, other_model
):
    monkeypatch.setenv("VAE_DEMO_HUB_REPO", REPO)
    folder = resolve_checkpoint("mnist-vae")
    assert folder.resolve().is_relative_to(isolated_hf_cache.resolve()), "the bytes land in the HF cache"
    assert (folder / "model.safetensors").read_bytes() == (
        local_hub.repos[REPO] / "mnist-vae" / "model.safetensors"
    ).read_bytes()
    assert_same_weights(load_model("mnist-vae"), other_model)
    assert ("GET", f"/{REPO}/resolve/main/mnist-vae/model.safetensors") in local_hub.requests


def test_from_pretrained_reads_a_repo_id_and_revision(local_hub, other_model):
    model = ConvVAE.from_pretrained("some-org/single", revision="main")
    assert_same_weights(model, other_model)
    assert model.config.latent_dim == other_model.config.latent_dim
    assert any(path.endswith("/model.safetensors") for _, path in local_hub.requests)
    assert not any(path.endswith((".bin", ".pt", ".pth", ".pkl")) for _, path in local_hub.requests), (
        "no pickled weights are ever asked for"
    )


def test_a_corrupt_download_falls_back_to_bundled_and_names_the_file(
    bundled, local_hub, monkeypatch, tiny_model, caplog
):
    (local_hub.repos[REPO] / "mnist-vae" / "model.safetensors").write_bytes(b"\x00" * 64)
    monkeypatch.setenv("VAE_DEMO_HUB_REPO", REPO)
    with caplog.at_level("WARNING", logger="vae_demo.core.hub"):
        model = load_model("mnist-vae")
    assert_same_weights(model, tiny_model)
    assert "model.safetensors" in caplog.text and "corrupt" in caplog.text


def test_push_then_pull_through_a_local_hub(tmp_path, monkeypatch, tiny_model, bundled, isolated_hf_cache):
    from local_hub import LocalHub

    from vae_demo.cli import main

    folder = write_checkpoint(tmp_path / "mine", tiny_model)
    (folder / "README.md").write_text("---\nlibrary_name: vae-demo\nlicense: other\n---\n# mine\n")
    (folder / "trainer_state.pt").write_bytes(b"pickled optimiser state: must never be uploaded")
    with LocalHub({}, upload_root=tmp_path / "hub") as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setattr(hf_constants, "ENDPOINT", server.url)
        monkeypatch.setattr(
            hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE", server.url + "/{repo_id}/resolve/{revision}/{filename}"
        )
        monkeypatch.setenv("HF_TOKEN", "hf_from_the_environment")
        main(
            ["push", "--checkpoint", str(folder), "--repo-id", "me/weights", "--private", "--path-in-repo", "mnist-vae"]
        )
        pushed = tmp_path / "hub" / "me" / "weights" / "mnist-vae"
        assert sorted(p.name for p in pushed.iterdir()) == ["README.md", "config.json", "model.safetensors"]
        assert "Bearer hf_from_the_environment" in server.authorizations
        monkeypatch.setenv("VAE_DEMO_HUB_REPO", "me/weights")
        assert_same_weights(load_model("mnist-vae"), tiny_model)  # pulled back through hf_hub_download


def test_a_broken_checkpoint_is_never_pushed(tmp_path, tiny_model):
    from vae_demo.core.hub import push_checkpoint

    folder = write_checkpoint(tmp_path / "mine", tiny_model)
    (folder / "model.safetensors").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        push_checkpoint(folder, "me/weights")
