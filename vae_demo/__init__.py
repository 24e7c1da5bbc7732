"""vae-demo's core: convolutional VAEs, their training, weight loading and inference. No Gradio."""

from .hub import load_model
from .model import ConvVAE, VAEConfig

__all__ = ["ConvVAE", "VAEConfig", "load_model"]
