"""What the app needs from Gradio beyond the tabs' widgets: the version check, a fix to Gradio's image cache,
readable and quiet user errors, what every endpoint shares (``gpu``, ``PROGRESS``, ``editor_image``), first views
computed once, the launch options read from the environment, the warm-up, and a thread that hands the server's
freed memory back to the system.

Nothing here runs at import: ``build_demo()`` in app.py calls ``patch_gradio()`` and the wrappers.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from gradio import processing_utils
from gradio import utils as gradio_utils

from ui.gradio_startup import PINNED_GRADIO  # the version the patch and the API details below were written against

log = logging.getLogger("vae_demo.app")
PROGRESS = gr.Progress()  # the default that makes Gradio pass a progress bar (it tracks each event by context)
# Pictures whose edges matter (strips, grids, plots with a title): Gradio 6 floats an image's label and its buttons
# over the picture's top corners, so these get room above the picture for them (launch(css=CSS)).
LABEL_ABOVE = ["label-above"]
CSS = ".label-above .image-container { padding-top: 2.6rem; }"
NOT_AN_IMAGE = (
    "That file could not be read as an image (it may be damaged, empty, far too large, or not an "
    "image at all). Please upload a PNG, JPEG, GIF, BMP, TIFF or WebP picture."
)


try:  # ZeroGPU on Hugging Face Spaces: a GPU is attached only while a decorated function runs
    import spaces

    gpu = spaces.GPU
except ImportError:  # anywhere else the decorator does nothing

    def gpu(fn):
        return fn


def editor_image(value):
    """The picture in an ImageEditor: what was drawn over what was uploaded (None when empty)."""
    if value is None or isinstance(value, str):
        return value
    return value.get("composite") or value.get("background")


def output_image(label: str, elem_id: str | None = None, label_above: bool = True, **kwargs) -> gr.Image:
    """A picture the page shows, as PNG: not an input (no upload, webcam or paste, even where an event reads it
    back), with its label above the picture (``LABEL_ABOVE``) unless ``label_above`` is False."""
    classes = LABEL_ABOVE if label_above else None
    return gr.Image(label=label, format="png", interactive=False, elem_id=elem_id, elem_classes=classes, **kwargs)


def choice_radio(choices: dict[str, str], value: str, label: str, elem_id: str) -> gr.Radio:
    """A radio over ``choices`` (key -> label, e.g. a catalog's): it shows the labels and sends the keys."""
    return gr.Radio([(v, k) for k, v in choices.items()], value=value, label=label, elem_id=elem_id)


def gradio_version_ok(version: str = gr.__version__) -> bool:
    """True for the pinned Gradio; otherwise log one warning saying what is skipped."""
    if version.startswith(PINNED_GRADIO):
        return True
    log.warning(
        "vae-demo is pinned to Gradio %sx (requirements.txt) but Gradio %s is installed: the cache fix "
        "for identical pictures is not applied and the API may differ. pip install gradio==6.31.0",
        PINNED_GRADIO,
        version,
    )
    return False


def save_pil_to_cache_atomically(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """Gradio's ``save_pil_to_cache``, but a cached file is never rewritten in place.

    Gradio 6.31 names a cached output after the hash of its bytes and rewrites that file on every call.
    When two people get the same picture (the same seed), the second rewrite truncates the file while
    the first person's browser is still downloading it, and that download fails ("peer closed connection
    without sending complete message body"; 6 of 262 requests in ``benchmarks/load.py --same-inputs``).
    Here an existing copy is reused (its ctime renewed, so ``delete_cache`` ages it from its latest use), and
    a new one is written under a temporary name and renamed.
    """
    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    try:  # reused: a same-times utime renews the ctime by which delete_cache ages files, the bytes stay as they are
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    except FileNotFoundError:  # new, or deleted by delete_cache meanwhile: written below
        pass
    if not path.exists():
        fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(staging, path)
    return str(path)


def patch_gradio() -> None:
    """Install the cache fix on the pinned Gradio (idempotent); skipped, with a warning, on other versions."""
    if gradio_version_ok():
        processing_utils.save_pil_to_cache = save_pil_to_cache_atomically
        # Gradio switches matplotlib's backend around every event (utils.MatplotlibBackendMananger), which imports
        # pyplot in the event loop's thread; a worker drawing its first figure at that moment imports pyplot too, and
        # one of the two gets a half-initialised module ("partially initialized module 'matplotlib.pyplot'", seen
        # when the first views of several plots ran together). The app draws with Agg only: no switching.
        gradio_utils.MatplotlibBackendMananger = contextlib.nullcontext


def warm_up() -> None:
    """Import torch and load the default models, so the first click does not wait for them."""
    try:
        from vae_demo.catalog import DEFAULT_GENERATIVE
        from vae_demo.demo import generative  # torch: the page is served first; the light path first

        generative.sample_grid(DEFAULT_GENERATIVE, 1)
        from vae_demo.demo import compress, photos  # then the photo tabs' heavier imports (CompressAI, scikit-image)

        for row in (photos.problems.problem("noise"), photos.problems.noise("gaussian")):  # the tabs' first views
            photos.get_restorer(row.model)
        compress.get_codec()
    except Exception:  # noqa: BLE001 - the first request will say what is wrong
        log.exception("warm-up failed")


def trim_freed_memory(every_s: float = 10.0) -> threading.Thread | None:
    """A daemon thread that hands memory freed by finished requests back to the system every ``every_s``
    seconds (glibc's ``malloc_trim``: freed pages inside the heap too, not only at its top). None without glibc."""
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None

    def trim() -> None:
        while True:
            time.sleep(every_s)
            libc.malloc_trim(0)

    thread = threading.Thread(target=trim, name="malloc-trim", daemon=True)
    thread.start()
    return thread


def set_queue_size(demo: gr.Blocks, max_size: int) -> gr.Blocks:
    """``demo.queue(max_size=max_size)`` without building the FastAPI app again: on Gradio 6.31, Blocks() and
    its ``with`` block have each built it and ``launch()`` builds it once more, so ``queue()`` would add a
    fourth build (about 0.4 s of start-up on 2 cores). Other versions: ``queue()``."""
    queue = getattr(demo, "_queue", None)
    if gr.__version__.startswith(PINNED_GRADIO) and hasattr(queue, "max_size"):
        queue.max_size = max_size
        return demo
    return demo.queue(max_size=max_size)


def user_error(message: str, title: str, where: str) -> gr.Error:
    """A gr.Error for the page that Gradio does not print as a traceback; logged here as one line."""
    log.info("user error in %s: %s", where, message)
    return gr.Error(message, title=title, print_exception=False)


def user_errors(fn: Callable) -> Callable:
    """Turn problems with the input (ValueError, ImageError, CheckpointError) into a message in the page.

    They are logged as one line. Anything else (a bug) keeps its traceback in the log and still reaches
    the page as a sentence.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error as err:
            if err.print_exception:
                raise user_error(err.message, err.title, f"/{fn.__name__}") from None
            raise
        except ValueError as err:
            raise user_error(str(err), "Cannot do that", f"/{fn.__name__}") from None
        except (RuntimeError, OSError) as err:
            if type(err).__name__ != "CheckpointError":
                log.exception("/%s failed", fn.__name__)
            raise user_error(str(err), "Cannot do that", f"/{fn.__name__}") from None

    return wrapper


def quiet_inputs(component: gr.components.Component, image: bool = False) -> gr.components.Component:
    """Make a component's input errors one log line and, for images, one sentence for any undecodable upload.

    Gradio raises gr.Error for out-of-range numbers and unknown choices and prints its traceback; an image
    that PIL cannot decode raises whatever PIL raised, and a slider or number sent a word raises TypeError.
    All become a gr.Error that is not printed.
    """
    decode = component.preprocess
    where = f"the input {component.label!r}"

    def preprocess(payload):
        try:
            return decode(payload)
        except gr.Error as err:
            raise user_error(err.message, err.title, where) from None
        except Exception as err:  # whatever PIL raised, the user needs the same sentence
            if image:
                raise user_error(NOT_AN_IMAGE, "Not an image", where) from None
            if isinstance(component, (gr.Number, gr.Slider)) and isinstance(err, (TypeError, ValueError)):
                shown = repr(payload)[:40]
                raise user_error(f"{component.label} must be a number, got {shown}.", "Not a number", where) from None
            raise

    component.preprocess = preprocess
    return component


def quiet_every_input(demo: gr.Blocks) -> None:
    """Bad input to any event becomes one sentence in the page and one line in the log (not a traceback)."""
    seen: set[int] = set()
    for fn in demo.fns.values():
        for component in fn.inputs:
            if id(component) not in seen and isinstance(component, gr.components.Component):
                seen.add(id(component))
                quiet_inputs(component, image=isinstance(component, (gr.Image, gr.ImageEditor, gr.ImageSlider)))


def same_for_everyone(fn: Callable) -> Callable:
    """For page-load and model-change events: every visitor's first view has the same inputs, so each set
    of inputs is computed once (a class opening the page together costs one computation, not thirty)."""
    remembered = functools.lru_cache(maxsize=8)(fn)

    def first_view(*args):
        try:
            hash(args)
        except TypeError:  # an input that cannot be a key (an edited image): compute it
            return fn(*args)
        result = remembered(*args)
        if not _files_exist(result):  # a remembered download was pruned from the output folder: compute again
            remembered.cache_clear()
            result = remembered(*args)
        return result

    return first_view


def _files_exist(result) -> bool:
    """False when an output of ``result`` is the absolute path of a file that is no longer there."""
    values = result if isinstance(result, (tuple, list)) else (result,)
    return all(os.path.isfile(v) for v in values if isinstance(v, str) and os.path.isabs(v))


def delete_cache_setting() -> tuple[int, int] | None:
    """``gr.Blocks(delete_cache=(every, age))`` in seconds from ``VAE_DEMO_DELETE_CACHE`` ("300,1800";
    "off" keeps every file until the server stops)."""
    raw = os.environ.get("VAE_DEMO_DELETE_CACHE", "300,1800").strip().lower()
    if raw in ("", "0", "off", "none"):
        return None
    every, age = (int(float(v)) for v in raw.split(","))
    return max(1, every), max(1, age)


def mcp_setting() -> bool:
    """Whether to serve the MCP endpoint: asked for by ``VAE_DEMO_MCP=1`` (or ``GRADIO_MCP_SERVER=true``)
    and possible (the ``mcp`` package, from ``pip install "gradio[mcp]"``). Says in one line when it is not."""
    asked = any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes") for v in ("VAE_DEMO_MCP", "GRADIO_MCP_SERVER")
    )
    if asked and importlib.util.find_spec("mcp") is None:
        print('MCP server off: the mcp package is not installed (pip install "gradio[mcp]==6.31.0").', flush=True)
        return False
    return asked
