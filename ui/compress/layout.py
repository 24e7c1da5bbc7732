"""The Compress tab's page: the photo and the quality, the three decoded pictures, the table, the zoomed crop,
and a panel that decodes a ``.vaez`` file."""

from __future__ import annotations

import gradio as gr

from ui.compress.endpoints import compress, decompress
from ui.gradio_support import same_for_everyone
from ui.photo_widgets import photo_input
from ui.settings import CODEC_MAX_QUALITY, COMPRESS_TEXT, HIDDEN, PHOTO_QUEUE


def create_compress_tab(demo: gr.Blocks) -> dict:
    """The Compress tab and its events (``/compress``, ``/decompress`` and the first view)."""
    with gr.Tab("Compress"):
        gr.Markdown(COMPRESS_TEXT)
        with gr.Row():
            image, quality, button, download = _photo_column()
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
        file, d_button, decoded, info = _decode_panel()
        outputs_ = [vae_img, jpeg_img, webp_img, zoom, metrics, download, summary]
        # A photo through the codec, two Pillow bisections and three SSIMs: the photo queue's cost.
        button.click(compress, [image, quality], outputs_, api_name="compress", **PHOTO_QUEUE)
        demo.load(
            same_for_everyone(compress),
            [image, quality],
            outputs_,
            api_name="show_compress",
            **HIDDEN,
            **PHOTO_QUEUE,
        )
        d_button.click(decompress, file, [decoded, info], api_name="decompress", **PHOTO_QUEUE)
    return {"image": image, "outputs": outputs_, "file": file, "decoded": decoded, "info": info}


def _photo_column() -> tuple[gr.Image, gr.Slider, gr.Button, gr.File]:
    """The left column: the photo, the quality, the button and the .vaez file it makes."""
    with gr.Column(scale=1):
        image = photo_input("compress", ("astronaut", "coffee", "chelsea", "rocket", "camera"))
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
    return image, quality, button, download


def _decode_panel() -> tuple[gr.File, gr.Button, gr.Image, gr.Textbox]:
    """A .vaez file in; the decoded picture and what the file holds out (``/decompress``)."""
    gr.Markdown("### Decode a .vaez file\nThe picture comes back from the file alone, pixel for pixel.")
    with gr.Row():
        with gr.Column(scale=1):
            file = gr.File(label=".vaez file", file_types=[".vaez"], type="filepath", elem_id="decompress-file")
            button = gr.Button("Decode", elem_id="decompress-button")
            info = gr.Textbox(label="What the file holds", lines=2, elem_id="decompress-info")
        decoded = gr.Image(label="Decoded picture", format="png", scale=2, elem_id="decompress-image")
    return file, button, decoded, info
