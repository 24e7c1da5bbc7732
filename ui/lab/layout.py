"""The Lab tab's page: a live training run, the latent explorer, any digit in any style, the ELBO of one image,
the layers of a ladder VAE.

Live training has a queue of its own (``settings.LAB_QUEUE``: one worker, a per-run cap), so a class pressing Train
together is served in turn while the other tabs keep answering.
"""

from __future__ import annotations

import gradio as gr

from ui.drawing import canvas, copy_drawing, image_input
from ui.gradio_support import output_image, same_for_everyone
from ui.lab.endpoints import (
    analogies,
    conditional,
    decode_click,
    decode_point,
    elbo,
    layer_samples,
    layers_of_digit,
    locate,
    train_live,
)
from ui.settings import HIDDEN, LAB_QUEUE, LIGHT_QUEUE, example_files
from vae_demo import catalog


def _train_live_panel() -> None:
    gr.Markdown(
        "Train a VAE in front of the class on scikit-learn's 1,797 handwritten 8x8 digits. The loss is the negative "
        "ELBO = -E_q[log p(x|z)] + beta * KL(q(z|x) || N(0, I)): the first term wants faithful reconstructions, the "
        "second pulls every code towards the prior. With **beta = 0** it is a plain autoencoder: codes spread "
        "wherever they like, and the prior samples (z ~ N(0, I)) fall in holes and look like nothing. With "
        "**beta = 1** the KL term fills the holes, so samples look like digits. Train one, then the other, and "
        "compare with the previous run below. The pictures: prior samples (z ~ N(0, I), decoded); held-out digits "
        "(top half) above their reconstructions; and the held-out digits' codes, coloured by class, with a dashed "
        "circle where 95% of the prior falls."
    )
    with gr.Row():
        with gr.Column(scale=1):
            beta = gr.Slider(0.0, 4.0, value=1.0, step=0.1, label="beta (0 = autoencoder, 1 = VAE)", elem_id="lab-beta")
            latent = gr.Slider(1, 16, value=2, step=1, precision=0, label="Latent size", elem_id="lab-latent")
            lr = gr.Slider(0.0005, 0.01, value=0.003, step=0.0005, label="Learning rate")
            seconds = gr.Slider(5, 180, value=30, step=5, label="Time budget (seconds)", elem_id="lab-seconds")
            seed = gr.Number(0, precision=0, minimum=0, label="Seed")
            with gr.Row():
                ae = gr.Button("Preset: autoencoder", size="sm", elem_id="lab-preset-ae")
                vae = gr.Button("Preset: VAE", size="sm", elem_id="lab-preset-vae")
            with gr.Row():
                train = gr.Button("Train", variant="primary", elem_id="lab-train")
                stop = gr.Button("Stop", variant="stop", elem_id="lab-stop")
        with gr.Column(scale=2):
            status = gr.Markdown("Press Train.", label="Status", elem_id="lab-status")
            curves = output_image("Held-out ELBO (nats per digit)", "lab-curves")
    with gr.Row():
        samples = output_image("Prior samples", "lab-samples")
        recons = output_image("Reconstructions", "lab-recons")
        latent_map = output_image("Latent codes", "lab-map")
    with gr.Accordion("Previous run, for comparison", open=False), gr.Row():
        prev_status = gr.Markdown(label="Previous run")
        prev_samples = output_image("Previous run: prior samples", "lab-prev-samples")
        prev_map = output_image("Previous run: codes", "lab-prev-map")
    ae.click(lambda: (0.0, 2), None, [beta, latent], api_name="preset_autoencoder", **HIDDEN, **LIGHT_QUEUE)
    vae.click(lambda: (1.0, 2), None, [beta, latent], api_name="preset_vae", **HIDDEN, **LIGHT_QUEUE)
    keep = train.click(
        lambda s, a, b: (s, a, b),
        [status, samples, latent_map],
        [prev_status, prev_samples, prev_map],
        api_name="keep_previous_run",
        **HIDDEN,
        **LIGHT_QUEUE,
    )
    run = keep.then(
        train_live,
        [beta, latent, lr, seconds, seed],
        [status, curves, samples, recons, latent_map],
        api_name="train_live",
        **LAB_QUEUE,
    )
    stop.click(None, None, None, cancels=[run], api_name="stop_training", **HIDDEN)


def _explorer_panel(demo: gr.Blocks, examples: dict[str, str]) -> None:
    gr.Markdown(
        "**Latent explorer** (mnist-vae-2d). The encoder does not give one point for a digit but a Gaussian "
        "q(z|x) = N(mu, sigma^2): draw a digit and see its mean (+) and its 1- and 2-sigma ellipses over the 10,000 "
        "test digits. Click anywhere on the map to decode that point: the decoder turns every z into a digit."
    )
    with gr.Row():
        with gr.Column(scale=1):
            image = image_input("Digit to locate (upload, example or drawing)", examples["digit-3"], "lab-image")
            gr.Examples([[examples[f"digit-{d}"]] for d in (0, 2, 7)], [image], label="Typed digits")
            locate_button = gr.Button("Locate in latent space", variant="primary", elem_id="lab-locate")
            with gr.Accordion("Draw a digit", open=True):
                drawing = canvas("lab-draw")
                draw_button = gr.Button("Locate the drawing", size="sm", elem_id="lab-draw-use")
            recon = output_image("Reconstruction", "lab-locate-recon", label_above=False)
            text = gr.Markdown(label="The posterior", elem_id="lab-locate-text")
        with gr.Column(scale=2):
            latent_map = gr.Image(
                label="Latent map",
                format="png",
                interactive=False,
                show_label=False,
                elem_id="lab-latent-map",
            )
            with gr.Row():
                z1 = gr.Number(0.0, label="z1", elem_id="lab-z1")
                z2 = gr.Number(0.0, label="z2", elem_id="lab-z2")
                decode_button = gr.Button("Decode this point")
                decoded = output_image("Decoded", "lab-decoded", label_above=False)
    outputs = [latent_map, recon, text]
    locate_button.click(locate, image, outputs, api_name="locate", **LIGHT_QUEUE)
    copy_drawing(draw_button, drawing, image, "drawing_to_locate", LIGHT_QUEUE).success(
        locate, image, outputs, api_name="locate_drawing", **HIDDEN, **LIGHT_QUEUE
    )
    demo.load(same_for_everyone(lambda: locate(None)), None, outputs, api_name="show_locate", **HIDDEN, **LIGHT_QUEUE)
    decode_button.click(decode_point, [z1, z2], decoded, api_name="decode_point", **LIGHT_QUEUE)
    latent_map.select(decode_click, None, [z1, z2, decoded], api_name="decode_click", **HIDDEN, **LIGHT_QUEUE)


def _styles_panel(demo: gr.Blocks, examples: dict[str, str]) -> None:
    gr.Markdown(
        "**Any digit in any style** (mnist-cvae, a class-conditional VAE). The decoder gets the label y (which "
        "digit) beside the code z: p(x | z, y). The label already says *which* digit, so z is left to hold "
        "everything else: slant, stroke width, size, loops, the *style* (Kingma et al. 2014; Sohn et al. 2015)."
    )
    with gr.Row():
        with gr.Column(scale=1):
            gr.Markdown(
                "**One digit, many styles.** Draw z ~ N(0, I) from the seed and decode each z with the same "
                "label y: the picture is the mean of p(x | z, y), one digit in as many hands as there are samples."
            )
            digit = gr.Slider(0, 9, value=3, step=1, precision=0, label="Digit y", elem_id="lab-cond-digit")
            seed = gr.Number(0, precision=0, minimum=0, label="Seed", elem_id="lab-cond-seed")
            n = gr.Slider(1, 64, value=16, step=1, precision=0, label="Number of samples")
            cond_button = gr.Button("Write this digit", variant="primary", elem_id="lab-cond-button")
        grid = output_image("The digit y in many styles", "lab-cond-grid", scale=2)
    gr.Markdown(
        "**Your style, every digit.** Encode a digit: its style is mu, the mean of the encoder's Gaussian "
        "q(z | x, y). Then decode that one z with each label y = 0, ..., 9. If you leave the label to the model, it "
        "reads the digit first: p(y | x) is proportional to p(x | y) (importance-sampled) with every digit equally "
        "likely."
    )
    with gr.Row():
        with gr.Column(scale=1):
            image = image_input("A digit whose style to copy", examples["digit-7"], "lab-style-image")
            gr.Examples([[examples[f"digit-{d}"]] for d in (7, 2, 4)], [image], label="Typed digits")
            label = gr.Dropdown(
                [("Let the model read it", "auto"), *((str(d), str(d)) for d in range(10))],
                value="auto",
                label="Which digit it is",
                elem_id="lab-style-label",
            )
            style_button = gr.Button("Write every digit in this style", variant="primary", elem_id="lab-style-button")
            with gr.Accordion("Draw a digit", open=True):
                drawing = canvas("lab-style-draw")
                draw_button = gr.Button("Copy the drawing's style", size="sm", elem_id="lab-style-draw-use")
        with gr.Column(scale=2):
            row = output_image("Ten digits in one style (0 to 9)", "lab-style-row")
            note = gr.Markdown(label="How it was read", elem_id="lab-style-note")
    cond_button.click(conditional, [digit, seed, n], grid, api_name="conditional", **LIGHT_QUEUE)
    style_button.click(analogies, [image, label], [row, note], api_name="analogies", **LIGHT_QUEUE)
    copy_drawing(draw_button, drawing, image, "drawing_to_style", LIGHT_QUEUE).success(
        analogies, [image, label], [row, note], api_name="analogies_drawing", **HIDDEN, **LIGHT_QUEUE
    )
    demo.load(
        same_for_everyone(conditional), [digit, seed, n], grid, api_name="show_conditional", **HIDDEN, **LIGHT_QUEUE
    )
    demo.load(
        same_for_everyone(lambda lab: analogies(None, lab)),
        label,
        [row, note],
        api_name="show_analogies",
        **HIDDEN,
        **LIGHT_QUEUE,
    )


def _elbo_panel(examples: dict[str, str]) -> None:
    gr.Markdown(
        "**The ELBO of one image.** log p(x) >= ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z)). The importance-"
        "sampled estimate log p(x) ~ log (1/k) sum_i p(x, z_i) / q(z_i|x) (Burda et al. 2016) closes most of the "
        "gap. For binarised digits -log2 p(x) is the number of bits an ideal entropy coder would need."
    )
    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown(
                list(catalog.models("generative")),
                value=catalog.DEFAULT_GENERATIVE,
                label="Model",
                elem_id="lab-elbo-model",
            )
            image = image_input("Digit or face", examples["digit-5"], "lab-elbo-image")
            gr.Examples(
                [[examples[name]] for name in ("digit-5", "digit-0", "astronaut-face")],
                [image],
                label="Examples (the face is for faces-vae)",
            )
            with gr.Accordion("Draw a digit", open=False):
                drawing = canvas("lab-elbo-draw")
                draw_button = gr.Button("Drawing → Digit or face", size="sm", elem_id="lab-elbo-draw-use")
            k = gr.Slider(10, 5000, value=1000, step=10, precision=0, label="Importance samples k")
            seed = gr.Number(0, precision=0, minimum=0, label="Seed")
            button = gr.Button("Compute the ELBO", variant="primary", elem_id="lab-elbo-button")
        with gr.Column(scale=2):
            table = gr.Dataframe(
                headers=["term", "nats", "bits"], label="One image's ELBO", interactive=False, elem_id="lab-elbo-table"
            )
            text = gr.Markdown(label="What it costs", elem_id="lab-elbo-text")
    copy_drawing(draw_button, drawing, image, "drawing_to_elbo", LIGHT_QUEUE)
    button.click(elbo, [model, image, k, seed], [table, text], api_name="elbo", **LIGHT_QUEUE)


def _layers_panel(demo: gr.Blocks, examples: dict[str, str]) -> None:
    gr.Markdown(
        "**Layers** (mnist-hvae, a ladder VAE). Instead of one latent code, three stochastic layers: a global "
        "vector z3, a coarse 7 x 7 map z2 and a finer 14 x 14 map z1, drawn top-down: p(z3) p(z2 | z3) "
        "p(z1 | z2, z3) p(x | z). **Why more layers give a better likelihood:** with one layer the prior is a "
        "single Gaussian N(0, I) and the posterior one Gaussian too, and the ELBO pays for every way real digits "
        "differ from that shape. Stacked, each layer's Gaussian depends on the layers above, so the prior and the "
        "posterior as a whole can take any shape the digits need: the gap between the ELBO and log p(x) shrinks, "
        "and each layer can specialise, the top one on which digit and its overall form, the lower ones on strokes. "
        "Its decoder ends in an autoregressive head: each pixel's probability also reads the pixels drawn before it, "
        "so the samples are drawn pixel by pixel, in black and white. Measured on the first 1,000 MNIST test digits "
        "(`benchmarks/nll.py`, k = 1000): this ladder VAE 79.77 nats per digit, the one-layer mnist-vae 81.87."
    )
    with gr.Row():
        with gr.Column(scale=1):
            seed = gr.Number(0, precision=0, minimum=0, label="Seed", elem_id="lab-layers-seed")
            n = gr.Slider(2, 16, value=8, step=1, precision=0, label="Samples a row")
            temperature = gr.Slider(0.1, 1.5, value=1.0, step=0.05, label="Temperature")
            sample_button = gr.Button("Draw samples", variant="primary", elem_id="lab-layers-sample")
        rows = output_image("What each layer decides", "lab-layers-samples", scale=2)
    with gr.Row():
        with gr.Column(scale=1):
            image = image_input("A digit to look at through the layers", examples["digit-5"], "lab-layers-image")
            gr.Examples([[examples[f"digit-{d}"]] for d in (5, 1, 8)], [image], label="Typed digits")
            digit_seed = gr.Number(0, precision=0, minimum=0, label="Seed")
            digit_button = gr.Button("Split this digit by layer", variant="primary", elem_id="lab-layers-digit")
            with gr.Accordion("Draw a digit", open=False):
                drawing = canvas("lab-layers-draw")
                draw_button = gr.Button("Drawing → digit", size="sm", elem_id="lab-layers-draw-use")
        with gr.Column(scale=2):
            table = gr.Dataframe(
                headers=["term", "numbers", "nats", "bits"],
                label="This digit's ELBO, layer by layer",
                interactive=False,
                elem_id="lab-layers-table",
            )
            text = gr.Markdown(label="Which layer carries it", elem_id="lab-layers-text")
            depth = output_image("Layers taken from the posterior", "lab-layers-depth")
    sample_button.click(layer_samples, [seed, n, temperature], rows, api_name="layer_samples", **LIGHT_QUEUE)
    outputs = [table, depth, text]
    digit_button.click(layers_of_digit, [image, digit_seed], outputs, api_name="layers_of_digit", **LIGHT_QUEUE)
    copy_drawing(draw_button, drawing, image, "drawing_to_layers", LIGHT_QUEUE).success(
        layers_of_digit, [image, digit_seed], outputs, api_name="layers_of_drawing", **HIDDEN, **LIGHT_QUEUE
    )
    demo.load(
        same_for_everyone(layer_samples),
        [seed, n, temperature],
        rows,
        api_name="show_layer_samples",
        **HIDDEN,
        **LIGHT_QUEUE,
    )


def create_lab_tab(demo: gr.Blocks) -> None:
    """The Lab: a live training run, the latent explorer, any digit in any style, the ELBO of one image and the
    layers of a ladder VAE."""
    examples = example_files()  # typed digits digit-0 ... digit-9 and astronaut-face
    with gr.Tab("Lab"), gr.Tabs():
        with gr.Tab("Train live"):
            _train_live_panel()
        with gr.Tab("Latent explorer"):
            _explorer_panel(demo, examples)
        with gr.Tab("Any digit in any style"):
            _styles_panel(demo, examples)
        with gr.Tab("ELBO of one image"):
            _elbo_panel(examples)
        with gr.Tab("Layers"):
            _layers_panel(demo, examples)
