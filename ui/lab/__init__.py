"""The Lab tab (for a class): a VAE trained live on 8x8 digits, the latent explorer, a class-conditional VAE that
writes any digit in your style, and the ELBO of one image in nats and bits.

``layout.create_lab_tab`` builds it; ``endpoints`` holds ``/train_live``, ``/locate``, ``/decode_point``,
``/conditional``, ``/analogies`` and ``/elbo`` over ``vae_demo.demo.lab`` and ``vae_demo.demo.styles``."""

from ui.lab.layout import create_lab_tab

__all__ = ["create_lab_tab"]
