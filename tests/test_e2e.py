"""End to end in a real browser: Debian's Chromium, driven by Playwright, against ``python app.py``.

Every tab is used the way a person uses it: pick a model, upload a file, draw on the sketchpad, drag a
slider, choose an option, click the button, then wait for the answer and check the picture's size
against the core function and that the metrics are filled in. Each test saves a full-page screenshot
under its pytest tmp dir and fails on any uncaught JavaScript error or ``console.error``.

Chromium is Debian's (``/usr/bin/chromium``, or ``VAE_DEMO_CHROMIUM``); Playwright's own browser
download is never used. Without Chromium or Playwright the module is skipped, unless
``VAE_DEMO_REQUIRE_E2E=1`` (set by ``.ci/run``), which makes a missing browser a failure.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import bundled_marks, running_app, skip_without_bundled
from PIL import Image, ImageDraw

from vae_demo.catalog import models
from vae_demo.demo import generative

CHROMIUM = Path(os.environ.get("VAE_DEMO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 180_000  # Playwright's own limit for clicks and uploads (and for any wait not made with ``wait_for``)
STALL_MS = 60_000  # ``wait_for`` fails once the page has shown no pending or running event for this long
CEILING_S = 1_200  # and in any case after this long (a server that never answers)
DESKTOP = {"width": 1280, "height": 1400}
PHONE = {"width": 390, "height": 844}

try:
    from playwright.sync_api import Page, sync_playwright
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the skip below says so
    sync_playwright = None


def missing_browser() -> str | None:
    """What the browser tests lack, or None."""
    if sync_playwright is None:
        return "the playwright package (pip install playwright)"
    return None if CHROMIUM.exists() else f"{CHROMIUM} (apt-get install chromium)"


REQUIRED = os.environ.get("VAE_DEMO_REQUIRE_E2E") == "1"
pytestmark = [
    pytest.mark.e2e,
    *bundled_marks(*models("generative"), *models("restoration")),
    pytest.mark.skipif(bool(missing_browser()) and not REQUIRED, reason=f"end-to-end tests need {missing_browser()}"),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("e2e")) as (url, _proc):
        yield url


@pytest.fixture(scope="module")
def browser():
    if missing_browser():
        pytest.fail(f"VAE_DEMO_REQUIRE_E2E=1 but the end-to-end tests lack {missing_browser()}")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """One page in a fresh browser context, with the JavaScript errors it logged."""

    page: Page
    shots: Path
    js_errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def assert_no_js_errors(self) -> None:
        assert not self.js_errors, "JavaScript errors in the page:\n" + "\n".join(self.js_errors)


@pytest.fixture
def visit(browser, app, tmp_path):
    contexts = []

    def open_page(viewport: dict = DESKTOP) -> Visit:
        """A fresh page, once its first views (the load events of every tab) have arrived."""
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        v = Visit(page, tmp_path)
        page.on("pageerror", lambda err: v.js_errors.append(f"uncaught: {err}"))
        page.on(
            "console", lambda msg: v.js_errors.append(f"console.error: {msg.text}") if msg.type == "error" else None
        )
        page.goto(app)
        wait_for_image(page, "#enhance-vae")  # the first tab's first view, then every load event done
        wait_until_idle(page)
        return v

    yield open_page
    for context in contexts:
        context.close()


# --- what a person does -------------------------------------------------------------------------
BUSY = (  # a visible component shows Gradio's progress indicator: its event is queued or running
    "() => [...document.querySelectorAll('[data-testid=status-tracker]')]"
    ".some(t => !t.classList.contains('hide') && t.offsetParent !== null)"
)


def wait_for(page: Page, script: str, arg=None):
    """Wait until ``script(arg)`` is truthy in the page, for as long as the page shows an event queued or running
    (however loaded the machine); fail after ``STALL_MS`` in which it showed none. Returns the JS handle."""
    deadline = time.monotonic() + CEILING_S
    while True:
        try:
            return page.wait_for_function(script, arg=arg, timeout=STALL_MS)
        except PlaywrightTimeout:
            if time.monotonic() > deadline or not page.evaluate(BUSY):
                raise


def wait_for_image(page: Page, selector: str) -> None:
    """Wait until the component ``selector`` shows a picture."""
    wait_for(page, "(sel) => document.querySelector(sel + ' img')", selector)


def wait_until_idle(page: Page) -> None:
    """Wait until no component shows Gradio's progress indicator (the load events are done)."""
    page.wait_for_timeout(500)  # an event just triggered shows its indicator within this
    wait_for(page, f"() => !({BUSY})()")


def image_src(page: Page, selector: str) -> str | None:
    img = page.locator(f"{selector} img").first
    return img.get_attribute("src") if img.count() else None


def wait_for_new_image(page: Page, selector: str, old_src: str | None) -> tuple[int, int, str]:
    """Wait until the image in ``selector`` is a new, fully loaded picture: (width, height, src)."""
    handle = wait_for(
        page,
        """([sel, old]) => {
            const img = document.querySelector(sel + ' img');
            if (!img || img.getAttribute('src') === old || !img.complete || !img.naturalWidth) return null;
            return [img.naturalWidth, img.naturalHeight, img.getAttribute('src')];
        }""",
        [selector, old_src],
    )
    width, height, src = handle.json_value()
    return width, height, src


def upload(page: Page, selector: str, path: Path) -> None:
    page.locator(f"{selector} input[type=file]").set_input_files(str(path))


def drag_slider(page: Page, selector: str, fraction: float) -> float:
    """Drag the slider's handle with the mouse to ``fraction`` of its track; returns the value shown. The number box
    follows the handle asynchronously: wait for it to change, and drag once more if a busy page missed the press."""
    track = page.locator(f"{selector} input[type=range]")
    number = page.locator(f"{selector} input[type=number]")
    value = float(track.input_value())
    for _ in range(2):
        track.scroll_into_view_if_needed()
        box = track.bounding_box()
        lo, hi = float(track.get_attribute("min")), float(track.get_attribute("max"))
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * (float(track.input_value()) - lo) / (hi - lo), y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * fraction, y, steps=8)
        page.mouse.up()
        try:
            page.wait_for_function(
                "([s, v]) => Number(document.querySelector(s + ' input[type=number]').value) !== v",
                arg=[selector, value],
                timeout=10_000,
            )
            break
        except PlaywrightTimeout:
            continue
    shown = float(number.input_value())
    assert shown != value, f"dragging {selector} did not move it from {value}"
    return shown


def choose(page: Page, selector: str, option: str) -> None:
    page.locator(selector).get_by_label(option, exact=True).check()


def select_model(page: Page, name: str) -> None:
    page.locator("#model input[role=combobox]").click()
    page.get_by_role("option", name=name, exact=True).click()
    assert page.locator("#model input[role=combobox]").input_value() == name


def draw(page: Page, selector: str, points: list[tuple[float, float]]) -> None:
    """Draw one stroke with the canvas's brush through ``points`` (offsets in pixels from the canvas's centre)."""
    canvas = page.locator(f"{selector} .pixi-target canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx + points[0][0], cy + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(cx + x, cy + y, steps=15)
    page.mouse.up()
    page.wait_for_timeout(1000)  # the editor sends its new composite a moment after the stroke


def draw_stroke(page: Page, selector: str) -> None:
    """A diagonal stroke across the middle of the canvas."""
    draw(page, selector, [(-60, -70), (60, 70)])


def draw_seven(page: Page, selector: str) -> None:
    """A handwritten 7: a bar, then a long slanted stroke down."""
    draw(page, selector, [(-60, -80), (60, -80), (-10, 90)])


def metric_rows(page: Page, selector: str) -> dict[str, list[float]]:
    """The metrics table as {row label: [numbers]}, read from the rendered cells."""
    rows = {}
    for row in page.locator(f"{selector} [role=row][data-index]").all():
        cells = [c.strip() for c in row.locator("[role=gridcell]").all_inner_texts()]
        if cells:
            rows[cells[0]] = [float(c) for c in cells[1:] if re.fullmatch(r"-?\d+(\.\d+)?", c)]
    return rows


def fetch_image(page: Page, url: str) -> Image.Image:
    """Download a picture the page shows or links to, as the browser would."""
    return Image.open(io.BytesIO(page.request.get(url).body()))


def open_digits_tab(page: Page, name: str, output: str) -> None:
    """Open a tab under "Digits & faces" and wait for its first view (``output`` holds an image)."""
    page.get_by_role("tab", name="Digits & faces", exact=True).click()
    page.get_by_role("tab", name=name, exact=True).click()
    wait_for_image(page, output)
    wait_until_idle(page)


def size_of(a: np.ndarray) -> tuple[int, int]:
    return a.shape[1], a.shape[0]


# --- test inputs ----------------------------------------------------------------------------------
@pytest.fixture
def cat_photo(tmp_path) -> Path:
    """A 190x142 colour photo (odd sizes: the model pads to a multiple of 8 and crops back)."""
    from skimage import data

    path = tmp_path / "cat.png"
    Image.fromarray(data.chelsea()).resize((190, 142), Image.BICUBIC).save(path)
    return path


@pytest.fixture
def grey_photo(tmp_path) -> Path:
    from skimage import data

    path = tmp_path / "camera.jpg"
    Image.fromarray(data.camera()).resize((176, 150), Image.BICUBIC).save(path, quality=95)
    return path


@pytest.fixture
def handwritten_seven(tmp_path) -> Path:
    img = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(img).line([(50, 40), (150, 40), (90, 170)], fill=0, width=22)
    path = tmp_path / "seven.png"
    img.save(path)
    return path


# --- one test per tab -------------------------------------------------------------------------------
def test_enhance_a_blurred_photo(visit, cat_photo):
    v = visit()
    page = v.page
    old_src, old_metrics = image_src(page, "#enhance-vae"), metric_rows(page, "#enhance-metrics")
    upload(page, "#enhance-photo", cat_photo)
    wait_for(page, "() => document.querySelector('#enhance-photo img')?.src.includes('cat')")
    simulate = page.locator("#enhance-simulate input")
    wait_for(page, "() => !document.querySelector('#enhance-simulate input').checked")  # an upload is real
    simulate.check()  # this person wants to see the damage simulated, and PSNR against the original
    choose(page, "#enhance-problem", "Blur")
    wait_for(page, "() => !document.querySelector('#enhance-strength input[type=range]').disabled")  # simulated again
    drag_slider(page, "#enhance-strength", 0.7)
    page.locator("#enhance-button").click()
    assert wait_for_new_image(page, "#enhance-vae", old_src)[:2] == (190, 142)
    wait_until_idle(page)
    metrics = metric_rows(page, "#enhance-metrics")
    assert metrics != old_metrics
    for row in ("degraded input", "VAE (mode)"):
        assert len(metrics[row]) == 2, metrics  # PSNR and SSIM: a clean original exists in Simulate mode
    link = page.locator("#enhance-download a[download$='.png']")
    assert fetch_image(page, link.get_attribute("href")).size == (190, 142)
    for selector in ("#enhance-vae", "#enhance-classical", "#enhance-uncertainty"):
        assert_not_editable(page, selector)
    assert page.locator("#enhance-uncertainty").bounding_box()["height"] <= 360, "the std map stays small"
    v.screenshot("enhance")
    v.assert_no_js_errors()


@pytest.fixture
def dark_photo(tmp_path) -> Path:
    """scikit-image's coffee three stops under-exposed (linear light / 8), as an under-exposed shot is saved."""
    from skimage import data

    a = np.asarray(Image.fromarray(data.coffee()).resize((200, 150), Image.BICUBIC)) / 255.0
    lin = np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4) / 8
    dark = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.maximum(lin, 0.0031308) ** (1 / 2.4) - 0.055)
    path = tmp_path / "dark-coffee.png"
    Image.fromarray((dark * 255).round().astype(np.uint8)).save(path)
    return path


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk (2003) on an (H, W, 3) image in [0, 1]."""
    rg, yb = rgb[..., 0] - rgb[..., 1], 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def test_a_dark_upload_comes_back_brighter_with_its_colours(visit, dark_photo):
    v = visit()
    page = v.page
    old_src = image_src(page, "#enhance-vae")
    upload(page, "#enhance-photo", dark_photo)
    wait_for(page, "() => document.querySelector('#enhance-photo img')?.src.includes('dark-coffee')")
    wait_for(page, "() => !document.querySelector('#enhance-simulate input').checked")  # an upload is real
    choose(page, "#enhance-problem", "Too dark")
    page.locator("#enhance-button").click()
    src = wait_for_new_image(page, "#enhance-vae", old_src)[2]
    out = np.asarray(fetch_image(page, src).convert("RGB"), dtype=np.float64) / 255
    dark = np.asarray(Image.open(dark_photo).convert("RGB"), dtype=np.float64) / 255
    assert out.mean() > dark.mean() + 0.1, "brighter"
    gamma = dark**0.45  # the plain brightening the issue measures colour against
    assert colourfulness(out) >= 0.8 * colourfulness(gamma), "its colours kept, not a grey sepia"
    wait_for(page, "() => document.querySelectorAll('#enhance-samples img').length >= 4")  # K = 4 exposures
    v.assert_no_js_errors()


def test_denoise_a_photo_with_photon_noise(visit, grey_photo):
    v = visit()
    page = v.page
    page.get_by_role("tab", name="Denoise", exact=True).click()
    upload(page, "#denoise-photo", grey_photo)
    wait_for(page, "() => document.querySelector('#denoise-photo img')?.src.includes('camera')")
    wait_for(page, "() => document.querySelector('#denoise-level input[type=range]').disabled")  # own noise
    assert page.get_by_label("The photo's own noise", exact=True).is_checked()
    choose(page, "#denoise-noise", "Salt and pepper")  # found pixel by pixel: there is no level to estimate
    wait_for(page, "() => document.querySelector('#denoise-blind input').disabled")
    choose(page, "#denoise-noise", "Poisson (photon)")
    wait_for(page, "() => !document.querySelector('#denoise-level input[type=range]').disabled")
    wait_for(page, "() => !document.querySelector('#denoise-blind input').disabled")
    peak = drag_slider(page, "#denoise-level", 0.3)
    page.locator("#denoise-best input").check()  # best quality: the x8 self-ensemble
    old_src = image_src(page, "#denoise-vae")
    page.locator("#denoise-button").click()
    assert wait_for_new_image(page, "#denoise-vae", old_src)[:2] == (176, 150)
    wait_until_idle(page)
    metrics = metric_rows(page, "#denoise-metrics")
    noisy_psnr, vae_psnr = metrics["degraded input"][0], metrics["VAE (mode)"][0]
    assert vae_psnr > noisy_psnr + 3, f"peak {peak:g} photons: {metrics}"
    assert any("Anscombe" in row and "8 flips" in row for row in metrics), metrics  # the table says how
    v.screenshot("denoise")
    v.assert_no_js_errors()


def status_says(page: Page, selector: str, text: str) -> None:
    """Wait until the status shows ``text`` (Gradio puts its progress timer before it while an event runs)."""
    wait_for(page, "([sel, t]) => document.querySelector(sel)?.innerText.includes(t)", [selector, text])


def test_learn_from_this_photo_alone_then_stop_a_second_run(visit):
    """A short budget: the loss curve is redrawn while it learns, then the estimate, the other methods and the
    metrics arrive. A second, long run is stopped after its first frame and still shows its result."""
    from vae_demo.core.hub import BUNDLED_DIR

    v = visit()
    page = v.page
    page.get_by_role("tab", name="Denoise", exact=True).click()
    page.locator("#fit-button").scroll_into_view_if_needed()
    budget = drag_slider(page, "#fit-seconds", 0.06)  # about 20 s: a few frames even on a busy CPU
    assert budget <= 30
    page.evaluate(  # every curve and status the page shows, however briefly
        "() => { window.seen = new Set(); setInterval(() => {"
        "const img = document.querySelector('#fit-curve img'); if (img) window.seen.add(img.src);"
        "window.seen.add(document.querySelector('#fit-status').innerText.split('\\n').pop().split(':')[0]); }, 50); }"
    )
    page.locator("#fit-button").click()
    status_says(page, "#fit-status", "Done:")
    seen = page.evaluate("() => [...window.seen]")
    assert "Learning from this photo alone" in seen, seen
    assert sum(s.startswith(("http", "/", "blob:")) for s in seen) >= 2, f"the curve is redrawn while it learns: {seen}"
    wait_until_idle(page)
    assert wait_for_new_image(page, "#fit-estimate", None)[:2] == (512, 512)
    for selector in ("#fit-classical", "#fit-supervised"):
        assert image_src(page, selector)
    metrics = metric_rows(page, "#fit-metrics")
    assert len(metrics["DivNoising, this photo alone (mean of 16 samples)"]) == 2, metrics  # PSNR and SSIM
    installed = (BUNDLED_DIR / "divnoising-vae" / "model.safetensors").is_file()
    assert page.locator("#fit-bundled").is_visible() == installed
    if not installed:
        assert "is not installed" in page.locator("#fit-status").inner_text()
    v.screenshot("fit-photo")
    first_estimate = image_src(page, "#fit-estimate")

    drag_slider(page, "#fit-seconds", 0.6)  # about three minutes: stopped long before
    page.locator("#fit-button").click()
    status_says(page, "#fit-status", "Learning from this photo alone:")
    page.locator("#fit-stop").click()
    status_says(page, "#fit-status", "Stopped early:")
    assert page.locator("#fit-status").inner_text().strip().startswith("Stopped early: learned")
    wait_until_idle(page)
    assert image_src(page, "#fit-estimate") != first_estimate
    assert metric_rows(page, "#fit-metrics")["training steps on this photo"][0] >= 1
    v.screenshot("fit-photo-stopped")
    v.assert_no_js_errors()


def test_sample_faces(visit):
    v = visit()
    page = v.page
    page.get_by_role("tab", name="Digits & faces", exact=True).click()
    old_src = image_src(page, "#sample-grid")
    select_model(page, "faces-vae")
    wait_for_new_image(page, "#sample-grid", old_src)  # the model change redraws the samples
    wait_until_idle(page)
    old_src = image_src(page, "#sample-grid")
    n = int(drag_slider(page, "#sample-n", 0.05))
    page.locator("#sample-button").click()
    size = wait_for_new_image(page, "#sample-grid", old_src)[:2]
    assert size == size_of(generative.sample_grid("faces-vae", n, 1.0, 0))
    v.screenshot("sampling")
    v.assert_no_js_errors()


def shown_image(page: Page, selector: str, tmp_path: Path, name: str) -> Path:
    """The picture an input shows, downloaded as the browser has it."""
    path = tmp_path / f"{name}.png"
    fetch_image(page, page.locator(f"{selector} img").first.get_attribute("src")).save(path)
    return path


def strip_frames(strip: np.ndarray, model_name: str, steps: int) -> list[np.ndarray]:
    """The frames of an interpolation strip (torchvision's make_grid, padding 2, enlarged as the core does)."""
    size = generative.get_model(model_name).config.image_size
    scale = max(1, generative.DISPLAY_PX // size)
    return [
        strip[2 * scale : (2 + size) * scale, (2 + i * (size + 2)) * scale : (2 + i * (size + 2) + size) * scale]
        for i in range(steps)
    ]


def interpolate_and_check(page: Page, tmp_path: Path, model_name: str, name: str) -> np.ndarray:
    """Press Interpolate; the strip's first and last frames are the core's decodings of the pictures that Start
    and End show (the whole strip too, up to rounding), so what is shown is what was sent. Returns the strip."""
    steps = int(page.locator("#interp-steps input[type=number]").input_value())
    method = "linear" if page.get_by_label("linear", exact=True).is_checked() else "spherical"
    shown_a = shown_image(page, "#interp-start", tmp_path, f"{name}-start")
    shown_b = shown_image(page, "#interp-end", tmp_path, f"{name}-end")
    old_src = image_src(page, "#interp-strip")
    page.locator("#interp-button").click()
    _, _, src = wait_for_new_image(page, "#interp-strip", old_src)
    strip = np.asarray(fetch_image(page, src).convert("L")).astype(int)
    expected = np.asarray(Image.fromarray(generative.interpolation(model_name, shown_a, shown_b, steps, method)[0]))
    expected = np.asarray(Image.fromarray(expected).convert("L")).astype(int)
    assert strip.shape == expected.shape, name
    got, want = strip_frames(strip, model_name, steps), strip_frames(expected, model_name, steps)
    for i in (0, -1):
        assert np.abs(got[i] - want[i]).mean() < 1.0, f"{name}: frame {i} is not the decoding of the shown picture"
    assert np.abs(strip - expected).mean() < 1.0, name
    return strip


def assert_label_above(page: Page, selector: str) -> None:
    """Gradio's floating label and buttons sit above the picture, not over its first frames or its title."""
    img = page.locator(f"{selector} img").first.bounding_box()
    label = page.locator(f"{selector} [data-testid=block-label]").bounding_box()
    assert label["y"] + label["height"] <= img["y"] + 1, (selector, label, img)


def assert_not_editable(page: Page, selector: str) -> None:
    """An output picture offers no upload, webcam or paste (it is not an input)."""
    assert page.locator(f"{selector} input[type=file]").count() == 0, f"{selector} offers an upload"
    assert page.locator(f"{selector} button[aria-label*='ebcam' i]").count() == 0, f"{selector} offers a webcam"


def test_interpolation_uses_the_pictures_shown(visit, handwritten_seven, tmp_path):
    """Issue 14: after a model change, an example click, an upload or a drawing, the strip goes from the picture
    Start shows to the picture End shows; digit examples are not on offer for faces-vae."""
    v = visit()
    page = v.page
    open_digits_tab(page, "Latent interpolation", "#interp-strip")
    digit_pairs = page.get_by_text("Example pairs (typed digits", exact=False)
    face_pairs = page.get_by_text("Example pairs (faces)", exact=True)
    assert digit_pairs.is_visible() and not face_pairs.is_visible()
    assert_label_above(page, "#interp-strip")

    old_src = image_src(page, "#interp-strip")
    select_model(page, "faces-vae")  # Start and End become the face model's examples
    wait_for_new_image(page, "#interp-strip", old_src)
    wait_until_idle(page)
    wait_for(page, "() => !document.querySelector('#interp-start img').src.includes('digit-')")
    face_pairs.wait_for(state="visible")
    digit_pairs.wait_for(state="hidden")
    page.get_by_label("linear", exact=True).check()  # the model change drew the spherical path: a new strip
    faces = interpolate_and_check(page, tmp_path, "faces-vae", "faces")

    old_src = image_src(page, "#interp-strip")
    select_model(page, "mnist-vae-2d")
    wait_for_new_image(page, "#interp-strip", old_src)
    wait_until_idle(page)
    digit_pairs.wait_for(state="visible")
    face_pairs.wait_for(state="hidden")
    page.locator("table tr:visible").filter(has=page.locator("img[src*='digit-0']")).first.click()  # the pair 0 -> 7
    wait_for(page, "() => document.querySelector('#interp-start img').src.includes('digit-0')")
    wait_for(page, "() => document.querySelector('#interp-end img').src.includes('digit-7')")
    zero_seven = interpolate_and_check(page, tmp_path, "mnist-vae-2d", "zero-seven")
    assert zero_seven.shape != faces.shape

    upload(page, "#interp-start", handwritten_seven)  # an upload, then a whole example row replaces both
    wait_for(page, "() => document.querySelector('#interp-start img')?.src.includes('seven')")
    uploaded = interpolate_and_check(page, tmp_path, "mnist-vae-2d", "upload")
    assert np.abs(uploaded - zero_seven).mean() > 1, "the upload reached the model"
    page.locator("table tr:visible").filter(has=page.locator("img[src*='digit-2']")).first.click()  # the pair 2 -> 5
    wait_for(page, "() => document.querySelector('#interp-start img').src.includes('digit-2')")
    wait_for(page, "() => document.querySelector('#interp-end img').src.includes('digit-5')")
    interpolate_and_check(page, tmp_path, "mnist-vae-2d", "two-five")

    draw_stroke(page, "#interp-draw")  # a drawing copied into End
    page.locator("#interp-draw-end").click()
    wait_for(page, "() => document.querySelector('#interp-end img').src.includes('composite')")
    steps = int(drag_slider(page, "#interp-steps", 0.15))
    page.get_by_label("linear", exact=True).check()
    interpolate_and_check(page, tmp_path, "mnist-vae-2d", "drawing")
    link = page.locator('#interp-download a[download="interpolation-linear.gif"]')
    assert fetch_image(page, link.get_attribute("href")).n_frames == 2 * steps - 2  # there and back again
    v.screenshot("interpolation")
    v.assert_no_js_errors()


def test_labels_leave_the_pictures_uncovered(visit):
    v = visit()
    page = v.page
    open_digits_tab(page, "Sampling", "#traverse-row")
    wait_for_image(page, "#scatter")
    for selector in ("#sample-grid", "#traverse-row", "#manifold", "#scatter"):
        assert_label_above(page, selector)
        assert_not_editable(page, selector)
    notes = page.locator("#model-notes")
    assert "mnist-vae-2d" in notes.inner_text()
    assert float(notes.evaluate("e => getComputedStyle(e.querySelector('li')).fontSize")[:-2]) >= 14, "readable notes"
    v.assert_no_js_errors()


def test_reconstruct_an_uploaded_digit(visit, handwritten_seven):
    v = visit()
    page = v.page
    open_digits_tab(page, "Reconstruct digits & faces", "#reconstruct-panel")
    old_src, old_metrics = image_src(page, "#reconstruct-panel"), metric_rows(page, "#reconstruct-metrics")
    upload(page, "#reconstruct-image", handwritten_seven)
    wait_for(page, "() => document.querySelector('#reconstruct-image img')?.src.includes('seven')")
    choose(page, "#reconstruct-noise", "Masked square")
    level = drag_slider(page, "#reconstruct-level", 0.4)
    page.locator("#reconstruct-button").click()
    size = wait_for_new_image(page, "#reconstruct-panel", old_src)[:2]
    core = generative.denoise("mnist-vae", str(handwritten_seven), "mask", level, 16, 0)
    assert size == size_of(core.panel)
    wait_until_idle(page)
    metrics = metric_rows(page, "#reconstruct-metrics")
    assert metrics != old_metrics
    assert metrics["corrupted"] == core.rows[0][1:]  # the same PSNR and SSIM as the core computes
    v.screenshot("reconstruct")
    v.assert_no_js_errors()


def test_phone_width_stacks_the_layout(visit):
    v = visit(PHONE)
    page = v.page
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    photo, button, result = (
        page.locator(s).bounding_box() for s in ("#enhance-photo", "#enhance-button", "#enhance-vae")
    )
    for box in (photo, button, result):
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert photo["y"] < button["y"] < result["y"], "controls and results should stack in one column"
    old_src = image_src(page, "#enhance-vae")
    choose(page, "#enhance-problem", "JPEG blocks")
    page.locator("#enhance-button").click()  # Playwright scrolls to it and checks nothing covers it
    assert wait_for_new_image(page, "#enhance-vae", old_src)[:2] == (512, 512)  # the astronaut example
    wait_until_idle(page)
    for cell in page.locator("#enhance-metrics [role=gridcell]").all():  # long row names wrap: numbers stay in view
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (cell.inner_text(), box)
    v.screenshot("phone")
    v.assert_no_js_errors()


def open_lab_panel(page: Page, name: str) -> None:
    page.get_by_role("tab", name="Lab", exact=True).click()
    page.get_by_role("tab", name=name, exact=True).click()


def test_train_live_autoencoder_then_vae(visit):
    """The preset buttons set beta; each run streams frames and ends with '(done)'; the previous run is kept."""
    v = visit()
    page = v.page
    open_lab_panel(page, "Train live")
    drag_slider(page, "#lab-seconds", 0.0)  # the shortest budget, 5 s
    page.locator("#lab-preset-ae").click()
    wait_for(page, "() => document.querySelector('#lab-beta input[type=number]').value === '0'")
    page.locator("#lab-train").click()
    status_says(page, "#lab-status", "(done)")
    assert "autoencoder" in page.locator("#lab-status").inner_text()
    ae_samples = image_src(page, "#lab-samples")
    assert ae_samples and image_src(page, "#lab-map") and image_src(page, "#lab-curves")
    for selector in ("#lab-curves", "#lab-samples", "#lab-recons", "#lab-map"):
        assert_label_above(page, selector)  # over the top rows of a grid, or over a plot's title, otherwise
        assert_not_editable(page, selector)
    page.locator("#lab-preset-vae").click()
    wait_for(page, "() => document.querySelector('#lab-beta input[type=number]').value === '1'")
    page.locator("#lab-train").click()
    wait_for(page, "() => document.querySelector('#lab-status').innerText.startsWith('VAE')")
    status_says(page, "#lab-status", "(done)")
    assert image_src(page, "#lab-samples") != ae_samples
    v.screenshot("lab-train-live")
    v.assert_no_js_errors()


def test_latent_explorer_locates_a_drawing_and_decodes_a_click(visit):
    v = visit()
    page = v.page
    open_lab_panel(page, "Latent explorer")
    wait_for_image(page, "#lab-latent-map")
    wait_until_idle(page)
    old_map, old_text = image_src(page, "#lab-latent-map"), page.locator("#lab-locate-text").inner_text()
    draw_stroke(page, "#lab-draw")
    page.locator("#lab-draw-use").click()  # copies the drawing into the input and locates it
    wait_for_new_image(page, "#lab-latent-map", old_map)
    wait_for(page, "(old) => document.querySelector('#lab-locate-text').innerText !== old", old_text)
    assert "mu = (" in page.locator("#lab-locate-text").inner_text()
    box = page.locator("#lab-latent-map img").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)  # z near (2, 2)
    wait_for_image(page, "#lab-decoded")
    z1 = float(page.locator("#lab-z1 input").input_value())
    z2 = float(page.locator("#lab-z2 input").input_value())
    assert z1 == pytest.approx(2.0, abs=0.3) and z2 == pytest.approx(2.0, abs=0.3)
    v.screenshot("lab-latent-explorer")
    v.assert_no_js_errors()


def test_compress_a_photo_and_decode_the_downloaded_file(visit, cat_photo, tmp_path):
    """Upload, pick a quality, Compress; download the .vaez like a person, upload it to the decoder: the decoded
    picture is the one shown, pixel for pixel, and the file's bytes and bits per pixel are the table's."""
    from vae_demo.codec.anchors import ANCHORS

    v = visit()
    page = v.page
    page.get_by_role("tab", name="Compress", exact=True).click()
    page.wait_for_selector("#compress-vae img")  # the first view: the astronaut at quality 3
    wait_until_idle(page)
    old_src = image_src(page, "#compress-vae")
    upload(page, "#compress-photo", cat_photo)
    page.wait_for_function("() => document.querySelector('#compress-photo img')?.src.includes('cat')")
    quality = drag_slider(page, "#compress-quality", 0.2)
    page.locator("#compress-button").click()
    width, height, shown_src = wait_for_new_image(page, "#compress-vae", old_src)
    assert (width, height) == (190, 142)
    wait_until_idle(page)
    rows = metric_rows(page, "#compress-metrics")
    vae_bytes, vae_bpp = rows["VAE (.vaez)"][:2]
    for name, key in (("JPEG", "jpeg"), ("WebP", "webp")):  # at most the VAE's bytes, or the codec's smallest file
        smallest = len(ANCHORS[key].at_most(Image.open(cat_photo).convert("RGB"), 0)[0])
        assert rows[name][0] <= vae_bytes or rows[name][0] == smallest > vae_bytes, rows

    with page.expect_download() as download:
        page.locator("#compress-download a[download$='.vaez']").click()
    assert download.value.suggested_filename == "cat.vaez"
    saved = tmp_path / "downloads" / "cat.vaez"
    download.value.save_as(saved)
    data = saved.read_bytes()
    assert data[:4] == b"VAEZ" and len(data) == vae_bytes
    assert vae_bpp == pytest.approx(len(data) * 8 / (190 * 142), abs=1e-4)

    upload(page, "#decompress-file", saved)
    page.locator("#decompress-button").click()
    _, _, decoded_src = wait_for_new_image(page, "#decompress-image", image_src(page, "#decompress-image"))
    decoded, shown = np.asarray(fetch_image(page, decoded_src)), np.asarray(fetch_image(page, shown_src))
    assert decoded.shape == shown.shape == (142, 190, 3) and np.array_equal(decoded, shown)
    page.wait_for_function("() => document.querySelector('#decompress-info textarea').value.includes('190x142')")
    info = page.locator("#decompress-info textarea").input_value()
    assert f"quality {quality:g}:" in info and f"{len(data)} bytes, {len(data) * 8 / (190 * 142):.4f} bits" in info
    v.screenshot("compress")
    v.assert_no_js_errors()


def test_any_digit_in_any_style_writes_a_drawn_seven_as_every_digit(visit, tmp_path):
    """Write one digit in many styles, then draw a 7 and see every digit written in its style: the pictures are the
    core's (vae_demo.demo.styles) for the inputs shown."""
    from vae_demo.demo import styles

    v = visit()
    page = v.page
    open_lab_panel(page, "Any digit in any style")
    wait_for_image(page, "#lab-cond-grid")
    wait_for_image(page, "#lab-style-row")
    wait_until_idle(page)
    assert_label_above(page, "#lab-cond-grid")
    old_grid = image_src(page, "#lab-cond-grid")
    digit = int(drag_slider(page, "#lab-cond-digit", 0.8))
    page.locator("#lab-cond-button").click()
    _, _, src = wait_for_new_image(page, "#lab-cond-grid", old_grid)
    grid = np.asarray(fetch_image(page, src).convert("L")).astype(int)
    expected = np.asarray(Image.fromarray(styles.conditional(digit, 0, 16)).convert("L")).astype(int)
    assert grid.shape == expected.shape and np.abs(grid - expected).mean() < 1.0

    old_row = image_src(page, "#lab-style-row")
    draw_seven(page, "#lab-style-draw")
    page.locator("#lab-style-draw-use").click()  # copies the drawing into the input, then writes every digit
    wait_for(page, "() => document.querySelector('#lab-style-image img')?.src.includes('composite')")
    _, _, src = wait_for_new_image(page, "#lab-style-row", old_row)
    wait_until_idle(page)
    row = np.asarray(fetch_image(page, src).convert("L")).astype(int)
    drawn = shown_image(page, "#lab-style-image", tmp_path, "drawn-seven")
    expected_row, note = styles.analogies(str(drawn))
    expected_row = np.asarray(Image.fromarray(expected_row).convert("L")).astype(int)
    assert row.shape == expected_row.shape and np.abs(row - expected_row).mean() < 1.0
    assert page.locator("#lab-style-note").inner_text().strip() == note
    v.screenshot("lab-any-digit")
    v.assert_no_js_errors()


@skip_without_bundled("mnist-hvae")
def test_the_layers_panel_draws_its_rows_and_splits_a_digit_by_layer(visit):
    """The ladder VAE's panel: the first view's samples, then a new seed redraws them, and a typed 1 split by layer
    shows the table, sentence and figure the core gives (vae_demo.demo.layers)."""
    from vae_demo.demo import layers

    v = visit()
    page = v.page
    open_lab_panel(page, "Layers")
    wait_for_image(page, "#lab-layers-samples")
    wait_until_idle(page)
    assert_label_above(page, "#lab-layers-samples")
    old = image_src(page, "#lab-layers-samples")
    page.locator("#lab-layers-seed input").fill("7")
    page.locator("#lab-layers-sample").click()
    _, _, src = wait_for_new_image(page, "#lab-layers-samples", old)
    shown = np.asarray(fetch_image(page, src).convert("L")).astype(int)
    expected = np.asarray(Image.fromarray(layers.layer_samples(7)).convert("L")).astype(int)
    assert shown.shape == expected.shape and np.abs(shown - expected).mean() < 1.0

    page.locator("#lab-layers-digit").click()
    wait_for_image(page, "#lab-layers-depth")
    wait_for(page, "() => document.querySelector('#lab-layers-text').innerText.includes('bits of KL')")
    r = layers.layers_of_digit(None, 0)
    assert page.locator("#lab-layers-text").inner_text().strip() == r.text
    assert "KL of z3" in page.locator("#lab-layers-table").inner_text()
    v.screenshot("lab-layers")
    v.assert_no_js_errors()
