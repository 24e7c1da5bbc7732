"""The app's actions as plain functions (no Gradio): one module per family of tabs, each action returning plain
values or one result dataclass; what they share (``common``), the examples and the output folder. The Gradio
endpoints over them live in ``ui/<tab>/endpoints.py``."""
