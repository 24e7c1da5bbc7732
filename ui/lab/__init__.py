"""The Lab tab (for a class): a VAE trained live on 8x8 digits, the latent explorer, a class-conditional VAE that
writes any digit in your style, the ELBO of one image in nats and bits, and the layers of a ladder VAE.

``layout.create_lab_tab`` builds it; ``endpoints`` holds ``/train_live``, ``/locate``, ``/decode_point``,
``/conditional``, ``/analogies``, ``/elbo``, ``/layer_samples`` and ``/layers_of_digit`` over
``vae_demo.demo.lab``, ``vae_demo.demo.styles`` and ``vae_demo.demo.layers``."""

from ui.lab.layout import create_lab_tab

__all__ = ["create_lab_tab"]
