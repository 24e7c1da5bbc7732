"""The app's actions as plain functions (no Gradio): one module per family of tabs, the examples and the output
folder. Two modules serve app.py and import Gradio: ``endpoints`` (the API's functions) and ``gradio_support``."""
