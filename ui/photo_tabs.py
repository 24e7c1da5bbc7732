"""The photo tabs: Enhance, Denoise (with "Learn from this photo alone") and Compress."""

from __future__ import annotations

import gradio as gr
from gradio_client import handle_file

from ui import endpoints
from ui.gradio_support import same_for_everyone
from ui.settings import (
    ASTRONAUT_URL,
    CODEC_MAX_QUALITY,
    COMPRESS_TEXT,
    FIT_QUEUE,
    HIDDEN,
    LIGHT_QUEUE,
    PHOTO_NOISE_LABELS,
    PHOTO_QUEUE,
    PROBLEM_LABELS,
    example_files,
)


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
