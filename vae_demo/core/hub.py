"""Resolve a model name to weights and load them: offline first, the Hub when asked.

Order: an explicit local folder; else, when ``VAE_DEMO_HUB_REPO`` names a Hub repo, that repo's
``NAME/config.json`` and ``NAME/model.safetensors`` through ``hf_hub_download`` (which respects
``HF_HUB_OFFLINE`` and ``HF_ENDPOINT``); else the bundled ``checkpoints/NAME`` (``VAE_DEMO_CHECKPOINT_DIR``
moves that folder). Any Hub failure (no network, missing file, corrupt weights) falls back to the bundled
copy with a warning.
Weights are read with safetensors only: nothing downloaded is ever unpickled.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from vae_demo.catalog import FAMILIES, MODELS, family_of_architecture
from vae_demo.core.device import pick_device

log = logging.getLogger(__name__)

BUNDLED_DIR = Path(os.environ.get("VAE_DEMO_CHECKPOINT_DIR") or Path(__file__).resolve().parents[2] / "checkpoints")
HUB_TIMEOUT_S = 1.5  # the app must fall back to bundled weights within 3 s when offline


class CheckpointError(RuntimeError):
    """A checkpoint folder that cannot be loaded; the message names the file."""


def download_from_hub(repo_id: str, name: str, revision: str | None = None) -> Path:
    """Fetch ``name/config.json`` and ``name/model.safetensors`` from a Hub repo into the HF cache."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url

    # One quick probe without retries: hf_hub_download backs off and retries for ~20 s when the
    # Hub is unreachable; after a failed probe only a cached copy is accepted.
    online = not constants.HF_HUB_OFFLINE
    if online:
        try:
            get_hf_file_metadata(hf_hub_url(repo_id, f"{name}/config.json", revision=revision), timeout=HUB_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - unreachable, unknown repo, missing file: all mean "use the cache"
            online = False
    paths = [
        hf_hub_download(
            repo_id,
            filename,
            subfolder=name,
            revision=revision,
            etag_timeout=HUB_TIMEOUT_S,
            local_files_only=not online,
        )
        for filename in ("config.json", "model.safetensors")
    ]
    return Path(paths[-1]).parent


def imported(name: str):
    """The object a catalog entry names as ``"module:attribute"``, importing its module."""
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def load_checkpoint(folder: str | Path, device: torch.device | str | None = None) -> torch.nn.Module:
    """Build the model ``folder/config.json`` describes and load ``folder/model.safetensors``.

    The config's ``"architecture"`` picks the family (``catalog.family_of_architecture``; none: a ``ConvVAE``);
    a family with a ``loader`` (the codec) loads the folder itself.
    """
    folder = Path(folder)
    config_path, weights_path = folder / "config.json", folder / "model.safetensors"
    for p in (config_path, weights_path):
        if not p.is_file():
            raise CheckpointError(f"{p} is missing: a checkpoint folder holds config.json and model.safetensors")
    try:
        raw = json.loads(config_path.read_text())
        family = FAMILIES[family_of_architecture(raw.get("architecture") if isinstance(raw, dict) else None)]
        config = None if family.loader else imported(family.config).from_dict(raw)
    except (ValueError, TypeError, AttributeError) as err:
        raise CheckpointError(f"{config_path} is not a valid model config: {err}") from None
    if family.loader:  # a HyperpriorCodec, always on the CPU: its bitstreams must decode the same everywhere
        try:
            return imported(family.loader)(folder)
        except (SafetensorError, OSError, ValueError, TypeError, RuntimeError) as err:
            kind = family.model.rpartition(":")[2]
            raise CheckpointError(f"{folder} is not a loadable {kind} checkpoint: {err}") from None
    try:
        state = load_file(weights_path)
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{weights_path} is corrupt or truncated and cannot be read: {err}") from None
    model = imported(family.model)(config)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"{weights_path} does not match {config_path}: {err}") from None
    if family.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model.to(device or pick_device()).eval()


def load_weights(model: torch.nn.Module, folder: str | Path, new_part: str | None = None) -> torch.nn.Module:
    """``folder/model.safetensors`` loaded into ``model`` (the same architecture): a later stage of a recipe
    starting from the checkpoint of the stage before. ``new_part``: a submodule the later stage adds, whose weights
    the checkpoint may lack (they keep their initialisation); any other missing or extra weight is an error."""
    missing, unexpected = model.load_state_dict(load_file(Path(folder) / "model.safetensors"), strict=False)
    missing = [k for k in missing if not (new_part and k.startswith(new_part + "."))]
    if missing or unexpected:
        raise CheckpointError(
            f"{folder} does not fit this model: missing {missing[:5]}, unexpected {unexpected[:5]} (weights)"
        )
    return model


def resolve_checkpoint(name: str, path: str | Path | None = None) -> Path:
    """The folder to load for ``name``; see the module docstring for the order."""
    if path is not None:
        return Path(path)
    repo_id = os.environ.get("VAE_DEMO_HUB_REPO")
    if repo_id:
        try:
            return download_from_hub(repo_id, name, os.environ.get("VAE_DEMO_HUB_REVISION"))
        except Exception as err:  # noqa: BLE001 - any Hub failure means: use the bundled copy
            log.warning("could not fetch %s from the Hub repo %s (%s); using the bundled weights", name, repo_id, err)
    return bundled_path(name)


def bundled_path(name: str) -> Path:
    if name not in MODELS:
        raise CheckpointError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return BUNDLED_DIR / name


def load_model(name: str, path: str | Path | None = None, device: torch.device | str | None = None) -> torch.nn.Module:
    """Load a model by name (or from ``path``), falling back to the bundled copy if the Hub one is bad."""
    folder = resolve_checkpoint(name, path)
    try:
        return load_checkpoint(folder, device)
    except CheckpointError as err:
        if path is not None or folder == bundled_path(name):
            raise
        log.warning("%s; using the bundled weights", err)
        return load_checkpoint(bundled_path(name), device)


PUSHED_FILES = ["config.json", "*.safetensors", "README.md", "training_summary.json"]  # never trainer_state.pt


def push_checkpoint(
    folder: str | Path,
    repo_id: str,
    private: bool = False,
    path_in_repo: str | None = None,
    revision: str | None = None,
) -> str:
    """Upload a checkpoint folder (config, safetensors weights, model card) to a Hub repo; returns the commit URL.

    The folder is loaded first, so a broken checkpoint is never published. ``path_in_repo`` defaults to
    the model's name, the layout ``VAE_DEMO_HUB_REPO`` expects (``REPO/NAME/config.json``); pass ""
    for the repo root, the layout ``Model.from_pretrained(repo_id)`` reads. The token comes from the
    environment (``HF_TOKEN``) or ``huggingface-cli login``, never from a file in this repository.
    """
    from huggingface_hub import HfApi

    model = load_checkpoint(folder, "cpu")
    target = model.config.name if path_in_repo is None else path_in_repo
    api = HfApi(token=os.environ.get("HF_TOKEN") or None)
    api.create_repo(repo_id, private=private, exist_ok=True)
    info = api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        path_in_repo=target or None,
        revision=revision,
        allow_patterns=PUSHED_FILES,
        commit_message=f"Upload {model.config.name} from vae-demo",
    )
    return str(info)
