"""The Enhance tab's page: the photo, what to fix and how strongly, the results and the final touches."""

from __future__ import annotations

import gradio as gr

from ui.enhance.endpoints import enhance, touch_up
from ui.gradio_support import choice_radio, same_for_everyone
from ui.photo_widgets import photo_input, photo_outputs, sample_seed_button
from ui.settings import HIDDEN, LIGHT_QUEUE, PHOTO_QUEUE, problem_labels
from vae_demo.demo.photo_limits import PAGE_NOTE

INTRO = (
    "Fix a photo with the restoration VAE and compare it with the classical method for the same "
    "problem. With **Simulate** on, the clean photo is degraded first so PSNR and SSIM can be "
    "measured; turn it off to restore your own photo as it is. " + PAGE_NOTE
)


def create_enhance_tab(demo: gr.Blocks) -> dict:
    """The Enhance tab and its events (``/enhance``, ``/touch_up`` and the private helpers)."""
    with gr.Tab("Enhance"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                image = photo_input("enhance", ("astronaut", "coffee", "chelsea", "rocket", "camera"))
                problem = choice_radio(problem_labels(), "noise", "What to fix", "enhance-problem")
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
                k, seed, best, button = sample_seed_button("Enhance")
            with gr.Column(scale=2):
                outputs_ = photo_outputs("enhance")
                with gr.Accordion("Final touches (applied to the VAE result and the download)", open=True), gr.Row():
                    brightness = gr.Slider(0.5, 1.5, value=1.0, step=0.05, label="Brightness")
                    contrast = gr.Slider(0.5, 1.5, value=1.0, step=0.05, label="Contrast")
                    saturation = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Saturation")
        touches = [brightness, contrast, saturation]
        inputs = [image, problem, strength, simulate, k, seed, *touches, best]
        button.click(enhance, inputs, outputs_, api_name="enhance", **PHOTO_QUEUE)
        demo.load(same_for_everyone(enhance), inputs, outputs_, api_name="show_enhance", **HIDDEN, **PHOTO_QUEUE)
        _wire_touches(image, problem, simulate, strength, touches, outputs_)
    return {"image": image, "outputs": outputs_}


def _wire_touches(image, problem, simulate, strength, touches: list, outputs_: list) -> None:
    """The final touches re-applied on release; what resets them, and when the strength matters."""
    slider, vae_img, download = outputs_[0], outputs_[2], outputs_[-1]
    gr.on(
        [t.release for t in touches],
        touch_up,
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
