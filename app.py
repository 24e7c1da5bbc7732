"""vae-demo: a Gradio app over the ``vae_demo`` core.

Run ``python app.py`` and open http://127.0.0.1:7860 (``VAE_DEMO_MCP=1`` also serves the tools over MCP).
``build_demo()`` returns the Blocks, one ``create_<tab>()`` per tab; ``app.demo`` builds it on first access, so
tests can ``from app import demo``. Importing this module builds nothing, writes nothing and does not import
torch: the endpoints (``ui.endpoints``) import the models' code on first use, so the page is served
first while a background thread loads torch and the models.
"""

from __future__ import annotations

import ui.gradio_startup  # noqa: F401 - before Gradio: its import then skips rewriting its type stubs (2 s)

# isort: split
import functools
import logging
import os
import signal
import sys
import threading

import gradio as gr

from ui import endpoints
from ui.drawing import fill_page_defaults
from ui.generative_tabs import create_interpolation_tab, create_reconstruct_tab, create_sampling_tab, examples_for
from ui.gradio_support import (
    CSS,
    delete_cache_setting,
    log,
    mcp_setting,
    patch_gradio,
    quiet_inputs,
    set_queue_size,
    trim_freed_memory,
)
from ui.lab import create_lab_tab
from ui.photo_tabs import create_compress_tab, create_enhance_tab, create_photo_denoise_tab
from ui.settings import (
    DEFAULT_MODEL,
    HIDDEN,
    LIGHT_QUEUE,
    MAX_FILE_SIZE,
    MAX_QUEUE,
    example_files,
    model_notes,
)

# --- the page: one create_<tab>() per tab (ui/photo_tabs.py, ui/generative_tabs.py, ui/lab.py) ------


def _quiet_every_input(demo: gr.Blocks) -> None:
    """Bad input to any event becomes one sentence in the page and one line in the log (not a traceback)."""
    seen: set[int] = set()
    for fn in demo.fns.values():
        for component in fn.inputs:
            if id(component) not in seen and isinstance(component, gr.components.Component):
                seen.add(id(component))
                quiet_inputs(component, image=isinstance(component, (gr.Image, gr.ImageEditor, gr.ImageSlider)))


def build_demo() -> gr.Blocks:
    """The whole app, queued but not launched (Gradio's cache fix installed, examples written, no torch)."""
    patch_gradio()
    with gr.Blocks(title="vae-demo: what a VAE can do", delete_cache=delete_cache_setting()) as demo:
        gr.Markdown(
            "# vae-demo\nWhat variational autoencoders can do for images: enhance and denoise photos with "
            "a restoration VAE, compress them with a VAE codec (beside JPEG and WebP), sample new digits and "
            "faces, walk between two images in latent space. "
            "All models are small, bundled with the app and run on a CPU."
        )
        create_enhance_tab(demo, endpoints.enhance, endpoints.touch_up)
        create_photo_denoise_tab(demo, endpoints.denoise)
        create_compress_tab(demo, endpoints.compress, endpoints.decompress)
        with gr.Tab("Digits & faces"):
            with gr.Row(equal_height=True):
                model = gr.Dropdown(
                    list(model_notes()), value=DEFAULT_MODEL, label="Generative model", scale=1, elem_id="model"
                )
                gr.Markdown(
                    "\n".join(f"- **{name}**: {note}" for name, note in model_notes().items()),
                    scale=2,
                    elem_id="model-notes",
                )
            with gr.Tabs():
                sampling = create_sampling_tab(demo, model, endpoints.sample, endpoints.traverse, endpoints.manifold)
                interp = create_interpolation_tab(demo, model, endpoints.interpolate)
                den = create_reconstruct_tab(demo, model, endpoints.reconstruct)
        model.change(
            examples_for,
            model,
            [interp["a"], interp["b"], den["image"], sampling["dim"], *interp["examples"], *den["examples"]],
            api_name="examples",
            **HIDDEN,
            **LIGHT_QUEUE,
        )
        create_lab_tab(demo, LIGHT_QUEUE, example_files())
        fill_page_defaults(demo)
    _quiet_every_input(demo)
    return set_queue_size(demo, MAX_QUEUE)


@functools.cache
def _demo() -> gr.Blocks:
    return build_demo()


def __getattr__(name: str):
    """``app.demo`` (built on first access) and ``app.EXAMPLES`` (written on first access)."""
    if name == "demo":
        return _demo()
    if name == "EXAMPLES":
        return example_files()
    raise AttributeError(f"module 'app' has no attribute {name!r}")


def main() -> None:
    """Serve the app on 127.0.0.1 (``GRADIO_SERVER_NAME`` says otherwise) until Ctrl-C or SIGTERM."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    trim_freed_memory()  # memory freed by finished requests goes back to the system
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # close the server: Gradio's cache and ours go
    demo = _demo()
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        share=False,
        max_file_size=MAX_FILE_SIZE,
        theme=gr.themes.Soft(),
        css=CSS,
        mcp_server=mcp_setting(),
        prevent_thread_lock=True,
    )
    # Started only now: started before build_demo(), its imports (torch, torchvision) delayed the page by half
    # and did not bring the first /sample any sooner (2 busy cores).
    threading.Thread(target=endpoints.warm_up, name="warm-up", daemon=True).start()
    demo.block_thread()


if __name__ == "__main__":
    main()
