"""vae-demo: a Gradio app over the ``vae_demo`` core.

Run ``python app.py`` and open http://127.0.0.1:7860 (``VAE_DEMO_MCP=1`` also serves the tools over MCP).
``build_demo()`` assembles the Blocks from the tabs, one ``create_<tab>_tab()`` per folder of ``ui/``, in order;
``app.demo`` builds it on first access, so tests can ``from app import demo``. Importing this module builds
nothing, writes nothing and does not import torch: each tab's endpoints import the models' code on first use,
so the page is served first while a background thread loads torch and the models (``warm_up``).
"""

from __future__ import annotations

import ui.gradio_startup  # noqa: F401 - before Gradio: its import then skips rewriting its type stubs (2 s)

if __name__ == "__main__":  # before Gradio's import: the Digits & faces process loads torch beside it
    from vae_demo.demo import side_process

    side_process.start()

# isort: split
import functools
import logging
import os
import signal
import sys
import threading

import gradio as gr

from ui.compress import create_compress_tab
from ui.denoise import create_denoise_tab
from ui.drawing import fill_page_defaults
from ui.enhance import create_enhance_tab
from ui.generative import create_generative_tab
from ui.gradio_support import (
    CSS,
    delete_cache_setting,
    log,
    mcp_setting,
    patch_gradio,
    quiet_every_input,
    set_queue_size,
    trim_freed_memory,
    warm_up,
)
from ui.lab import create_lab_tab
from ui.settings import MAX_FILE_SIZE, MAX_QUEUE, example_files


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
        create_enhance_tab(demo)
        create_denoise_tab(demo)
        create_compress_tab(demo)
        create_generative_tab(demo)
        create_lab_tab(demo)
        fill_page_defaults(demo)
    quiet_every_input(demo)
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
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    demo.block_thread()


if __name__ == "__main__":
    main()
