"""The Gradio layer: the endpoints app.py wires to its tabs, and what the pinned Gradio version needs."""
