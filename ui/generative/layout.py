"""The Digits & faces tab's page: Sampling, Latent interpolation and Reconstruct, under one model dropdown."""

from __future__ import annotations

import gradio as gr

from ui.drawing import canvas, copy_drawing, image_input
from ui.generative.endpoints import examples_for, interpolate, manifold, reconstruct, sample, traverse
from ui.gradio_support import choice_radio, output_image, same_for_everyone
from ui.settings import DEFAULT_MODEL, DEFAULT_PAIR, DEFAULT_SINGLE, HIDDEN, LIGHT_QUEUE, example_files, model_notes
from vae_demo import catalog


def create_generative_tab(demo: gr.Blocks) -> dict:
    """The model dropdown and its notes, the three sub-tabs, and the examples that follow the model."""
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
            sampling = create_sampling_tab(demo, model)
            interp = create_interpolation_tab(demo, model)
            den = create_reconstruct_tab(demo, model)
    model.change(
        examples_for,
        model,
        [interp["a"], interp["b"], den["image"], sampling["dim"], *interp["examples"], *den["examples"]],
        api_name="examples",
        **HIDDEN,
        **LIGHT_QUEUE,
    )
    return {"model": model, "sampling": sampling, "interpolation": interp, "reconstruct": den}


def create_sampling_tab(demo: gr.Blocks, model: gr.Dropdown) -> dict:
    """Prior samples, a latent traversal and the 2-D latent space (``/sample``, ``/traverse``, ``/manifold``)."""
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
            grid = output_image("Samples from the prior", "sample-grid", scale=2)
        button.click(sample, [model, n, temperature, seed], grid, api_name="sample", **LIGHT_QUEUE)
        gr.on(
            [demo.load, model.change],
            same_for_everyone(sample),
            [model, n, temperature, seed],
            grid,
            api_name="show_samples",
            **HIDDEN,
            **LIGHT_QUEUE,
        )

        gr.Markdown(
            "### Latent traversal\nTake the prior sample of a seed and move along one latent "
            "dimension from -span to +span (other dimensions fixed). Dimensions are ranked by how much they "
            "change the picture: 0 changes it most."
        )
        with gr.Row():
            with gr.Column(scale=1):
                t_seed = gr.Number(0, precision=0, minimum=0, label="Seed of the starting sample")
                dim = gr.Slider(0, 31, value=0, step=1, precision=0, label="Latent dimension (0: the largest effect)")
                span = gr.Slider(0.5, 5.0, value=3.0, step=0.5, label="Span (standard deviations)")
                t_steps = gr.Slider(3, 21, value=11, step=1, precision=0, label="Steps")
                t_button = gr.Button("Traverse")
            row = output_image("Latent traversal", "traverse-row", scale=2)
        t_button.click(traverse, [model, t_seed, dim, span, t_steps], row, api_name="traverse", **LIGHT_QUEUE)
        gr.on(
            [demo.load, model.change],
            same_for_everyone(traverse),
            [model, t_seed, dim, span, t_steps],
            row,
            api_name="show_traversal",
            **HIDDEN,
            **LIGHT_QUEUE,
        )

        manifold_img, scatter_img = _manifold_panel(demo)
    return {"grid": grid, "row": row, "manifold": manifold_img, "scatter": scatter_img, "dim": dim}


def _manifold_panel(demo: gr.Blocks) -> tuple[gr.Image, gr.Image]:
    """mnist-vae-2d's latent space: the decoded grid and the test digits (``/manifold``)."""
    gr.Markdown(
        "### The 2-D latent space (mnist-vae-2d)\nLeft: decoded images on a grid of "
        "z = Φ⁻¹(u) (Kingma & Welling 2014, fig. 4). Right: where the 10,000 test digits land."
    )
    with gr.Row():
        grid_n = gr.Slider(5, 30, value=20, step=1, precision=0, label="Grid size")
        m_button = gr.Button("Draw the manifold")
    with gr.Row():
        manifold_img = output_image("Latent manifold", "manifold")
        scatter_img = output_image("Test digits by class", "scatter")
    m_button.click(manifold, grid_n, [manifold_img, scatter_img], api_name="manifold", **LIGHT_QUEUE)
    demo.load(
        same_for_everyone(manifold),
        grid_n,
        [manifold_img, scatter_img],
        api_name="show_manifold",
        **HIDDEN,
        **LIGHT_QUEUE,
    )
    return manifold_img, scatter_img


def _example_rows(inputs: list, digits: list[list[str]], faces: list[list[str]], what: str) -> list[gr.Column]:
    """Digit examples and face examples, each in a column of its own: the model change shows the right one."""
    with gr.Column(visible=True) as digit_column:
        gr.Examples(digits, inputs, label=f"Example {what} (typed digits: the model redraws them by hand)")
    with gr.Column(visible=False) as face_column:
        gr.Examples(faces, inputs, label=f"Example {what} (faces)")
    return [digit_column, face_column]


def create_interpolation_tab(demo: gr.Blocks, model: gr.Dropdown) -> dict:
    """Two pictures (or drawings) and the walk between their encodings (``/interpolate``)."""
    with gr.Tab("Latent interpolation"):
        gr.Markdown(
            "Encode two images, walk in a straight line (linear) or along the sphere "
            "(spherical) between their encodings, and decode every step. Upload an image, pick an example, "
            "or draw on the canvas and copy the drawing into Start or End (for digits: dark strokes on a "
            "light canvas). The path goes from the Start picture to the End picture as shown. A face's "
            "encoding is the encoder's guess refined by 50 gradient steps on that face's ELBO (semi-amortised "
            "inference): the encoder learned from 35 people and guesses a new face only roughly."
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
        strip = output_image("Path through latent space", "interp-strip")
        with gr.Row():
            animation = output_image("Animation", label_above=False, type="filepath")
            download = gr.File(label="Download the GIF", interactive=False, elem_id="interp-download")
        outputs_ = [strip, animation, download]
        button.click(
            interpolate, [model, image_a, image_b, steps, method], outputs_, api_name="interpolate", **LIGHT_QUEUE
        )
        # On load and when the model changes: the new model's example images (the inputs get them too).
        gr.on(
            [demo.load, model.change],
            same_for_everyone(lambda name, s, m: interpolate(name, None, None, s, m)),
            [model, steps, method],
            outputs_,
            api_name="show_interpolation",
            **HIDDEN,
            **LIGHT_QUEUE,
        )
    return {"a": image_a, "b": image_b, "strip": strip, "examples": columns}


def create_reconstruct_tab(demo: gr.Blocks, model: gr.Dropdown) -> dict:
    """A picture corrupted and restored two ways, with the metrics and the spread (``/reconstruct``)."""
    with gr.Tab("Reconstruct digits & faces"):
        gr.Markdown(
            "Corrupt an image, then restore it two ways: encode and decode the posterior mean "
            "(one pass), or search the latent space for the image that best explains the "
            "corrupted one under the known noise model (latent fit). The panel shows, left to right, the clean "
            "image, the corrupted one, the VAE's encode-decode and the latent fit; the metrics compare each with the "
            "clean image. The heat map shows where K posterior samples disagree: the model's uncertainty."
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
                noise = choice_radio(catalog.DIGIT_NOISES, "gaussian", "Corruption", "reconstruct-noise")
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
                panel = output_image("Clean | corrupted | VAE | VAE + fit", "reconstruct-panel")
                spread = output_image("Spread of K samples", "reconstruct-spread")
                metrics = gr.Dataframe(
                    headers=["image", "PSNR (dB)", "SSIM"],
                    label="Metrics",
                    interactive=False,
                    elem_id="reconstruct-metrics",
                )
        outputs_ = [panel, spread, metrics]
        button.click(
            reconstruct, [model, image, noise, level, k, seed], outputs_, api_name="reconstruct", **LIGHT_QUEUE
        )
        gr.on(
            [demo.load, model.change],
            same_for_everyone(lambda name, *rest: reconstruct(name, None, *rest)),
            [model, noise, level, k, seed],
            outputs_,
            api_name="show_reconstruct",
            **HIDDEN,
            **LIGHT_QUEUE,
        )
    return {"image": image, "panel": panel, "spread": spread, "metrics": metrics, "examples": columns}
