"""Image inputs the page may set, and canvases to draw on: what an input shows is what its event sends.

Why not one ImageEditor per input: in Gradio 6.31 the page refreshes every component's value whenever any event's
status changes (``update_loading_stati_state`` -> ``update_state`` -> ``get_data``), and an ImageEditor without
strokes answers ``get_data`` by downloading and re-uploading the picture it held when asked. When an example
click or a model change sets a new picture meanwhile, that late answer writes the old picture back: the canvas
shows the new one, the request carries the old one (and the re-uploads repeat with every status change). So:

- every model input is a ``gr.Image`` (uploads, examples and model changes write into it; its ``get_data`` is
  the value it holds, nothing is fetched back);
- drawing happens on a ``gr.Sketchpad`` that only the person writes to, and a button copies the drawing into an
  input (``copy_drawing``): the input then shows, and sends, exactly the drawing.
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from ui.gradio_support import user_errors

HIDDEN = {"api_visibility": "private"}
BLANK = "The canvas is empty: draw something first (dark strokes on the light canvas)."


def image_input(label: str, value: str | None, elem_id: str, height: int = 240) -> gr.Image:
    """A picture input for a model: upload, paste, an example, or a drawing copied in.

    The page shows ``value`` from its first load on (``fill_page_defaults``); the component itself starts empty,
    so the API's default is None, which the endpoints read as their model's example (a file on this server is no
    default a client elsewhere could send, and Gradio would document it by the URL of its own bus.png).
    """
    image = gr.Image(
        value=None,
        label=label,
        type="filepath",
        format="png",
        sources=["upload", "clipboard"],
        height=height,
        elem_id=elem_id,
    )
    image.page_default = value
    return image


def fill_page_defaults(demo: gr.Blocks) -> None:
    """One page-load event that shows every ``image_input``'s picture (see there); call it once all tabs are built."""
    images = [b for b in demo.blocks.values() if getattr(b, "page_default", None)]
    if not images:
        return
    paths = [b.page_default for b in images]
    demo.load(
        lambda: paths if len(paths) > 1 else paths[0], None, images, api_name="show_inputs", queue=False, **HIDDEN
    )


def canvas(elem_id: str, label: str = "Draw here") -> gr.Sketchpad:
    """A white square canvas, ready for the brush, that the server never writes to (see the module docstring)."""
    from PIL import Image

    return gr.Sketchpad(
        value={"background": Image.new("RGB", (280, 280), "white"), "layers": [], "composite": None},
        label=label,
        type="filepath",
        format="png",
        brush=gr.Brush(colors=["#000000"], default_size=14, color_mode="fixed"),
        canvas_size=(280, 280),
        height=320,
        layers=False,
        transforms=(),
        elem_id=elem_id,
    )


def drawing_of(value) -> str:
    """The path of what was drawn on a canvas (strokes over white); a sentence when nothing was drawn."""
    from PIL import Image

    path = None
    if isinstance(value, dict):
        path = value.get("composite") or value.get("background")
    elif isinstance(value, str):
        path = value
    if not path:
        raise ValueError(BLANK)
    with Image.open(path) as img:
        grey = np.asarray(img.convert("L"))
    if grey.max() - grey.min() < 16:  # one flat tone: no stroke
        raise ValueError(BLANK)
    return path


@user_errors
def use_drawing(value) -> str:
    """Copy a canvas's drawing into an image input."""
    return drawing_of(value)


def copy_drawing(button: gr.Button, drawing: gr.Sketchpad, target: gr.Image, api_name: str, queue: dict):
    """``button`` copies the drawing into ``target`` (a private event); returns the event, for ``.then``."""
    return button.click(use_drawing, drawing, target, api_name=api_name, **HIDDEN, **queue)
