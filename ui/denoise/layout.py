"""The Denoise tab's page: the photo, the kind and level of noise, the results, and the "Learn from this photo
alone" panel under them."""

from __future__ import annotations

import gradio as gr

from ui.denoise.endpoints import clear_fit_stop, denoise, fit_photo, show_bundled_divnoising, stop_fit
from ui.gradio_support import choice_radio, output_image, same_for_everyone
from ui.photo_widgets import metrics_table, photo_input, photo_outputs, sample_seed_button
from ui.settings import FIT_QUEUE, HIDDEN, LIGHT_QUEUE, PHOTO_QUEUE, photo_noise_labels
from vae_demo.demo.photo_limits import PAGE_NOTE

INTRO = (
    "Add noise of a known kind to a clean photo and remove it, or pick *The photo's own noise* to "
    "clean a real noisy photo (no PSNR then: there is no clean original). *Blind* lets the VAE "
    "estimate the noise level itself. " + PAGE_NOTE
)
FIT_TEXT = (
    "### Learn from this photo alone (DivNoising)\n"
    "The VAE above was trained on clean photos with noise added: it was shown the answers. Here a small "
    "DivNoising VAE (Prakash et al., ICLR 2021) learns from **nothing but this noisy photo**: its decoder "
    "proposes a clean image and the noise model says how likely the noisy pixels are, so it needs no clean "
    "original. That makes it the tool for **real noisy photos** (*The photo's own noise*: an upload, a "
    "night shot, a scan), where no clean version exists to train on. It trains on both cores for the time "
    "budget, one person at a time (the others wait in line). While it learns, the loss curve and a preview "
    "(decoded at the posterior means) are redrawn; then comes its estimate (decoded at the posterior means, "
    "averaged over 8 flips and rotations) and 16 posterior samples, beside the classical method (no "
    "training), the supervised VAE (trained on clean photos) and, when installed, the bundled divnoising-vae "
    "(trained on noisy photos only). The uncertainty map is the per-pixel std of the 16 samples."
)


def create_denoise_tab(demo: gr.Blocks) -> dict:
    """The Denoise tab and its events (``/denoise``, ``/fit_photo`` and the private helpers)."""
    with gr.Tab("Denoise"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                image = photo_input("denoise", ("astronaut", "camera", "coffee", "chelsea"))
                noise = choice_radio(photo_noise_labels(), "gaussian", "Noise", "denoise-noise")
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
                k, seed, best, button = sample_seed_button("Denoise")
            with gr.Column(scale=2):
                outputs_ = photo_outputs("denoise")
        inputs = [image, noise, level, blind, k, seed, best]
        button.click(denoise, inputs, outputs_, api_name="denoise", **PHOTO_QUEUE)
        demo.load(same_for_everyone(denoise), inputs, outputs_, api_name="show_denoise", **HIDDEN, **PHOTO_QUEUE)
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
    gr.Markdown(FIT_TEXT)
    with gr.Row():
        seconds = gr.Slider(1, 300, value=60, step=1, label="Time budget (seconds)", elem_id="fit-seconds")
        button = gr.Button("Learn from this photo alone", variant="primary", elem_id="fit-button")
        stop = gr.Button("Stop", variant="stop", elem_id="fit-stop")
    status = gr.Markdown("Press *Learn from this photo alone*.", label="Status", elem_id="fit-status")
    with gr.Row():
        curve = output_image("Loss while learning", "fit-curve")
        estimate = output_image("DivNoising, this photo alone", "fit-estimate", label_above=False)
    with gr.Row():
        classical = output_image("Classical method", "fit-classical", label_above=False)
        supervised = output_image("Supervised VAE", "fit-supervised", label_above=False)
        bundled = output_image("DivNoising, bundled", "fit-bundled", label_above=False, visible=False)
    gallery = gr.Gallery(
        label="Posterior samples", columns=4, height=260, format="png", interactive=False, elem_id="fit-samples"
    )
    heat = output_image("Uncertainty (per-pixel std)", "fit-uncertainty", label_above=False, height=300)
    metrics = metrics_table("fit-metrics")
    download = gr.File(label="DivNoising estimate (PNG)", interactive=False, elem_id="fit-download")
    outputs_ = [status, curve, estimate, classical, supervised, bundled, gallery, heat, metrics, download]
    run = button.click(clear_fit_stop, None, None, api_name="clear_fit_stop", **HIDDEN, **LIGHT_QUEUE).then(
        fit_photo, [*noisy_photo, seconds, k, seed], outputs_, api_name="fit_photo", **FIT_QUEUE
    )
    stop.click(stop_fit, None, None, api_name="stop_fit", **HIDDEN, **LIGHT_QUEUE)
    demo.load(
        same_for_everyone(show_bundled_divnoising),
        None,
        bundled,
        api_name="show_bundled_divnoising",
        **HIDDEN,
        **LIGHT_QUEUE,
    )
    return {"run": run, "outputs": outputs_, "seconds": seconds}
