"""vae-demo: a Gradio app over the ``vae_demo`` core.

Run ``python app.py`` and open http://127.0.0.1:7860. Every tab calls a plain function from
``vae_demo.tasks``; nothing heavy happens at import, so tests can ``from app import demo``.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import gradio as gr

from vae_demo import tasks
from vae_demo.degradations import NOISE_TYPES
from vae_demo.examples import digit_image, face_image
from vae_demo.hub import MODEL_NAMES

MAX_FILE_SIZE = "20mb"
DEFAULT_MODEL = "mnist-vae"
NOISE_LABELS = {"gaussian": "Gaussian noise", "salt_and_pepper": "Salt and pepper", "mask": "Masked square"}
MODEL_NOTES = {
    "mnist-vae": "Handwritten digits, 32-D latent.",
    "mnist-vae-2d": "Handwritten digits, 2-D latent: the whole latent space fits in one picture.",
    "faces-vae": "Olivetti faces (64x64 grey), 32-D latent; tested on people it never saw.",
}


def example_files() -> dict[str, str]:
    """Clickable examples, made in code (typed digits, scikit-image's astronaut) and saved as PNGs."""
    folder = Path(tempfile.mkdtemp(prefix="vae-demo-examples-"))
    images = {f"digit-{d}": digit_image(d) for d in (0, 2, 3, 5, 7, 8)} | {"astronaut": face_image()}
    for name, img in images.items():
        img.save(folder / f"{name}.png")
    return {name: str(folder / f"{name}.png") for name in images}


EXAMPLES = example_files()


def user_errors(fn):
    """Show problems with the input as a message in the page (gr.Error), not as a stack trace."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, RuntimeError, OSError) as err:
            raise gr.Error(str(err), title="Cannot do that") from None

    return wrapper


def readable_upload_errors(component: gr.ImageEditor) -> gr.ImageEditor:
    """Make a component's undecodable uploads give a clear message instead of a generic error."""
    decode = component.preprocess

    def preprocess(payload):
        try:
            return decode(payload)
        except gr.Error:
            raise
        except Exception:  # noqa: BLE001 - whatever PIL raised, the user needs the same sentence
            raise gr.Error(
                "That file could not be read as an image (it may be damaged, empty, far too large, or not an "
                "image at all). Please upload a PNG, JPEG, GIF, BMP, TIFF or WebP picture.",
                title="Not an image",
            ) from None

    component.preprocess = preprocess
    return component


def editor_image(value):
    """The picture in an ImageEditor: what was drawn over what was uploaded (None when empty)."""
    if value is None or isinstance(value, str):
        return value
    return value.get("composite") or value.get("background")


# --- plain functions wired to the widgets ------------------------------------------------------
@user_errors
def sample(model_name: str, n: int, temperature: float, seed: int, progress=gr.Progress()):
    progress(0, desc="Loading the model")
    return tasks.sample_grid(model_name, n, temperature, seed)


@user_errors
def traverse(model_name: str, seed: int, dim: int, span: float, steps: int):
    return tasks.traversal(model_name, seed, dim, span, steps)


@user_errors
def manifold(n: int, progress=gr.Progress()):
    progress(0, desc="Decoding the latent grid")
    return tasks.manifold(n)


@user_errors
def interpolate(model_name: str, image_a, image_b, steps: int, method: str, progress=gr.Progress()):
    progress(0, desc="Encoding the two images")
    strip, gif = tasks.interpolation(model_name, editor_image(image_a), editor_image(image_b), steps, method)
    return strip, gif, gif


@user_errors
def denoise(model_name: str, image, noise: str, level: float, k: int, seed: int, progress=gr.Progress()):
    progress(0, desc="Corrupting and reconstructing")
    return tasks.denoise(model_name, editor_image(image), noise, level, k, seed)


@user_errors
def examples_for(model_name: str):
    """New default images (and latent-dimension range) when the model changes."""
    a, b = tasks.example_pair(model_name)
    latent_dim = tasks.get_model(model_name).config.latent_dim
    return a, b, tasks.example_single(model_name), gr.Slider(maximum=latent_dim - 1, value=0)


# --- one function per tab ---------------------------------------------------------------------
def create_sampling_tab(demo: gr.Blocks, model: gr.Dropdown, sample_fn, traverse_fn, manifold_fn) -> dict:
    with gr.Tab("Sampling"):
        gr.Markdown("Draw z from the prior N(0, T²I) and decode it. Lower the temperature T for "
                    "cleaner, more typical images; the same seed always gives the same grid.")
        with gr.Row():
            with gr.Column(scale=1):
                n = gr.Slider(1, 256, value=64, step=1, label="Number of samples")
                temperature = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Temperature")
                seed = gr.Number(0, precision=0, minimum=0, label="Seed")
                button = gr.Button("Sample", variant="primary")
            grid = gr.Image(label="Samples from the prior", format="png", scale=2)
        button.click(sample_fn, [model, n, temperature, seed], grid, api_name="sample")
        gr.on([demo.load, model.change], sample_fn, [model, n, temperature, seed], grid, api_name="show_samples")

        gr.Markdown("### Latent traversal\nTake the prior sample of a seed and move along one latent "
                    "dimension from -span to +span (other dimensions fixed).")
        with gr.Row():
            with gr.Column(scale=1):
                t_seed = gr.Number(0, precision=0, minimum=0, label="Seed of the starting sample")
                dim = gr.Slider(0, 31, value=0, step=1, label="Latent dimension")
                span = gr.Slider(0.5, 5.0, value=3.0, step=0.5, label="Span (standard deviations)")
                t_steps = gr.Slider(3, 21, value=11, step=1, label="Steps")
                t_button = gr.Button("Traverse")
            row = gr.Image(label="One dimension, left to right", format="png", scale=2)
        t_button.click(traverse_fn, [model, t_seed, dim, span, t_steps], row, api_name="traverse")
        gr.on([demo.load, model.change], traverse_fn, [model, t_seed, dim, span, t_steps], row,
              api_name="show_traversal")

        gr.Markdown("### The 2-D latent space (mnist-vae-2d)\nLeft: decoded images on a grid of "
                    "z = Φ⁻¹(u) (Kingma & Welling 2014, fig. 4). Right: where the 10,000 test digits land.")
        with gr.Row():
            grid_n = gr.Slider(5, 30, value=20, step=1, label="Grid size")
            m_button = gr.Button("Draw the manifold")
        with gr.Row():
            manifold_img = gr.Image(label="Latent manifold", format="png")
            scatter_img = gr.Image(label="Test digits by class", format="png")
        m_button.click(manifold_fn, grid_n, [manifold_img, scatter_img], api_name="manifold")
        demo.load(manifold_fn, grid_n, [manifold_img, scatter_img], api_name="show_manifold")
    return {"grid": grid, "row": row, "manifold": manifold_img, "scatter": scatter_img, "dim": dim}


def _endpoint_editor(label: str, value) -> gr.ImageEditor:
    return readable_upload_errors(gr.ImageEditor(
        value=value, label=label, type="filepath", format="png", sources=["upload", "clipboard"],
        brush=gr.Brush(colors=["#000000", "#ffffff"], default_size=12), canvas_size=(280, 280),
        height=320, layers=False,
    ))


def create_interpolation_tab(demo: gr.Blocks, model: gr.Dropdown, interpolate_fn) -> dict:
    with gr.Tab("Latent interpolation"):
        gr.Markdown("Encode two images, walk in a straight line (linear) or along the sphere "
                    "(spherical) between their encodings, and decode every step. Upload an image or "
                    "draw on the canvas (for digits: dark strokes on a light canvas).")
        a, b = tasks.example_pair(DEFAULT_MODEL)
        with gr.Row():
            image_a = _endpoint_editor("Start", a)
            image_b = _endpoint_editor("End", b)
        gr.Examples([[EXAMPLES[f"digit-{a}"], EXAMPLES[f"digit-{b}"]] for a, b in ((3, 8), (0, 7), (2, 5))],
                    [image_a, image_b], label="Example pairs (typed digits: the model redraws them by hand)")
        with gr.Row():
            steps = gr.Slider(2, 32, value=10, step=1, label="Steps")
            method = gr.Radio(["spherical", "linear"], value="spherical", label="Path")
            button = gr.Button("Interpolate", variant="primary")
        strip = gr.Image(label="Path through latent space", format="png")
        with gr.Row():
            animation = gr.Image(label="Animation", type="filepath")
            download = gr.File(label="Download the GIF")
        outputs = [strip, animation, download]
        button.click(interpolate_fn, [model, image_a, image_b, steps, method], outputs, api_name="interpolate")
        # On load and when the model changes: the new model's example images (inputs left empty).
        gr.on([demo.load, model.change], lambda name, s, m: interpolate_fn(name, None, None, s, m),
              [model, steps, method], outputs, api_name="show_interpolation")
    return {"a": image_a, "b": image_b, "strip": strip, "animation": animation, "download": download}


def create_denoise_tab(demo: gr.Blocks, model: gr.Dropdown, denoise_fn) -> dict:
    with gr.Tab("Denoise / reconstruct"):
        gr.Markdown("Corrupt an image, then restore it two ways: encode and decode the posterior mean "
                    "(one pass), or search the latent space for the image that best explains the "
                    "corrupted one under the known noise model (latent fit). The heat map shows where "
                    "K posterior samples disagree: the model's uncertainty.")
        with gr.Row():
            with gr.Column(scale=1):
                image = _endpoint_editor("Clean image", tasks.example_single(DEFAULT_MODEL))
                gr.Examples([[EXAMPLES[name]] for name in ("digit-5", "digit-2", "digit-7", "astronaut")], [image],
                            label="Examples (the astronaut is for faces-vae)")
                noise = gr.Radio([(NOISE_LABELS[n], n) for n in NOISE_TYPES], value="gaussian", label="Corruption")
                level = gr.Slider(0.0, 1.0, value=0.3, step=0.01,
                                  label="Level (noise std / fraction of pixels / masked area)")
                k = gr.Slider(2, 64, value=16, step=1, label="Posterior samples K")
                seed = gr.Number(0, precision=0, minimum=0, label="Seed")
                button = gr.Button("Corrupt and reconstruct", variant="primary")
            with gr.Column(scale=2):
                panel = gr.Image(label="Clean | corrupted | VAE (encode, decode) | VAE + latent fit", format="png")
                spread = gr.Image(label="Per-pixel spread of K samples", format="png")
                metrics = gr.Dataframe(headers=["image", "PSNR (dB)", "SSIM"], label="Against the clean image")
        outputs = [panel, spread, metrics]
        button.click(denoise_fn, [model, image, noise, level, k, seed], outputs, api_name="denoise")
        gr.on([demo.load, model.change], lambda name, *rest: denoise_fn(name, None, *rest),
              [model, noise, level, k, seed], outputs, api_name="show_denoise")
    return {"image": image, "panel": panel, "spread": spread, "metrics": metrics}


with gr.Blocks(title="vae-demo: what a VAE can do") as demo:
    gr.Markdown("# vae-demo\nVariational autoencoders on digits and faces: sample from the prior, walk "
                "between two images in latent space, and restore corrupted images. The models are small "
                "convolutional VAEs bundled with the app, trained on MNIST and the Olivetti faces.")
    model = gr.Dropdown(list(MODEL_NAMES), value=DEFAULT_MODEL, label="Model",
                        info=" · ".join(f"{k}: {v}" for k, v in MODEL_NOTES.items()))
    sampling = create_sampling_tab(demo, model, sample, traverse, manifold)
    interp = create_interpolation_tab(demo, model, interpolate)
    den = create_denoise_tab(demo, model, denoise)

    model.change(examples_for, model, [interp["a"], interp["b"], den["image"], sampling["dim"]], api_name="examples")

if __name__ == "__main__":
    demo.queue(default_concurrency_limit=2, max_size=64).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        share=False,
        max_file_size=MAX_FILE_SIZE,
        theme=gr.themes.Soft(),
    )
