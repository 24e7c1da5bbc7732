"""What the photo tabs (Enhance, Denoise, Compress) share: the photo input and its examples, the outputs of a
restoration and the function that fills them from a ``PhotoResult`` in their order."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr
from gradio_client import handle_file

from ui.gradio_support import output_image
from ui.settings import ASTRONAUT_URL, example_files

if TYPE_CHECKING:
    from vae_demo.demo.photos import PhotoResult


def photo_input(tab: str, examples: tuple[str, ...]) -> gr.Image:
    """The tab's photo (``elem_id`` TAB-photo), scikit-image's astronaut until one is uploaded, and clickable
    example photos (scikit-image's samples named in ``examples``) under it."""
    image = gr.Image(
        value=example_files()["photo-astronaut"],
        label="Photo",
        type="filepath",
        sources=["upload", "clipboard"],
        height=320,
        elem_id=f"{tab}-photo",
    )
    # The API docs show a default file by the URL of the component's example, Gradio's bus.png: show the
    # public copy of the photo that really is the default instead.
    image.example_payload = lambda: handle_file(ASTRONAUT_URL)
    gr.Examples(
        [[example_files()[f"photo-{n}"]] for n in examples], [image], label="Example photos (scikit-image's samples)"
    )
    return image


def metrics_table(elem_id: str) -> gr.Dataframe:
    """PSNR / SSIM per method: the first column wraps, so the numbers stay in view beside a long row name."""
    return gr.Dataframe(
        headers=["image", "PSNR (dB)", "SSIM"],
        label="Metrics",
        wrap=True,
        column_widths=["64%", "18%", "18%"],
        interactive=False,
        elem_id=elem_id,
    )


def photo_outputs(tab: str) -> list:
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
    metrics = metrics_table(f"{tab}-metrics")
    download = gr.File(label="Result (PNG)", interactive=False, elem_id=f"{tab}-download")
    return [slider, classical_img, vae_img, gallery, heat, metrics, download]


def as_photo_outputs(r: PhotoResult) -> tuple:
    """A ``PhotoResult`` in the order of ``photo_outputs``."""
    return r.before_after, r.classical, r.vae, r.gallery, r.uncertainty, r.rows, r.download


def sample_seed_button(action: str) -> tuple[gr.Slider, gr.Number, gr.Checkbox, gr.Button]:
    """Posterior samples K, the seed, *Best quality* and the tab's button (``elem_id``s from ``action``)."""
    k = gr.Slider(0, 16, value=4, step=1, precision=0, label="Posterior samples K", elem_id=f"{action.lower()}-k")
    seed = gr.Number(0, precision=0, minimum=0, label="Seed")
    best = gr.Checkbox(
        False,
        label="Best quality: average the VAE over 8 flips and turns of the photo (8 times slower)",
        elem_id=f"{action.lower()}-best",
    )
    return k, seed, best, gr.Button(action, variant="primary", elem_id=f"{action.lower()}-button")
