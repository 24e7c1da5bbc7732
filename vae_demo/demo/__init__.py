"""The app's actions as plain functions (no Gradio): one module per family of tabs, and the examples."""
