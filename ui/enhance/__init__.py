"""The Enhance tab: fix one problem of a photo with the restoration VAE, beside the classical method.

``layout.create_enhance_tab`` builds it; ``endpoints`` holds ``/enhance`` and ``/touch_up`` over
``vae_demo.demo.photos``."""

from ui.enhance.layout import create_enhance_tab

__all__ = ["create_enhance_tab"]
