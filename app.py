"""vae-demo: a Gradio app over the ``vae_demo`` core.

Run ``python app.py`` and open http://127.0.0.1:7860 (``VAE_DEMO_MCP=1`` also serves the tools over MCP).
``build_demo()`` returns the Blocks, one ``create_<tab>()`` per tab; ``app.demo`` builds it on first access, so
tests can ``from app import demo``. Importing this module builds nothing, writes nothing and does not import
torch: the endpoints (``ui.endpoints``) import the models' code on first use, so the page is served
first while a background thread loads torch and the models.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

import gradio as gr
from gradio_client import handle_file
from PIL import Image

from ui import endpoints
from ui.drawing import canvas, copy_drawing, fill_page_defaults, image_input
from ui.gradio_support import (
    CSS,
    LABEL_ABOVE,
    delete_cache_setting,
    log,
    mcp_setting,
    patch_gradio,
    quiet_inputs,
    same_for_everyone,
    set_queue_size,
)
from ui.lab import create_lab_tab
from vae_demo.demo import outputs
from vae_demo.demo.examples import PHOTO_EXAMPLES, digit_image, face_image, is_face_model, skimage_data_path

MAX_FILE_SIZE = "20mb"
# Queueing, tuned with benchmarks/load.py (README, "Serving a class"). A photo takes about 1.8 s of the CPU,
# partly single-threaded (NLM, SSIM), so the photo events share one queue with 2 workers (1 worker: 15% fewer
# photos per minute); the digit and face models are small (10-90 ms for 64 samples), so their events share
# another queue and never wait behind a photo. The VAE_DEMO_* variables change these numbers.
PHOTO_QUEUE = {"concurrency_id": "photo", "concurrency_limit": int(os.environ.get("VAE_DEMO_PHOTO_WORKERS", "2"))}
# "Learn from this photo alone" trains for a minute or more on both cores: one at a time, in a queue of its own, so a
# class pressing it together waits in line while the other tabs keep answering.
FIT_QUEUE = {"concurrency_id": "fit", "concurrency_limit": int(os.environ.get("VAE_DEMO_FIT_WORKERS", "1"))}
LIGHT_QUEUE = {"concurrency_id": "light", "concurrency_limit": int(os.environ.get("VAE_DEMO_LIGHT_WORKERS", "2"))}
MAX_QUEUE = int(os.environ.get("VAE_DEMO_MAX_QUEUE", "256"))  # waiting events, all queues together
HIDDEN = {"api_visibility": "private"}  # first views and helpers: the page calls them, the API does not list them
# Written out so the page is built without importing torch; tests/test_app.py checks them against the core.
MODEL_NOTES = {  # keys: vae_demo.core.hub.GENERATIVE_MODELS
    "mnist-vae": "Handwritten digits, 32-D latent.",
    "mnist-vae-2d": "Handwritten digits, 2-D latent: the whole latent space fits in one picture.",
    "faces-vae": "Olivetti faces (64x64 grey), 64-D latent; tested on people it never saw.",
}
NOISE_LABELS = {"gaussian": "Gaussian noise", "salt_and_pepper": "Salt and pepper", "mask": "Masked square"}
PROBLEM_LABELS = {
    "auto": "Auto (a phone photo: blur, noise, JPEG)",
    "noise": "Noise",
    "blur": "Blur",
    "jpeg": "JPEG blocks",
    "x2": "Low resolution x2",
    "x4": "Low resolution x4",
    "lowlight": "Too dark",
}
PHOTO_NOISE_LABELS = {
    "gaussian": "Gaussian",
    "poisson": "Poisson (photon)",
    "salt_and_pepper": "Salt and pepper",
    "real": "The photo's own noise",
}
DEFAULT_MODEL = endpoints.DEFAULT_MODEL
CODEC_MAX_QUALITY = 6  # the bundled codec-vae's levels - 1 (tests/test_app.py checks it against the checkpoint)
COMPRESS_TEXT = """A learned image codec is a VAE used in earnest (Ballé et al., *Variational image compression with a
scale hyperprior*, ICLR 2018). The encoder maps the photo to a latent, which is **rounded to integers**;
a second, smaller VAE (the *hyperprior*) predicts how spread out each latent value is, and an entropy coder
(rANS) writes every integer in about −log₂ p bits under that prior. Training minimises *rate + λ · distortion*,
and the rate is exactly the VAE's KL term: with a posterior that is uniform over one
rounding step, KL(q(z|x) || p(z)) is the expected number of bits the latents cost (the hyperprior's
included). **Quality** picks λ: lower
means fewer bytes and a softer picture. JPEG and WebP code the same photo at the largest size **not
above** the VAE file's, so all three cost the same bytes (or fewer). Download the `.vaez` file and decode
it below. Photos up to 4 megapixels."""
ASTRONAUT_URL = "https://raw.githubusercontent.com/scikit-image/scikit-image/main/skimage/data/astronaut.png"
DEFAULT_PAIR, DEFAULT_SINGLE = (3, 8), 5  # generative.example_pair / example_single of mnist-vae: typed digits


@functools.cache
def example_files() -> dict[str, str]:
    """Clickable examples in the output folder's ``examples/``: typed digits, a face, scikit-image's photos."""
    folder = outputs.subdir("examples")
    face = face_image()
    images = {f"digit-{d}": digit_image(d) for d in range(10)} | {
        "astronaut-face": face,
        "astronaut-face-mirrored": face.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    }
    paths = {}
    for name, img in images.items():
        img.save(folder / f"{name}.png")
        paths[name] = str(folder / f"{name}.png")
    for name, filename in PHOTO_EXAMPLES.items():  # copied as they are: no decoding at start-up
        paths[f"photo-{name}"] = shutil.copy(
            skimage_data_path(filename), folder / f"photo-{name}{Path(filename).suffix}"
        )
    return {k: str(v) for k, v in paths.items()}


# --- one function per tab ---------------------------------------------------------------------
def create_sampling_tab(demo: gr.Blocks, model: gr.Dropdown, sample_fn, traverse_fn, manifold_fn) -> dict:
    with gr.Tab("Sampling"):
        gr.Markdown(
            "Draw z from the prior N(0, T²I) and decode it. Lower the temperature T for "
            "cleaner, more typical images; the same seed always gives the same grid."
        )
        with gr.Row():
            with gr.Column(scale=1):
                n = gr.Slider(1, 256, value=64, step=1, precision=0, label="Number of samples", elem_id="sample-n")
                temperature = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Temperature")
                seed = gr.Number(0, precision=0, minimum=0, label="Seed")
                button = gr.Button("Sample", variant="primary", elem_id="sample-button")
            grid = gr.Image(
                label="Samples from the prior", format="png", scale=2, elem_id="sample-grid", elem_classes=LABEL_ABOVE
            )
        button.click(sample_fn, [model, n, temperature, seed], grid, api_name="sample", **LIGHT_QUEUE)
        gr.on(
            [demo.load, model.change],
            same_for_everyone(sample_fn),
            [model, n, temperature, seed],
            grid,
            api_name="show_samples",
            **HIDDEN,
            **LIGHT_QUEUE,
        )

        gr.Markdown(
            "### Latent traversal\nTake the prior sample of a seed and move along one latent "
            "dimension from -span to +span (other dimensions fixed)."
        )
        with gr.Row():
            with gr.Column(scale=1):
                t_seed = gr.Number(0, precision=0, minimum=0, label="Seed of the starting sample")
                dim = gr.Slider(0, 31, value=0, step=1, precision=0, label="Latent dimension")
                span = gr.Slider(0.5, 5.0, value=3.0, step=0.5, label="Span (standard deviations)")
                t_steps = gr.Slider(3, 21, value=11, step=1, precision=0, label="Steps")
                t_button = gr.Button("Traverse")
            row = gr.Image(
                label="One dimension, left to right",
                format="png",
                scale=2,
                elem_id="traverse-row",
                elem_classes=LABEL_ABOVE,
            )
        t_button.click(traverse_fn, [model, t_seed, dim, span, t_steps], row, api_name="traverse", **LIGHT_QUEUE)
        gr.on(
            [demo.load, model.change],
            same_for_everyone(traverse_fn),
            [model, t_seed, dim, span, t_steps],
            row,
            api_name="show_traversal",
            **HIDDEN,
            **LIGHT_QUEUE,
        )

        gr.Markdown(
            "### The 2-D latent space (mnist-vae-2d)\nLeft: decoded images on a grid of "
            "z = Φ⁻¹(u) (Kingma & Welling 2014, fig. 4). Right: where the 10,000 test digits land."
        )
        with gr.Row():
            grid_n = gr.Slider(5, 30, value=20, step=1, precision=0, label="Grid size")
            m_button = gr.Button("Draw the manifold")
        with gr.Row():
            manifold_img = gr.Image(label="Latent manifold", format="png", elem_id="manifold", elem_classes=LABEL_ABOVE)
            scatter_img = gr.Image(
                label="Test digits by class", format="png", elem_id="scatter", elem_classes=LABEL_ABOVE
            )
        m_button.click(manifold_fn, grid_n, [manifold_img, scatter_img], api_name="manifold", **LIGHT_QUEUE)
        demo.load(
            same_for_everyone(manifold_fn),
            grid_n,
            [manifold_img, scatter_img],
            api_name="show_manifold",
            **HIDDEN,
            **LIGHT_QUEUE,
        )
    return {"grid": grid, "row": row, "manifold": manifold_img, "scatter": scatter_img, "dim": dim}


def _example_rows(inputs: list, digits: list[list[str]], faces: list[list[str]], what: str) -> list[gr.Column]:
    """Digit examples and face examples, each in a column of its own: the model change shows the right one."""
    with gr.Column(visible=True) as digit_column:
        gr.Examples(digits, inputs, label=f"Example {what} (typed digits: the model redraws them by hand)")
    with gr.Column(visible=False) as face_column:
        gr.Examples(faces, inputs, label=f"Example {what} (faces)")
    return [digit_column, face_column]


def create_interpolation_tab(demo: gr.Blocks, model: gr.Dropdown, interpolate_fn) -> dict:
    with gr.Tab("Latent interpolation"):
        gr.Markdown(
            "Encode two images, walk in a straight line (linear) or along the sphere "
            "(spherical) between their encodings, and decode every step. Upload an image, pick an example, "
            "or draw on the canvas and copy the drawing into Start or End (for digits: dark strokes on a "
            "light canvas). The path goes from the Start picture to the End picture as shown."
        )
        examples = example_files()
        with gr.Row():
            image_a = image_input("Start", examples[f"digit-{DEFAULT_PAIR[0]}"], "interp-start")
            image_b = image_input("End", examples[f"digit-{DEFAULT_PAIR[1]}"], "interp-end")
            with gr.Column():
                drawing = canvas("interp-draw")
                with gr.Row():
                    to_a = gr.Button("Drawing → Start", size="sm", elem_id="interp-draw-start")
                    to_b = gr.Button("Drawing → End", size="sm", elem_id="interp-draw-end")
        columns = _example_rows(
            [image_a, image_b],
            [[examples[f"digit-{a}"], examples[f"digit-{b}"]] for a, b in ((3, 8), (0, 7), (2, 5))],
            [[examples["astronaut-face"], examples["astronaut-face-mirrored"]]],
            "pairs",
        )
        copy_drawing(to_a, drawing, image_a, "drawing_to_start", LIGHT_QUEUE)
        copy_drawing(to_b, drawing, image_b, "drawing_to_end", LIGHT_QUEUE)
        with gr.Row():
            steps = gr.Slider(2, 32, value=10, step=1, precision=0, label="Steps", elem_id="interp-steps")
            method = gr.Radio(["spherical", "linear"], value="spherical", label="Path")
            button = gr.Button("Interpolate", variant="primary", elem_id="interp-button")
        strip = gr.Image(
            label="Path through latent space", format="png", elem_id="interp-strip", elem_classes=LABEL_ABOVE
        )
        with gr.Row():
            animation = gr.Image(label="Animation", type="filepath")
            download = gr.File(label="Download the GIF", elem_id="interp-download")
        outputs_ = [strip, animation, download]
        button.click(
            interpolate_fn, [model, image_a, image_b, steps, method], outputs_, api_name="interpolate", **LIGHT_QUEUE
        )
        # On load and when the model changes: the new model's example images (the inputs get them too).
        gr.on(
            [demo.load, model.change],
            same_for_everyone(lambda name, s, m: interpolate_fn(name, None, None, s, m)),
            [model, steps, method],
            outputs_,
            api_name="show_interpolation",
            **HIDDEN,
            **LIGHT_QUEUE,
        )
    return {"a": image_a, "b": image_b, "strip": strip, "examples": columns}


def _photo_input(label: str, tab: str) -> gr.Image:
    image = gr.Image(
        value=example_files()["photo-astronaut"],
        label=label,
        type="filepath",
        sources=["upload", "clipboard"],
        height=320,
        elem_id=f"{tab}-photo",
    )
    # The API docs show a default file by the URL of the component's example, Gradio's bus.png: show the
    # public copy of the photo that really is the default instead.
    image.example_payload = lambda: handle_file(ASTRONAUT_URL)
    return image


def _photo_outputs(tab: str) -> list:
    """Before/after slider, classical and VAE results, samples, uncertainty, metrics, download."""
    slider = gr.ImageSlider(label="Before | after (drag the handle)", type="numpy", format="png")
    with gr.Row():
        classical_img = gr.Image(label="Classical method", format="png", elem_id=f"{tab}-classical")
        vae_img = gr.Image(
            label="VAE result, before the final touches (the table says how it was made)",
            format="png",
            type="filepath",
            elem_id=f"{tab}-vae",
        )
    gallery = gr.Gallery(
        label="Posterior samples: other restorations the VAE finds plausible", columns=4, height=260, format="png"
    )
    heat = gr.Image(label="Uncertainty: per-pixel std of the samples (bright = unsure)", format="png")
    metrics = gr.Dataframe(
        headers=["image", "PSNR (dB)", "SSIM"],
        label="Metrics (PSNR / SSIM need a clean original)",
        elem_id=f"{tab}-metrics",
    )
    download = gr.File(label="Full-resolution PNG", elem_id=f"{tab}-download")
    return [slider, classical_img, vae_img, gallery, heat, metrics, download]


def _sample_seed_button(action: str) -> tuple[gr.Slider, gr.Number, gr.Checkbox, gr.Button]:
    k = gr.Slider(0, 16, value=4, step=1, precision=0, label="Posterior samples K", elem_id=f"{action.lower()}-k")
    seed = gr.Number(0, precision=0, minimum=0, label="Seed")
    best = gr.Checkbox(
        False,
        label="Best quality: average the VAE over 8 flips and turns of the photo (8 times slower)",
        elem_id=f"{action.lower()}-best",
    )
    return k, seed, best, gr.Button(action, variant="primary", elem_id=f"{action.lower()}-button")


def _photo_examples(image: gr.Image, names: tuple[str, ...]) -> None:
    gr.Examples(
        [[example_files()[f"photo-{n}"]] for n in names], [image], label="Example photos (scikit-image's samples)"
    )


def create_enhance_tab(demo: gr.Blocks, enhance_fn, touch_up_fn) -> dict:
    with gr.Tab("Enhance"):
        gr.Markdown(
            "Fix a photo with the restoration VAE and compare it with the classical method for the same "
            "problem. With **Simulate** on, the clean photo is degraded first so PSNR and SSIM can be "
            "measured; turn it off to restore your own photo as it is. Big photos are restored in tiles."
        )
        with gr.Row():
            with gr.Column(scale=1):
                image = _photo_input("Photo", "enhance")
                _photo_examples(image, ("astronaut", "coffee", "chelsea", "rocket", "camera"))
                problem = gr.Radio(
                    [(v, k) for k, v in PROBLEM_LABELS.items()],
                    value="noise",
                    label="What to fix",
                    elem_id="enhance-problem",
                )
                strength = gr.Slider(
                    0.0,
                    1.0,
                    value=0.5,
                    step=0.05,
                    label="How strong (simulated damage, or the noise level for Noise on your own photo)",
                    elem_id="enhance-strength",
                )
                simulate = gr.Checkbox(
                    True, label="Simulate: degrade the clean photo first", elem_id="enhance-simulate"
                )
                k, seed, best, button = _sample_seed_button("Enhance")
            with gr.Column(scale=2):
                outputs_ = _photo_outputs("enhance")
                with gr.Accordion("Final touches (applied to the VAE result and the download)", open=True), gr.Row():
                    brightness = gr.Slider(0.5, 1.5, value=1.0, step=0.05, label="Brightness")
                    contrast = gr.Slider(0.5, 1.5, value=1.0, step=0.05, label="Contrast")
                    saturation = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Saturation")
        touches = [brightness, contrast, saturation]
        inputs = [image, problem, strength, simulate, k, seed, *touches, best]
        button.click(enhance_fn, inputs, outputs_, api_name="enhance", **PHOTO_QUEUE)
        demo.load(same_for_everyone(enhance_fn), inputs, outputs_, api_name="show_enhance", **HIDDEN, **PHOTO_QUEUE)
        slider, vae_img, download = outputs_[0], outputs_[2], outputs_[-1]
        gr.on(
            [t.release for t in touches],
            touch_up_fn,
            [vae_img, slider, *touches],
            [slider, download],
            api_name="touch_up",
            **LIGHT_QUEUE,
        )
        # An uploaded photo is restored as it is; a new photo or problem starts without touches.
        image.upload(lambda: False, None, simulate, api_name="upload_is_real", **HIDDEN, **LIGHT_QUEUE)
        gr.on(
            [image.change, problem.change],
            lambda: (1.0, 1.0, 1.0),
            None,
            touches,
            api_name="reset_touches",
            **HIDDEN,
            **LIGHT_QUEUE,
        )
        # The strength matters for simulated damage and for the noise level of Noise; not for x2 / x4.
        gr.on(
            [problem.change, simulate.change],
            lambda p, sim: gr.Slider(interactive=p not in ("x2", "x4") and (sim or p == "noise")),
            [problem, simulate],
            strength,
            api_name="strength_use",
            **HIDDEN,
            **LIGHT_QUEUE,
        )
    return {"image": image, "outputs": outputs_}


def create_photo_denoise_tab(demo: gr.Blocks, denoise_fn) -> dict:
    with gr.Tab("Denoise"):
        gr.Markdown(
            "Add noise of a known kind to a clean photo and remove it, or pick *The photo's own noise* to "
            "clean a real noisy photo (no PSNR then: there is no clean original). *Blind* lets the VAE "
            "estimate the noise level itself."
        )
        with gr.Row():
            with gr.Column(scale=1):
                image = _photo_input("Photo", "denoise")
                _photo_examples(image, ("astronaut", "camera", "coffee", "chelsea"))
                noise = gr.Radio(
                    [(v, k) for k, v in PHOTO_NOISE_LABELS.items()],
                    value="gaussian",
                    label="Noise",
                    elem_id="denoise-noise",
                )
                level = gr.Slider(
                    0,
                    100,
                    value=25,
                    step=1,
                    label="Level: Gaussian sigma (0-255 scale), Poisson "
                    "peak photons (lower is noisier), or salt-and-pepper percent",
                    elem_id="denoise-level",
                )
                blind = gr.Checkbox(False, label="Blind: the VAE estimates the noise level", elem_id="denoise-blind")
                k, seed, best, button = _sample_seed_button("Denoise")
            with gr.Column(scale=2):
                outputs_ = _photo_outputs("denoise")
        inputs = [image, noise, level, blind, k, seed, best]
        button.click(denoise_fn, inputs, outputs_, api_name="denoise", **PHOTO_QUEUE)
        demo.load(same_for_everyone(denoise_fn), inputs, outputs_, api_name="show_denoise", **HIDDEN, **PHOTO_QUEUE)
        # An upload is a real photo: remove its own noise; the level and Blind mean nothing for that, and
        # salt and pepper is found pixel by pixel, with no level to estimate.
        image.upload(lambda: "real", None, noise, api_name="upload_is_noisy", **HIDDEN, **LIGHT_QUEUE)
        noise.change(
            lambda n: (gr.Slider(interactive=n != "real"), gr.Checkbox(interactive=n in ("gaussian", "poisson"))),
            noise,
            [level, blind],
            api_name="noise_controls",
            **HIDDEN,
            **LIGHT_QUEUE,
        )
        fit = _fit_panel(demo, [image, noise, level, blind], k, seed)
    return {"image": image, "outputs": outputs_, "fit": fit}


def _fit_panel(demo: gr.Blocks, noisy_photo: list, k: gr.Slider, seed: gr.Number) -> dict:
    """ "Learn from this photo alone": a DivNoising VAE fitted live to the tab's noisy photo."""
    gr.Markdown(
        "### Learn from this photo alone (DivNoising)\n"
        "The VAE above was trained on clean photos with noise added: it was shown the answers. Here a small "
        "DivNoising VAE (Prakash et al., ICLR 2021) learns from **nothing but this noisy photo**: its decoder "
        "proposes a clean image and the noise model says how likely the noisy pixels are, so it needs no clean "
        "original. That makes it the tool for **real noisy photos** (*The photo's own noise*: an upload, a "
        "night shot, a scan), where no clean version exists to train on. It trains on both cores for the time "
        "budget, one person at a time (the others wait in line), then shows the mean of 16 posterior samples "
        "beside the classical method (no training), the supervised VAE and, when installed, the bundled "
        "divnoising-vae (trained on noisy photos only)."
    )
    with gr.Row():
        seconds = gr.Slider(1, 300, value=60, step=1, label="Time budget (seconds)", elem_id="fit-seconds")
        button = gr.Button("Learn from this photo alone", variant="primary", elem_id="fit-button")
        stop = gr.Button("Stop", variant="stop", elem_id="fit-stop")
    status = gr.Markdown("Press *Learn from this photo alone*.", elem_id="fit-status")
    with gr.Row():
        curve = gr.Image(label="Loss while learning (nats per pixel)", format="png", elem_id="fit-curve")
        estimate = gr.Image(
            label="DivNoising, this photo alone: preview while learning, then the mean of 16 samples",
            format="png",
            elem_id="fit-estimate",
        )
    with gr.Row():
        classical = gr.Image(label="Classical method (no training)", format="png", elem_id="fit-classical")
        supervised = gr.Image(label="Supervised VAE (trained on clean photos)", format="png", elem_id="fit-supervised")
        bundled = gr.Image(
            label="DivNoising, bundled (trained on noisy photos only)",
            format="png",
            visible=False,
            elem_id="fit-bundled",
        )
    gallery = gr.Gallery(label="Posterior samples of the fitted DivNoising VAE", columns=4, height=260, format="png")
    heat = gr.Image(label="Uncertainty: per-pixel std of its 16 samples (bright = unsure)", format="png")
    metrics = gr.Dataframe(
        headers=["image", "PSNR (dB)", "SSIM"],
        label="Metrics (PSNR / SSIM need a clean original)",
        elem_id="fit-metrics",
    )
    download = gr.File(label="The DivNoising estimate, full resolution PNG", elem_id="fit-download")
    outputs_ = [status, curve, estimate, classical, supervised, bundled, gallery, heat, metrics, download]
    run = button.click(endpoints.clear_fit_stop, None, None, api_name="clear_fit_stop", **HIDDEN, **LIGHT_QUEUE).then(
        endpoints.fit_photo, [*noisy_photo, seconds, k, seed], outputs_, api_name="fit_photo", **FIT_QUEUE
    )
    stop.click(endpoints.stop_fit, None, None, api_name="stop_fit", **HIDDEN, **LIGHT_QUEUE)
    demo.load(
        same_for_everyone(endpoints.show_bundled_divnoising),
        None,
        bundled,
        api_name="show_bundled_divnoising",
        **HIDDEN,
        **LIGHT_QUEUE,
    )
    return {"run": run, "outputs": outputs_, "seconds": seconds}


def create_compress_tab(demo: gr.Blocks, compress_fn, decompress_fn) -> dict:
    with gr.Tab("Compress"):
        gr.Markdown(COMPRESS_TEXT)
        with gr.Row():
            with gr.Column(scale=1):
                image = _photo_input("Photo", "compress")
                _photo_examples(image, ("astronaut", "coffee", "chelsea", "rocket", "camera"))
                quality = gr.Slider(
                    0,
                    CODEC_MAX_QUALITY,
                    value=3,
                    step=0.25,
                    label=f"Quality (0: smallest file, {CODEC_MAX_QUALITY}: best picture)",
                    elem_id="compress-quality",
                )
                button = gr.Button("Compress", variant="primary", elem_id="compress-button")
                download = gr.File(label="The .vaez file (the VAE's bitstream)", elem_id="compress-download")
            with gr.Column(scale=2):
                with gr.Row():
                    vae_img, jpeg_img, webp_img = (
                        gr.Image(label=label, format="png", height=300, elem_id=f"compress-{key}")
                        for key, label in (("vae", "VAE (.vaez)"), ("jpeg", "JPEG"), ("webp", "WebP"))
                    )
                metrics = gr.Dataframe(
                    headers=["codec", "bytes", "bits per pixel", "PSNR (dB)", "SSIM", "setting"],
                    label="The same photo at the same budget",
                    elem_id="compress-metrics",
                )
                zoom = gr.Image(
                    label="The most detailed 96 x 96 crop, 3x: original | VAE | JPEG | WebP",
                    format="png",
                    elem_id="compress-zoom",
                )
        gr.Markdown("### Decode a .vaez file\nThe picture comes back from the file alone, pixel for pixel.")
        with gr.Row():
            with gr.Column(scale=1):
                file = gr.File(label=".vaez file", file_types=[".vaez"], type="filepath", elem_id="decompress-file")
                d_button = gr.Button("Decode", elem_id="decompress-button")
                info = gr.Textbox(label="What the file holds", lines=2, elem_id="decompress-info")
            decoded = gr.Image(label="Decoded picture", format="png", scale=2, elem_id="decompress-image")
        outputs_ = [vae_img, jpeg_img, webp_img, zoom, metrics, download]
        # A photo through the codec, two Pillow bisections and three SSIMs: the photo queue's cost.
        button.click(compress_fn, [image, quality], outputs_, api_name="compress", **PHOTO_QUEUE)
        demo.load(
            same_for_everyone(compress_fn),
            [image, quality],
            outputs_,
            api_name="show_compress",
            **HIDDEN,
            **PHOTO_QUEUE,
        )
        d_button.click(decompress_fn, file, [decoded, info], api_name="decompress", **PHOTO_QUEUE)
    return {"image": image, "outputs": outputs_, "file": file, "decoded": decoded, "info": info}


def create_reconstruct_tab(demo: gr.Blocks, model: gr.Dropdown, denoise_fn) -> dict:
    with gr.Tab("Reconstruct digits & faces"):
        gr.Markdown(
            "Corrupt an image, then restore it two ways: encode and decode the posterior mean "
            "(one pass), or search the latent space for the image that best explains the "
            "corrupted one under the known noise model (latent fit). The heat map shows where "
            "K posterior samples disagree: the model's uncertainty."
        )
        examples = example_files()
        with gr.Row():
            with gr.Column(scale=1):
                image = image_input("Clean image", examples[f"digit-{DEFAULT_SINGLE}"], "reconstruct-image")
                columns = _example_rows(
                    [image],
                    [[examples[name]] for name in ("digit-5", "digit-2", "digit-7")],
                    [[examples[name]] for name in ("astronaut-face", "astronaut-face-mirrored")],
                    "images",
                )
                with gr.Accordion("Draw instead", open=False):
                    drawing = canvas("reconstruct-draw")
                    to_image = gr.Button("Drawing → Clean image", size="sm", elem_id="reconstruct-draw-use")
                copy_drawing(to_image, drawing, image, "drawing_to_clean", LIGHT_QUEUE)
                noise = gr.Radio(
                    [(v, k) for k, v in NOISE_LABELS.items()],
                    value="gaussian",
                    label="Corruption",
                    elem_id="reconstruct-noise",
                )
                level = gr.Slider(
                    0.0,
                    1.0,
                    value=0.3,
                    step=0.01,
                    label="Level (noise std / fraction of pixels / masked area)",
                    elem_id="reconstruct-level",
                )
                k = gr.Slider(2, 64, value=16, step=1, precision=0, label="Posterior samples K")
                seed = gr.Number(0, precision=0, minimum=0, label="Seed")
                button = gr.Button("Corrupt and reconstruct", variant="primary", elem_id="reconstruct-button")
            with gr.Column(scale=2):
                panel = gr.Image(
                    label="Clean | corrupted | VAE (encode, decode) | VAE + latent fit",
                    format="png",
                    elem_id="reconstruct-panel",
                    elem_classes=LABEL_ABOVE,
                )
                spread = gr.Image(label="Per-pixel spread of K samples", format="png", elem_classes=LABEL_ABOVE)
                metrics = gr.Dataframe(
                    headers=["image", "PSNR (dB)", "SSIM"],
                    label="Against the clean image",
                    elem_id="reconstruct-metrics",
                )
        outputs_ = [panel, spread, metrics]
        button.click(denoise_fn, [model, image, noise, level, k, seed], outputs_, api_name="reconstruct", **LIGHT_QUEUE)
        gr.on(
            [demo.load, model.change],
            same_for_everyone(lambda name, *rest: denoise_fn(name, None, *rest)),
            [model, noise, level, k, seed],
            outputs_,
            api_name="show_reconstruct",
            **HIDDEN,
            **LIGHT_QUEUE,
        )
    return {"image": image, "panel": panel, "spread": spread, "metrics": metrics, "examples": columns}


def _examples_for(model_name: str) -> tuple:
    """A model change: its example inputs and latent range, and only the examples that fit it (digits or faces)."""
    a, b, single, dim = endpoints.examples_for(model_name)
    faces = is_face_model(model_name)
    shown = (gr.Column(visible=not faces), gr.Column(visible=faces))
    return a, b, single, dim, *shown, *shown


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
            model = gr.Dropdown(
                list(MODEL_NOTES),
                value=DEFAULT_MODEL,
                label="Generative model",
                elem_id="model",
                info=" · ".join(f"{k}: {v}" for k, v in MODEL_NOTES.items()),
            )
            with gr.Tabs():
                sampling = create_sampling_tab(demo, model, endpoints.sample, endpoints.traverse, endpoints.manifold)
                interp = create_interpolation_tab(demo, model, endpoints.interpolate)
                den = create_reconstruct_tab(demo, model, endpoints.reconstruct)
        model.change(
            _examples_for,
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
