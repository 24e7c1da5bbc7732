"""vae-demo's core: convolutional VAEs, their training, weight loading and inference. No Gradio."""

from vae_demo.core.hub import load_model
from vae_demo.generative.model import ConvVAE, VAEConfig

__all__ = ["ConvVAE", "VAEConfig", "load_model"]
