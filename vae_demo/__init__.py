"""vae-demo's core: convolutional VAEs, their training, weight loading and inference. No Gradio.

``load_model``, ``ConvVAE`` and ``VAEConfig`` are imported on first use, so importing a light submodule
(``vae_demo.demo.examples``, ``vae_demo.demo.outputs``) does not import torch: the app serves its page first.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__all__ = ["ConvVAE", "VAEConfig", "load_model"]
_LAZY = {
    "load_model": "vae_demo.core.hub",
    "ConvVAE": "vae_demo.generative.model",
    "VAEConfig": "vae_demo.generative.model",
}

if TYPE_CHECKING:
    from vae_demo.core.hub import load_model
    from vae_demo.generative.model import ConvVAE, VAEConfig


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vae_demo' has no attribute {name!r}")
