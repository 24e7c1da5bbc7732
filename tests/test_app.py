"""The Gradio app: it builds without launching, exposes its API, and a real server answers every
endpoint (defaults, uploads, bad uploads, out-of-range values) without falling over.

The live-server tests need the bundled weights (mnist-vae, mnist-vae-2d, mnist-cvae, denoise-vae, light-vae) and skip
without them.
"""

from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, running_app, skip_without_bundled
from PIL import Image

from vae_demo.demo.examples import digit_image
from vae_demo.demo.generative import DISPLAY_PX

ENDPOINTS = (
    "/sample",
    "/traverse",
    "/manifold",
    "/interpolate",
    "/reconstruct",
    "/enhance",
    "/denoise",
    "/fit_photo",
    "/train_live",
    "/locate",
    "/decode_point",
    "/conditional",
    "/analogies",
    "/elbo",
    "/layer_samples",
    "/layers_of_digit",
    "/compress",
    "/decompress",
)
DOCUMENTED = {*ENDPOINTS, "/touch_up"}  # everything else (first views, helpers) is private
COUNTS = {"n", "k", "steps", "dim", "seed", "latent_dim", "digit"}  # parameters that are whole numbers
MNIST_SIZE = 28
SCALE = max(1, DISPLAY_PX // MNIST_SIZE)  # how much generative.grid_image enlarges a 28-px digit

needs_weights = skip_without_bundled("mnist-vae", "mnist-vae-2d", "mnist-cvae", "denoise-vae", "light-vae")
needs_codec = skip_without_bundled("codec-vae")


def grid_px(n: int, nrow: int, size: int = MNIST_SIZE, scale: int = SCALE) -> tuple[int, int]:
    """(width, height) of torchvision's make_grid (padding 2) of n images, enlarged ``scale`` times."""
    cols, rows = min(nrow, n), math.ceil(n / min(nrow, n))
    return (cols * (size + 2) + 2) * scale, (rows * (size + 2) + 2) * scale


def image_size(path) -> tuple[int, int]:
    assert path and os.path.isfile(path), f"no image file: {path!r}"
    with Image.open(path) as img:
        assert img.width > 0 and img.height > 0
        return img.size


# --- the Blocks object ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo():
    from app import demo

    return demo


def test_demo_builds_without_launching(demo):
    import gradio as gr

    assert isinstance(demo, gr.Blocks)
    assert not getattr(demo, "is_running", False)


def test_api_lists_every_endpoint(demo):
    named = demo.get_api_info()["named_endpoints"]
    for name in ENDPOINTS:
        assert name in named, f"{name} missing from {sorted(named)}"
        assert all(p["parameter_has_default"] for p in named[name]["parameters"]), f"{name} needs an argument"
    assert "/touch_up" in named, "touch-ups of a restored photo (its inputs are that photo: no default)"


def test_api_documents_only_the_user_facing_endpoints(demo):
    """Real parameter names and labels, whole numbers typed int, outputs labelled, a description each; the
    page-load and helper events are private (not in view_api(), not MCP tools)."""
    named = demo.get_api_info()["named_endpoints"]
    assert set(named) == DOCUMENTED
    undocumented = set(demo.get_api_info(all_endpoints=True)["named_endpoints"]) - DOCUMENTED
    assert all(re.fullmatch(r"/load_example(_\d+)?", name) for name in undocumented), undocumented  # gr.Examples' own
    for name, info in named.items():
        assert info["description"], f"{name} has no description"
        for p in info["parameters"]:
            assert not p["parameter_name"].startswith("param_") and p["label"], (name, p)
            if p["parameter_name"] in COUNTS:
                assert p["python_type"]["type"] == "int", (name, p["parameter_name"], p["python_type"])
        assert info["returns"] and all(r["label"] for r in info["returns"]), name
    photo = next(p for p in named["/enhance"]["parameters"] if p["parameter_name"] == "image")
    assert "bus.png" not in str(photo["example_input"]) and "astronaut.png" in str(photo["example_input"])


def test_importing_app_builds_nothing(tmp_path):
    """No Blocks, no example files, no torch until app.demo or build_demo() is asked for; Gradio imported without
    rewriting its type stubs (ui/gradio_startup.py)."""
    import subprocess
    import sys

    code = (
        "import sys, app; assert app._demo.cache_info().currsize == 0; assert 'torch' not in sys.modules; "
        "d = app.demo; assert d is app.demo and d is not app.build_demo(); assert 'torch' not in sys.modules; "
        "import gradio.component_meta as m; assert m.create_or_modify_pyi.__name__ == '_no_stub_rewrite'"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        check=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        timeout=300,
    )
    assert not list(tmp_path.glob("vae-demo-*")), "the examples' folder outlived the process"


SHORT_LABEL = 32  # characters of an output's name in the API page (its label, as Gradio's page spells it)
COMPRESS_TAB = {"/compress", "/decompress"}  # labelled in the Compress tab's own code


def test_api_outputs_have_short_names(demo):
    """The API page names each output after its label (lower case, runs of other characters as "_"): a word or
    three, not a sentence; the long explanations live in the endpoints' docstrings and the tabs' text."""
    named = demo.get_api_info()["named_endpoints"]
    for name in sorted(DOCUMENTED - COMPRESS_TAB):
        for r in named[name]["returns"]:
            slug = re.sub(r"[^a-z0-9]+", "_", r["label"].strip().lower()).strip("_")
            assert 0 < len(slug) <= SHORT_LABEL, (name, slug)


def test_outputs_are_not_editable(demo):
    """What an endpoint shows offers no upload, webcam or paste, even where another event reads it back."""
    import gradio as gr

    shown = (gr.Image, gr.ImageSlider, gr.Gallery, gr.File, gr.Dataframe)
    for fn in demo.fns.values():
        if f"/{fn.api_name}" not in DOCUMENTED - COMPRESS_TAB:
            continue
        for block in fn.outputs:
            if isinstance(block, shown):
                assert block.interactive is False, (fn.api_name, block.label)


def test_grids_are_drawn_as_torchvision_draws_them():
    """generative.make_grid stands in for torchvision's (not imported on the way to the first sample)."""
    import torch
    from torchvision.utils import make_grid as torchvision_grid

    from vae_demo.demo.generative import make_grid

    g = torch.Generator().manual_seed(0)
    for shape, nrow in [((64, 1, 28, 28), 8), ((10, 1, 28, 28), 10), ((7, 3, 16, 12), 3), ((1, 1, 28, 28), 8)]:
        images = torch.rand(*shape, generator=g)
        assert torch.equal(make_grid(images, nrow), torchvision_grid(images, nrow=nrow, padding=2, pad_value=1.0))


def test_gradio_leaves_matplotlib_alone(demo, monkeypatch):
    """Gradio switched matplotlib's backend around every event; when a worker was importing pyplot for a first plot,
    the switch called the half-imported module ("partially initialized module 'matplotlib.pyplot' has no attribute
    'switch_backend'") and the event failed. With the app built, events do not touch matplotlib."""
    import sys
    import types

    import gradio.utils

    half_imported = types.ModuleType("matplotlib.pyplot")  # what another thread's first import leaves in sys.modules
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", half_imported)
    with gradio.utils.MatplotlibBackendMananger():
        pass


def test_the_default_examples_are_the_typed_digits():
    from ui import settings
    from vae_demo.demo import generative

    assert generative.example_pair(settings.DEFAULT_MODEL) == tuple(digit_image(d) for d in settings.DEFAULT_PAIR)
    assert generative.example_single(settings.DEFAULT_MODEL) == digit_image(settings.DEFAULT_SINGLE)


@skip_without_bundled("codec-vae")
def test_the_quality_slider_spans_the_codecs_levels():
    import app
    from ui import settings
    from vae_demo.demo.compress import DEFAULT_QUALITY, get_codec

    assert get_codec().levels - 1 == settings.CODEC_MAX_QUALITY
    quality = next(c for c in app.demo.blocks.values() if getattr(c, "elem_id", None) == "compress-quality")
    assert (quality.minimum, quality.maximum, quality.value) == (0, settings.CODEC_MAX_QUALITY, DEFAULT_QUALITY)


def test_another_gradio_version_is_named_in_one_warning(caplog):
    from ui import gradio_support

    with caplog.at_level("WARNING", logger="vae_demo.app"):
        assert gradio_support.gradio_version_ok("6.31.2")
        assert not gradio_support.gradio_version_ok("6.40.0")
    assert len(caplog.records) == 1 and "6.40.0" in caplog.text and "6.31" in caplog.text


@pytest.mark.parametrize(
    ("env", "installed", "expected", "said"),
    [
        ({}, False, False, ""),
        ({"VAE_DEMO_MCP": "1"}, True, True, ""),
        ({"VAE_DEMO_MCP": "1"}, False, False, "mcp package is not installed"),
        ({"GRADIO_MCP_SERVER": "true"}, False, False, "mcp package is not installed"),
    ],
)
def test_mcp_server_only_when_asked_and_possible(monkeypatch, capsys, env, installed, expected, said):
    import importlib.util

    from ui import gradio_support

    for name in ("VAE_DEMO_MCP", "GRADIO_MCP_SERVER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: (object() if installed else None) if n == "mcp" else real(n, *a)
    )
    assert gradio_support.mcp_setting() is expected
    out = capsys.readouterr().out
    assert (said in out and out.count("\n") == 1) if said else out == ""


# --- a real server ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server_and_log(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    with running_app(tmp) as (url, _proc):
        yield url, tmp / "app.log"


@pytest.fixture(scope="module")
def server(server_and_log):
    return server_and_log[0]


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    from gradio_client import Client

    return Client(
        server, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")), analytics_enabled=False
    )


@pytest.fixture
def uploaded_digit(tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "digit.png"
    digit_image(4).save(path)
    return handle_file(str(path))


@needs_weights
def test_sample_with_defaults(client):
    assert image_size(client.predict(api_name="/sample")) == grid_px(64, nrow=8)


@needs_weights
def test_traverse_with_defaults(client):
    assert image_size(client.predict(api_name="/traverse")) == grid_px(11, nrow=11)


@needs_weights
def test_manifold_with_defaults(client):
    grid, scatter = client.predict(api_name="/manifold")
    assert image_size(grid) == grid_px(20 * 20, nrow=20, scale=1)
    assert image_size(scatter) == (550, 500)  # figsize (5.5, 5) at 100 dpi


@needs_weights
def test_interpolate_with_defaults(client):
    strip, animation, download = client.predict(api_name="/interpolate")
    assert image_size(strip) == grid_px(10, nrow=10)
    assert image_size(animation) == (2 * DISPLAY_PX, 2 * DISPLAY_PX)
    with Image.open(download) as gif:
        assert gif.format == "GIF" and gif.n_frames == 2 * 10 - 2  # there and back again


@needs_weights
def test_reconstruct_with_defaults(client):
    panel, spread, metrics = client.predict(api_name="/reconstruct")
    width, height = image_size(panel)
    # one row: clean | corrupted | restored ..., each 28 px + 2 px padding, enlarged 2 * SCALE times
    tile, border = (MNIST_SIZE + 2) * 2 * SCALE, 2 * 2 * SCALE
    assert height == tile + border
    tiles = (width - border) / tile
    assert tiles == int(tiles) and tiles >= 3, f"panel {width}x{height} is not a row of 28-px images"
    assert image_size(spread) == (MNIST_SIZE * 2 * SCALE,) * 2
    rows = metrics["data"] if isinstance(metrics, dict) else metrics
    assert rows[0][0] == "corrupted" and rows[-1][0].startswith("VAE spread")
    assert len(rows) == int(tiles)  # one metric row per restored image, plus the spread


@needs_weights
def test_interpolate_uploaded_images(client, uploaded_digit):
    strip, animation, _ = client.predict(
        model_name="mnist-vae",
        image_a=uploaded_digit,
        image_b=uploaded_digit,
        steps=4,
        method="linear",
        api_name="/interpolate",
    )
    assert image_size(strip) == grid_px(4, nrow=4)
    assert image_size(animation) == (2 * DISPLAY_PX, 2 * DISPLAY_PX)


@needs_weights
def test_reconstruct_of_a_file_that_is_not_an_image(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    fake = tmp_path / "not-really.png"
    fake.write_text("these are words, not pixels\n" * 10)
    upload = handle_file(str(fake))
    with pytest.raises(AppError, match="could not be read as an image"):
        client.predict(image=upload, api_name="/reconstruct")


def rows_of(metrics):
    return metrics["data"] if isinstance(metrics, dict) else metrics


def slider_paths(value) -> list[str]:
    """gradio_client returns an ImageSlider value as two file paths (a list or a dict of them)."""
    if isinstance(value, dict):
        value = value.get("value", value)
        value = [value[k] for k in sorted(value)] if isinstance(value, dict) else value
    return [v["path"] if isinstance(v, dict) else v for v in value]


def check_photo_outputs(result, size, k=4):
    slider, classical_img, vae_img, gallery, heat, metrics, download = result
    before, after = slider_paths(slider)
    assert image_size(before) == image_size(after) == image_size(classical_img) == image_size(vae_img) == size
    assert len(gallery) == k
    assert image_size(heat) == size
    assert image_size(download) == size
    return rows_of(metrics)


@needs_weights
def test_enhance_with_defaults(client):
    rows = check_photo_outputs(client.predict(api_name="/enhance"), (512, 512))
    psnr = {r[0]: r[1] for r in rows}
    assert psnr["VAE (mode)"] > psnr["degraded input"] + 3, rows


@needs_weights
@pytest.mark.parametrize("problem", ["lowlight", "haze", "light_auto"])
def test_enhance_light_and_colour_problems(client, problem):
    """The light-and-colour VAE through the API, the rest at defaults: it fixes the simulated damage, with samples."""
    rows = check_photo_outputs(client.predict(problem=problem, api_name="/enhance"), (512, 512))
    psnr = {r[0]: r[1] for r in rows}
    assert psnr["VAE (mode)"] > psnr["degraded input"] + 2, rows
    assert any(r[0].startswith("VAE result:") and "light-vae" in r[0] for r in rows), rows


@needs_weights
def test_denoise_with_defaults(client):
    rows = check_photo_outputs(client.predict(api_name="/denoise"), (512, 512))
    psnr = {r[0]: r[1] for r in rows}
    assert psnr["VAE (mode)"] > psnr["degraded input"] + 5, rows


@needs_weights
def test_fit_photo_streams_then_shows_the_estimate_beside_the_others(client):
    """A 3-second budget with the other inputs at their defaults: frames while learning, then the mean of 16
    posterior samples, K = 4 of them, the std map and the metrics of every method on the same noisy photo."""
    from vae_demo.core.hub import BUNDLED_DIR
    from vae_demo.restoration.problems import DENOISE_MODEL

    job = client.submit(seconds=3, api_name="/fit_photo")
    status, curve, estimate, classical, supervised, bundled, gallery, heat, metrics, download = job.result()
    assert len(job.outputs()) >= 3, "at least one frame while learning, one while sampling, the result"
    assert job.outputs()[0][0].startswith("Learning from this photo alone")
    assert status.startswith("Done: learned from this photo alone") and "supervised VAE, " in status
    assert image_size(curve)[0] > 300
    assert image_size(estimate) == image_size(classical) == image_size(supervised) == image_size(download) == (512, 512)
    assert len(gallery) == 4 and image_size(heat) == (512, 512)
    rows = {r[0]: r[1:] for r in rows_of(metrics)}
    fit = rows["DivNoising, this photo alone (mean of 16 samples)"]
    assert fit[0] is not None and rows["KL per image (nats): what the latents carry"][0] > 0
    assert rows[f"supervised VAE ({DENOISE_MODEL}, mode)"][0] > rows["degraded input"][0] + 5
    if (BUNDLED_DIR / "divnoising-vae" / "model.safetensors").is_file():
        assert image_size(bundled) == (512, 512) and "bundled DivNoising, only noisy copies" in status
    else:
        assert bundled is None and "divnoising-vae (trained on noisy photos only) is not installed" in status


@needs_weights
def test_enhance_an_uploaded_grey_photo_x2(client, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "grey.png"
    digit_image(3, size=96).save(path)
    result = client.predict(image=handle_file(str(path)), problem="x2", simulate=False, k=2, api_name="/enhance")
    rows = check_photo_outputs(result, (192, 192), k=2)
    assert rows[0][0].startswith("no PSNR / SSIM") and rows[0][1] is None, "no PSNR without a clean original"
    assert not any(r[0] == "degraded input" for r in rows)


@needs_weights
@pytest.mark.parametrize(
    ("endpoint", "kwargs"),
    [("/enhance", {"problem": "auto", "simulate": False}), ("/denoise", {"noise": "poisson", "level": 30})],
)
def test_best_quality_averages_eight_views(client, tmp_path, endpoint, kwargs):
    from gradio_client import handle_file

    path = tmp_path / "photo.png"
    Image.new("RGB", (72, 56), (90, 140, 60)).save(path)
    result = client.predict(image=handle_file(str(path)), k=2, best=True, **kwargs, api_name=endpoint)
    rows = check_photo_outputs(result, (72, 56), k=2)
    assert any(r[0].startswith("VAE result:") and "8 flips and turns" in r[0] for r in rows), rows


@needs_weights
def test_enhance_of_a_file_that_is_not_an_image(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"PK\x03\x04 a zip file renamed")
    with pytest.raises(AppError, match="could not be read as an image"):
        client.predict(image=handle_file(str(fake)), api_name="/enhance")


@needs_weights
def test_touch_up_a_restored_photo(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    path = tmp_path / "restored.png"
    Image.new("RGB", (40, 30), (100, 120, 140)).save(path)
    slider, download = client.predict(handle_file(str(path)), None, 1.3, 1.0, 1.0, api_name="/touch_up")
    before, after = slider_paths(slider)
    assert image_size(before) == image_size(after) == image_size(download) == (40, 30)
    with Image.open(download) as img:
        assert img.getpixel((0, 0))[0] > 100, "brighter"
    with pytest.raises(AppError, match="run Enhance first"):
        client.predict(None, None, 1.0, 1.0, 1.0, api_name="/touch_up")


@needs_weights
def test_too_many_samples_is_an_error_not_a_crash(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError):
        client.predict(n=100_000, api_name="/sample")
    assert image_size(client.predict(n=4, api_name="/sample")) == grid_px(4, nrow=2)


@pytest.mark.parametrize(
    "path",
    [
        "gradio_api/file=/etc/passwd",
        "gradio_api/file={root}/app.py",
        "gradio_api/file={root}/checkpoints/mnist-vae/model.safetensors",
        "gradio_api/file=../../etc/passwd",
    ],
)
def test_files_outside_the_app_are_refused(server, path):
    import urllib.error

    url = server + path.format(root=ROOT)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code in (403, 404)


def test_spaces_gpu_is_a_no_op_without_the_spaces_package(demo):
    import importlib.util

    from ui import gradio_support

    if importlib.util.find_spec("spaces") is not None:
        pytest.skip("the spaces package is installed: gradio_support.gpu is spaces.GPU")
    assert gradio_support.gpu(len) is len


def test_a_cached_output_is_never_rewritten_in_place(demo, tmp_path):
    """Gradio 6.31 rewrote an identical output's cache file on every call; app.py writes it once, atomically."""
    from gradio import processing_utils

    img = Image.new("RGB", (16, 16), "teal")
    first = processing_utils.save_pil_to_cache(img, str(tmp_path), format="png")
    written = os.stat(first).st_mtime_ns
    os.utime(first, ns=(written - 10**9, written - 10**9))  # an older time stamp shows any rewrite
    assert processing_utils.save_pil_to_cache(img, str(tmp_path), format="png") == first
    assert os.stat(first).st_mtime_ns == written - 10**9
    assert Image.open(first).getpixel((0, 0)) == (0, 128, 128)
    assert [p.name for p in Path(first).parent.iterdir()] == ["image.png"]  # no staging file left behind


@needs_weights
def test_many_people_getting_the_same_picture_all_receive_it(server, tmp_path):
    """8 clients ask for the same samples at once; every download must be whole (issue 5's load test
    lost 6 of 262 /sample downloads to the rewrite above)."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    def ask(i: int) -> list[tuple[int, int]]:
        client = Client(server, verbose=False, download_files=str(tmp_path / str(i)), analytics_enabled=False)
        return [image_size(client.predict(n=16, seed=3, api_name="/sample")) for _ in range(8)]

    with ThreadPoolExecutor(8) as pool:
        sizes = [s for sizes in pool.map(ask, range(8)) for s in sizes]
    assert sizes == [grid_px(16, nrow=4)] * 64


def test_photos_queue_apart_from_the_small_models(demo):
    queues = {f.api_name: f.concurrency_id for f in demo.fns.values() if f.queue}  # Stop and examples skip the queue
    assert {name for name, queue in queues.items() if queue == "photo"} == {
        "enhance",
        "show_enhance",
        "denoise",
        "show_denoise",
        "compress",
        "show_compress",
        "decompress",
    }
    assert {name for name, queue in queues.items() if queue == "lab"} == {"train_live"}, "one live training at a time"
    assert {name for name, queue in queues.items() if queue == "fit"} == {"fit_photo"}, "one photo fit at a time"
    limits = {f.concurrency_id: f.concurrency_limit for f in demo.fns.values() if f.queue}
    assert limits["fit"] == limits["lab"] == 1
    assert set(queues.values()) == {"photo", "light", "lab", "fit"}
    assert demo._queue.max_size == 256, "at most 256 waiting events (set without rebuilding the app)"


def test_first_views_are_computed_once_per_set_of_inputs(demo):
    from ui import gradio_support

    calls = []
    view = gradio_support.same_for_everyone(lambda *args: calls.append(args) or len(calls))
    assert [view("mnist-vae", 64), view("mnist-vae", 64), view("faces-vae", 64)] == [1, 1, 2]
    assert [view({"background": "a.png"}), view({"background": "a.png"})] == [3, 4]  # not hashable: computed


def test_a_first_view_whose_download_was_pruned_is_computed_again(demo, tmp_path):
    from ui import gradio_support

    calls = []

    def make(name):
        calls.append(name)
        path = tmp_path / f"{name}-{len(calls)}.vaez"
        path.write_bytes(b"VAEZ")
        return "picture", str(path)

    view = gradio_support.same_for_everyone(make)
    first = view("astronaut")
    assert view("astronaut") == first and len(calls) == 1
    os.remove(first[1])  # the output folder's pruning removed it
    again = view("astronaut")
    assert len(calls) == 2 and os.path.isfile(again[1])


@needs_weights
def test_view_api_shows_the_user_facing_endpoints(client):
    text = client.view_api(print_info=False, return_format="str")
    assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == DOCUMENTED
    assert "param_" not in text and "bus.png" not in text and "/show_" not in text
    assert "astronaut.png" in text and "k: int" in text and "steps: int" in text


@needs_weights
def test_user_errors_are_one_log_line(client, server_and_log, tmp_path):
    """Bad input ends as one line in the server's log, not a traceback (Gradio prints those for gr.Error)."""
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    fake = tmp_path / "words.png"
    fake.write_text("not pixels")
    for kwargs in (
        {"image": handle_file(str(fake)), "api_name": "/enhance"},
        {"n": 1000, "api_name": "/sample"},
        {"model_name": "nope", "api_name": "/sample"},
        {"steps": 100, "api_name": "/interpolate"},
        {"file": handle_file(str(fake)), "api_name": "/decompress"},
        {"quality": "high", "api_name": "/compress"},
    ):
        with pytest.raises(AppError):
            client.predict(**kwargs)
    log = server_and_log[1].read_text()
    assert "Traceback" not in log, log[-3000:]
    assert "FutureWarning" not in log, log[-3000:]  # CompressAI's import of torch_geometric: silenced there
    assert "warm-up failed" not in log, log[-3000:]
    lines = [line for line in log.splitlines() if "user error in" in line]
    for phrase in (
        "could not be read as an image",
        "greater than maximum value 256",
        "nope is not in the list",
        "value 32",
        "Invalid file type",
        "must be a number, got 'high'",
    ):
        assert sum(phrase in line for line in lines) >= 1, (phrase, lines)


@needs_weights
def test_fifty_calls_leave_temporary_space_bounded(tmp_path):
    """50 calls that each write new files (touch-ups of an upload, interpolation GIFs): the app's output folder
    never holds more than VAE_DEMO_OUTPUT_MAX_FILES of them, Gradio's cache holds only the recent ones
    (delete_cache: every 2 s, older than 6 s) and is back near its start size afterwards, and the output
    folder is gone once the server stops."""
    import time

    from gradio_client import Client, handle_file

    from vae_demo.demo.outputs import usage

    tmpdir, cache = tmp_path / "tmp", tmp_path / "gradio"
    tmpdir.mkdir()
    env = {"TMPDIR": str(tmpdir), "VAE_DEMO_OUTPUT_MAX_FILES": "6", "VAE_DEMO_DELETE_CACHE": "2,6"}
    photo = tmp_path / "restored.png"
    Image.new("RGB", (40, 30), (100, 120, 140)).save(photo)

    def cached() -> set[str]:
        return {str(p) for p in cache.rglob("*") if p.is_file()}

    def seconds_old(path: str) -> float | None:  # by ctime, as Gradio ages its cache; None once deleted
        try:
            return time.time() - os.lstat(path).st_ctime
        except FileNotFoundError:
            return None

    with running_app(tmp_path, env) as (url, _proc):
        client = Client(url, verbose=False, download_files=str(tmp_path / "dl"), analytics_enabled=False)
        client.predict(steps=2, api_name="/interpolate")
        (output,) = tmpdir.glob("vae-demo-*")
        start, before = cached(), {"outputs": usage(output), "cache": usage(cache)}
        seen, peak = set(start), {"outputs": 0, "cache": 0}
        started, oldest = 0.0, []
        for i in range(50):  # at least 0.5 s apart: at most 17 calls (34 files) are younger than 2 + 6 s
            time.sleep(max(0.0, started + 0.5 - time.monotonic()))
            started = time.monotonic()
            if i % 2:
                client.predict(handle_file(str(photo)), None, 0.6 + 0.016 * i, 1.0, 1.0, api_name="/touch_up")
            else:
                client.predict(steps=2 + i % 30, method=("linear", "spherical")[i % 4 // 2], api_name="/interpolate")
            now = cached()
            seen |= now
            if len(now) > peak["cache"]:  # the oldest files at the peak say whether deletion lagged, if it fails
                oldest = sorted(round(age, 1) for age in map(seconds_old, now - start) if age is not None)[-3:]
            peak = {
                "outputs": max(peak["outputs"], sum(1 for p in output.iterdir() if p.name != "examples")),
                "cache": max(peak["cache"], len(now)),
            }
        waited = time.monotonic()
        while usage(cache)[0] > before["cache"][0] + 10 and time.monotonic() < waited + 60:
            time.sleep(1)
        after = {"outputs": usage(output), "cache": usage(cache)}
    summary = (
        f"(files, bytes) before {before}, {time.monotonic() - waited:.0f} s after the 50 calls {after}; "
        f"at most {peak} files at once (the oldest then {oldest} s old); {len(seen - start)} files passed through "
        "Gradio's cache"
    )
    print(summary)
    assert peak["outputs"] <= 6, summary
    assert len(seen - start) >= 50, f"the calls should have written many files: {summary}"
    assert peak["cache"] <= len(start) + 40, summary
    assert after["cache"][0] <= before["cache"][0] + 10, summary
    assert not output.exists(), "the output folder outlived the server"


@needs_weights
@pytest.mark.skipif(
    __import__("importlib.util").util.find_spec("mcp") is None,
    reason='the mcp package (pip install "gradio[mcp]") is not installed',
)
def test_mcp_tools_are_the_documented_endpoints(tmp_path):
    """VAE_DEMO_MCP=1: the MCP server lists one tool per documented endpoint, described by its docstring."""
    import json
    import urllib.request

    with (
        running_app(tmp_path, {"VAE_DEMO_MCP": "1"}) as (url, _proc),
        urllib.request.urlopen(url + "gradio_api/mcp/schema", timeout=60) as response,
    ):
        tools = {t["name"]: t for t in json.load(response)}
    assert {f"/{name}" for name in tools} == DOCUMENTED
    assert list(tools["sample"]["inputSchema"]["properties"]) == ["model_name", "n", "temperature", "seed"]
    assert tools["enhance"]["description"].startswith("Fix one problem of a photo")


@needs_weights
def test_lab_endpoints_answer_over_http(client):
    """/train_live streams frames and ends with '(done)'; the explorer and the ELBO answer with their defaults."""
    job = client.submit(seconds=5, api_name="/train_live")
    status, *images = job.result()
    assert "(done)" in status and all(image_size(p) for p in images)
    assert len(job.outputs()) >= 2, "one frame about every second"
    latent_map, recon, text = client.predict(api_name="/locate")
    assert image_size(latent_map) == (480, 480) and "mu = (" in text
    assert image_size(client.predict(1.0, -1.0, api_name="/decode_point")) == image_size(recon)
    table, cost = client.predict(api_name="/elbo")
    terms = {row[0].split()[0]: row[1] for row in table["data"]}
    assert terms["ELBO"] == pytest.approx(terms["reconstruction"] - terms["KL(q(z|x)"], abs=0.02)
    assert "bits" in cost


@needs_weights
@skip_without_bundled("mnist-hvae")
def test_the_layers_panel_answers_with_its_defaults_over_http(client):
    """/layer_samples draws three rows; /layers_of_digit splits the typed 5's ELBO by layer and the terms add up."""
    assert image_size(client.predict(api_name="/layer_samples"))[0] > 300
    table, figure, text = client.predict(api_name="/layers_of_digit")
    rows = table["data"]
    kls, recon, elbo = [r[2] for r in rows[:3]], rows[3][2], rows[4][2]
    assert [r[0].split(",")[0] for r in rows[:3]] == ["KL of z3", "KL of z2", "KL of z1"]
    assert elbo == pytest.approx(recon - sum(kls), abs=0.05)
    assert image_size(figure) and "bits of KL" in text


@needs_weights
def test_elbo_of_a_face_says_whether_the_face_was_found(client, tmp_path):
    """Face pictures are framed like the training faces; the note says so, or that the centre square was used."""
    from gradio_client import handle_file

    from vae_demo.demo.examples import photo_example

    photo, other = tmp_path / "astronaut.png", tmp_path / "coffee.png"
    photo_example("astronaut").save(photo)
    photo_example("coffee").save(other)
    _, note = client.predict("faces-vae", handle_file(str(photo)), 10, 0, api_name="/elbo")
    assert "The face was found" in note
    _, note = client.predict("faces-vae", handle_file(str(other)), 10, 0, api_name="/elbo")
    assert "No face was found" in note


# --- the Compress tab -----------------------------------------------------------------------------------------
def pixels(path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


def check_compress(result, size: tuple[int, int]) -> dict[str, list]:
    """The three pictures and the crop have the photo's size; JPEG and WebP cost no more bytes than the
    .vaez file (or are their smallest file); bytes and bits per pixel agree with the file. Rows by codec."""
    vae, jpeg, webp, zoom, metrics, vaez, summary = result
    assert "BD-rate" in summary or "megapixels" in summary, summary
    assert image_size(vae) == image_size(jpeg) == image_size(webp) == size
    assert image_size(zoom)[1] == 3 * min(96, *size)  # the same crop of four pictures, 3x
    rows = {r[0]: r for r in rows_of(metrics)}
    assert list(rows) == ["VAE (.vaez)", "JPEG", "WebP"]
    data = Path(vaez).read_bytes()
    assert data[:4] == b"VAEZ" and Path(vaez).suffix == ".vaez"
    assert rows["VAE (.vaez)"][1] == len(data)
    for name, row in rows.items():
        assert row[2] == pytest.approx(row[1] * 8 / (size[0] * size[1]), abs=1e-4), row
        assert 0 < row[4] <= 1 and row[3] > 10, row
        if name != "VAE (.vaez)":
            assert row[1] <= len(data) or row[5].endswith("(its smallest file: larger)"), row
    return rows


@needs_codec
def test_compress_with_defaults(client):
    rows = check_compress(client.predict(api_name="/compress"), (512, 512))
    assert rows["VAE (.vaez)"][5] == "quality 3"


@needs_codec
def test_decompress_with_defaults(client):
    """The default file is the astronaut at quality 3: the same picture /compress shows by default."""
    picture, info = client.predict(api_name="/decompress")
    vae = client.predict(api_name="/compress")[0]
    assert image_size(picture) == (512, 512) and "512x512" in info and "quality 3" in info
    assert (pixels(picture) == pixels(vae)).all()


@needs_codec
@pytest.mark.parametrize(
    ("photo", "quality", "size"),
    [
        (None, 3.0, (512, 512)),
        ("camera", 0.0, (512, 512)),  # grey
        ("chelsea", 6.0, (451, 300)),  # sides not multiples of 64
        ("rocket", 1.75, (640, 427)),  # a JPEG upload, a quality between two trained levels
    ],
)
def test_every_compressed_file_decodes_to_the_picture_shown(client, photo, quality, size):
    """Round trip over HTTP: the .vaez file /compress returns, sent back to /decompress, gives exactly the
    picture /compress showed (every pixel), and the file's description agrees with the table."""
    from gradio_client import handle_file

    from app import EXAMPLES

    image = {} if photo is None else {"image": handle_file(EXAMPLES[f"photo-{photo}"])}
    result = client.predict(**image, quality=quality, api_name="/compress")
    rows = check_compress(result, size)
    decoded, info = client.predict(handle_file(result[5]), api_name="/decompress")
    shown = pixels(result[0])
    assert pixels(decoded).shape == shown.shape and (pixels(decoded) == shown).all()
    assert shown.ndim == (2 if photo == "camera" else 3)
    vae = rows["VAE (.vaez)"]
    assert f"{size[0]}x{size[1]}" in info and f"{vae[1]} bytes" in info and f"{vae[2]:.4f} bits per pixel" in info
    assert f"quality {quality:g}" in info


@needs_weights
def test_any_digit_in_any_style_over_http(client, uploaded_digit):
    """/conditional and /analogies answer with their defaults and with an upload; the pictures are the core's."""
    import numpy as np

    from vae_demo.demo import styles

    grid = client.predict(api_name="/conditional")
    assert image_size(grid) == grid_px(16, nrow=4)
    with Image.open(grid) as img:
        assert np.array_equal(
            np.asarray(img.convert("RGB")), np.asarray(Image.fromarray(styles.conditional()).convert("RGB"))
        )
    assert image_size(client.predict(digit=7, seed=1, n=9, api_name="/conditional")) == grid_px(9, nrow=3)
    row, note = client.predict(api_name="/analogies")
    assert image_size(row) == grid_px(10, nrow=10) and note.startswith("Assumed label")
    row, note = client.predict(image=uploaded_digit, label="4", api_name="/analogies")
    assert image_size(row) == grid_px(10, nrow=10) and note.startswith("Assumed label 4, as given")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_the_server_hands_freed_memory_back():
    """main() starts a daemon thread that calls glibc's malloc_trim on a schedule."""
    from ui.gradio_support import trim_freed_memory

    thread = trim_freed_memory(every_s=0.01)
    assert thread is not None and thread.daemon and thread.is_alive()
