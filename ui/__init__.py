"""The Gradio layer: one package per tab (its layout and its endpoints), the widgets and settings they share, and
what the pinned Gradio version needs."""
