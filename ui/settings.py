"""What the tabs share: queues, labels written out so the page is built without torch, and example files."""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from PIL import Image

from vae_demo import catalog
from vae_demo.codec import limits
from vae_demo.codec.limits import megapixels
from vae_demo.demo import outputs
from vae_demo.demo.examples import PHOTO_EXAMPLES, digit_image, face_image, skimage_data_path

MAX_FILE_SIZE = "20mb"
# Queueing, tuned with benchmarks/load.py (README, "Serving a class"). A photo takes about 1.8 s of the CPU,
# partly single-threaded (NLM, SSIM), so the photo events share one queue with 2 workers (1 worker: 15% fewer
# photos per minute); the digit and face models are small (10-90 ms for 64 samples), so their events share
# another queue and never wait behind a photo. The VAE_DEMO_* variables change these numbers.
PHOTO_QUEUE = {"concurrency_id": "photo", "concurrency_limit": int(os.environ.get("VAE_DEMO_PHOTO_WORKERS", "2"))}
# "Learn from this photo alone" trains for a minute or more on both cores: one at a time, in a queue of its own, so a
# class pressing it together waits in line while the other tabs keep answering.
FIT_QUEUE = {"concurrency_id": "fit", "concurrency_limit": int(os.environ.get("VAE_DEMO_FIT_WORKERS", "1"))}
# Live training in the Lab: one worker and a per-run cap (vae_demo.demo.lab.MAX_SECONDS), so a class pressing Train
# together is served in turn while the other tabs keep answering.
LAB_QUEUE = {"concurrency_id": "lab", "concurrency_limit": int(os.environ.get("VAE_DEMO_LAB_WORKERS", "1"))}
LIGHT_QUEUE = {"concurrency_id": "light", "concurrency_limit": int(os.environ.get("VAE_DEMO_LIGHT_WORKERS", "2"))}
MAX_QUEUE = int(os.environ.get("VAE_DEMO_MAX_QUEUE", "256"))  # waiting events, all queues together
HIDDEN = {"api_visibility": "private"}  # first views and helpers: the page calls them, the API does not list them


def model_notes() -> dict[str, str]:
    """The generative tabs' models and their one-line notes (``vae_demo.catalog``, read when the page is built)."""
    return {name: catalog.MODELS[name].note for name in catalog.models("generative")}


def problem_labels() -> dict[str, str]:
    """Enhance's problems, key -> label (``catalog.PROBLEMS``)."""
    return {key: row.label for key, row in catalog.PROBLEMS.items()}


def photo_noise_labels() -> dict[str, str]:
    """Denoise's kinds of noise, key -> label (``catalog.NOISES``)."""
    return {key: row.label for key, row in catalog.NOISES.items()}


DEFAULT_MODEL = catalog.DEFAULT_GENERATIVE
CODEC_MAX_QUALITY = 7  # the bundled codec-vae's levels - 1 (tests/test_app.py checks it against the checkpoint)
COMPRESS_TEXT = """A learned image codec is a VAE used in earnest (Ballé et al., *Variational image compression with a
scale hyperprior*, ICLR 2018). The encoder maps the photo to a latent, which is **rounded to integers**;
a second, smaller VAE (the *hyperprior*) predicts how spread out each latent value is, and an entropy coder
(rANS) writes every integer in about −log₂ p bits under that prior. Training minimises *rate + λ · distortion*,
and the rate is exactly the VAE's KL term: with a posterior that is uniform over one
rounding step, KL(q(z|x) || p(z)) is the expected number of bits the latents cost (the hyperprior's
included). **Quality** picks λ: lower
means fewer bytes and a softer picture. JPEG and WebP code the same photo at the largest size **not
above** the VAE file's, so all three cost the same bytes (or fewer). Download the `.vaez` file and decode
it below. """ + (
    f"Photos up to {megapixels(limits.MAX_PIXELS)}; those over {megapixels(limits.WHOLE_PIXELS)} are coded in "
    f"{limits.TILE}-pixel tiles."
)
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
