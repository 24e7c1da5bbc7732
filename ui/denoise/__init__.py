"""The Denoise tab: a photo's noise (added, or its own) removed by the restoration VAE, and *Learn from this
photo alone*, a DivNoising VAE fitted live to the noisy photo.

``layout.create_denoise_tab`` builds it; ``endpoints`` holds ``/denoise`` over ``vae_demo.demo.photos`` and
``/fit_photo`` (with Stop) over ``vae_demo.demo.fit_photo``."""

from ui.denoise.layout import create_denoise_tab

__all__ = ["create_denoise_tab"]
