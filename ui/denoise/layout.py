"""The photo tabs: Enhance, Denoise (with "Learn from this photo alone") and Compress."""

from __future__ import annotations

import gradio as gr
from gradio_client import handle_file

from ui import endpoints
from ui.gradio_support import output_image, same_for_everyone
from ui.settings import (
    ASTRONAUT_URL,
    CODEC_MAX_QUALITY,
    COMPRESS_TEXT,
    FIT_QUEUE,
    HIDDEN,
    LIGHT_QUEUE,
    PHOTO_QUEUE,
    example_files,
    photo_noise_labels,
    problem_labels,
)
from vae_demo.demo.photo_limits import PAGE_NOTE


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


def _metrics_table(elem_id: str) -> gr.Dataframe:
    """PSNR / SSIM per method: the first column wraps, so the numbers stay in view beside a long row name."""
    return gr.Dataframe(
        headers=["image", "PSNR (dB)", "SSIM"],
        label="Metrics",
        wrap=True,
        column_widths=["64%", "18%", "18%"],
        interactive=False,
        elem_id=elem_id,
    )


def _photo_outputs(tab: str) -> list:
    """Before/after slider, classical and VAE results, samples, uncertainty, metrics, download (none editable)."""
    slider = gr.ImageSlider(label="Before | after", type="numpy", format="png", interactive=False)
    with gr.Row():
        classical_img = output_image("Classical method", f"{tab}-classical", label_above=False)
        vae_img = output_image("VAE result", f"{tab}-vae", label_above=False, type="filepath")
    gallery = gr.Gallery(
        label="Posterior samples", columns=4, height=260, format="png", interactive=False, elem_id=f"{tab}-samples"
    )
    heat = output_image("Uncertainty (per-pixel std)", f"{tab}-uncertainty", label_above=False, height=300)
    gr.Markdown(
        "Drag the handle of *Before | after* to compare the input with the result after the final touches. "
        "*VAE result* is the restoration before them; the table says how it was made. The *posterior samples* "
        "are other restorations the VAE finds plausible, and the *uncertainty* map is their per-pixel std "
        "(bright = unsure). PSNR and SSIM need a clean original (*Simulate*, or an added noise)."
    )
    metrics = _metrics_table(f"{tab}-metrics")
    download = gr.File(label="Result (PNG)", interactive=False, elem_id=f"{tab}-download")
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
            "measured; turn it off to restore your own photo as it is. " + PAGE_NOTE
        )
        with gr.Row():
            with gr.Column(scale=1):
                image = _photo_input("Photo", "enhance")
                _photo_examples(image, ("astronaut", "coffee", "chelsea", "rocket", "camera"))
                problem = gr.Radio(
                    [(v, k) for k, v in problem_labels().items()],
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
            "estimate the noise level itself. " + PAGE_NOTE
        )
        with gr.Row():
            with gr.Column(scale=1):
                image = _photo_input("Photo", "denoise")
                _photo_examples(image, ("astronaut", "camera", "coffee", "chelsea"))
                noise = gr.Radio(
                    [(v, k) for k, v in photo_noise_labels().items()],
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
        "budget, one person at a time (the others wait in line). While it learns, the loss curve and a preview "
        "(decoded at the posterior means) are redrawn; then comes its estimate (decoded at the posterior means, "
        "averaged over 8 flips and rotations) and 16 posterior samples, beside the classical method (no "
        "training), the supervised VAE (trained on clean photos) and, when installed, the bundled divnoising-vae "
        "(trained on noisy photos only). The uncertainty map is the per-pixel std of the 16 samples."
    )
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
    metrics = _metrics_table("fit-metrics")
    download = gr.File(label="DivNoising estimate (PNG)", interactive=False, elem_id="fit-download")
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
                summary = gr.Markdown(elem_id="compress-summary")
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
        outputs_ = [vae_img, jpeg_img, webp_img, zoom, metrics, download, summary]
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
