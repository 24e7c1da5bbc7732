"""The Digits & faces tab: Sampling, Latent interpolation and Reconstruct under one model dropdown.

One folder for the three: they share the dropdown, the examples that follow it (digits or faces) and the
event that sets them when the model changes. ``layout.create_generative_tab`` builds them; ``endpoints``
holds ``/sample``, ``/traverse``, ``/manifold``, ``/interpolate`` and ``/reconstruct`` over
``vae_demo.demo.generative``."""

from ui.generative.layout import create_generative_tab

__all__ = ["create_generative_tab"]
