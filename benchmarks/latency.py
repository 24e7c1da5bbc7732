"""Latency on this machine: app start to the page and to the first answered request, warm sampling /
interpolation, and a 12-megapixel photo through Enhance.

    python benchmarks/latency.py --repeats 5 --photo-repeats 3 --json latency.json

Each figure is the median (with min and max) of repeated runs. Models come from the bundled
``checkpoints/NAME`` (through ``vae_demo.core.hub.load_model``) or from ``--checkpoint-dir DIR/NAME``.
``--app`` times another copy of the app (run in its own folder, with its own code), e.g. an older commit's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from vae_demo.core.hub import bundled_path, load_checkpoint, load_model
from vae_demo.core.provenance import PROVENANCE_KEY, provenance
from vae_demo.generative.inference import interpolate, sample

ROOT = Path(__file__).resolve().parent.parent

GOALS = {
    "app_start_to_page_s": 4.0,
    "app_start_to_first_request_s": 5.0,
    "sample64_ms": 50.0,
    "interp16_ms": 100.0,
    "enhance_12mp_auto_s": 30.0,
}
MODELS = {"mnist-vae": "", "faces-vae": "faces_"}  # model name -> prefix of its metric names
PHONE_PHOTO = (4000, 3000)  # a 12-megapixel phone photo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def launched(app: Path, threads: int | None, timeout: float = 120.0) -> Iterator[tuple[str, float]]:
    """``python app.py`` on a free port, offline: yields (url, seconds from the launch to its page answering)."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, app.name], cwd=app.parent, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            while True:
                if proc.poll() is not None or time.perf_counter() - start > timeout:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"app.py did not serve {url} (exit code {proc.returncode}):\n{tail}")
                try:
                    with urllib.request.urlopen(url, timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.05)
            yield url, start
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def app_start_seconds(app: Path, threads: int | None) -> tuple[float, float]:
    """Seconds from launching ``python app.py`` to its page answering, and to the return of its first real
    ``/sample`` call."""
    from gradio_client import Client  # imported before the clock starts

    with launched(app, threads) as (url, start):
        page = time.perf_counter() - start
        Client(url, verbose=False).predict(api_name="/sample")
        return page, time.perf_counter() - start


def phone_photo(folder: Path) -> Path:
    """A 4000x3000 JPEG: scikit-image's astronaut enlarged, as a phone would upload it."""
    from PIL import Image
    from skimage import data

    path = folder / "phone.jpg"
    Image.fromarray(data.astronaut()).resize(PHONE_PHOTO, Image.BICUBIC).save(path, quality=92)
    return path


def enhance_seconds(app: Path, threads: int | None, repeats: int) -> list[float]:
    """Seconds of ``/enhance`` on a 12-megapixel photo with problem Auto and the other inputs at their defaults, on
    a warm app (a first call on the default photo loads the models), from the upload to the last output fetched."""
    from gradio_client import Client, handle_file

    with tempfile.TemporaryDirectory() as folder, launched(app, threads) as (url, _start):
        photo = handle_file(str(phone_photo(Path(folder))))
        client = Client(url, verbose=False, download_files=folder)
        client.predict(api_name="/enhance")
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            client.predict(image=photo, problem="auto", api_name="/enhance")
            seconds.append(time.perf_counter() - start)
        return seconds


def time_ms(fn: Callable[[int], object], runs: int, warmup: int = 3) -> list[float]:
    """Wall-clock milliseconds of ``fn(i)`` for ``runs`` calls after ``warmup`` discarded ones."""
    for i in range(warmup):
        fn(i)
    out = []
    for i in range(runs):
        t = time.perf_counter()
        fn(warmup + i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def time_model(model: torch.nn.Module, runs: int) -> dict[str, list[float]]:
    """Warm timings of 64 samples and of a 16-step spherical interpolation between two samples."""
    x = sample(model, n=2, seed=0)
    x0, x1 = x[:1], x[1:]
    return {
        "sample64_ms": time_ms(lambda i: sample(model, n=64, temperature=1.0, seed=i), runs),
        "interp16_ms": time_ms(lambda i: interpolate(model, x0, x1, steps=16, method="spherical"), runs),
    }


def get_model(name: str, checkpoint_dir: Path | None) -> tuple[torch.nn.Module, str] | None:
    if checkpoint_dir is not None:
        return load_checkpoint(checkpoint_dir / name), str(checkpoint_dir / name)
    if (bundled_path(name) / "model.safetensors").is_file():
        return load_model(name), str(bundled_path(name))
    return None


def summarise(name: str, values: list[float], unit: str, source: str) -> dict:
    goal, median = GOALS[name.removeprefix("faces_")], statistics.median(values)
    return {
        "median": median,
        "min": min(values),
        "max": max(values),
        "goal": goal,
        "unit": unit,
        "met": median <= goal,
        "n": len(values),
        "source": source,
    }


def model_figures(args, results: dict, skipped: dict) -> torch.device | None:
    """Warm sampling and interpolation of each of MODELS, in this process."""
    device = None
    for name, prefix in MODELS.items():
        loaded = get_model(name, args.checkpoint_dir)
        if loaded is None:
            skipped[name] = f"{bundled_path(name)}/model.safetensors is missing; pass --checkpoint-dir"
            continue
        model, source = loaded
        device = model.device
        for metric, ms in time_model(model, args.runs).items():
            results[prefix + metric] = summarise(prefix + metric, ms, "ms", source)
    return device


def app_figures(args, results: dict, skipped: dict) -> None:
    """The app's start (``--repeats`` launches) and the 12-megapixel Enhance (``--photo-repeats`` calls)."""
    starts = ("app_start_to_page_s", "app_start_to_first_request_s")
    photo = "enhance_12mp_auto_s"
    if args.skip_app or not args.app.is_file():
        why = "--skip-app" if args.skip_app else f"{args.app} is missing"
        skipped.update(dict.fromkeys((*starts, photo), why))
        return
    app = args.app.resolve()
    if args.repeats < 1:
        skipped.update(dict.fromkeys(starts, "--repeats 0"))
    else:
        try:
            pairs = [app_start_seconds(app, args.threads) for _ in range(args.repeats)]
            for i, key in enumerate(starts):
                results[key] = summarise(key, [pair[i] for pair in pairs], "s", str(app))
        except Exception as err:  # noqa: BLE001 - report the failure in the table and JSON, keep the other figures
            skipped.update(dict.fromkeys(starts, f"failed: {type(err).__name__}: {err}"))
    if args.photo_repeats < 1:
        skipped[photo] = "--photo-repeats 0"
        return
    try:
        results[photo] = summarise(photo, enhance_seconds(app, args.threads, args.photo_repeats), "s", str(app))
    except Exception as err:  # noqa: BLE001 - as above
        skipped[photo] = f"failed: {type(err).__name__}: {err}"


def print_table(results: dict, skipped: dict) -> None:
    header = ("metric", "median", "min", "max", "goal", "met")
    rows = [
        (
            k,
            f"{r['median']:.2f} {r['unit']}",
            f"{r['min']:.2f}",
            f"{r['max']:.2f}",
            f"<= {r['goal']:g} {r['unit']}",
            "met" if r["met"] else "not met",
        )
        for k, r in results.items()
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for i, r in enumerate([header, *rows]):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for k, why in skipped.items():
        print(f"skipped {k}: {why}")


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="app launches to time, 0: none (the goals: medians of 5)")
    p.add_argument("--photo-repeats", type=int, default=3, help="12-megapixel Enhance calls to time (0: none)")
    p.add_argument("--runs", type=int, default=30, help="timed inference calls per metric (after 3 warm-ups)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (also OMP/MKL for the app)")
    p.add_argument("--checkpoint-dir", type=Path, default=None, help="folder of NAME/ checkpoints instead of bundled")
    p.add_argument("--app", type=Path, default=ROOT / "app.py", help="the Gradio app to launch (run in its folder)")
    p.add_argument("--skip-app", action="store_true", help="do not time the app")
    p.add_argument("--json", required=True, type=Path)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    results, skipped = {}, {}
    device = model_figures(args, results, skipped)
    app_figures(args, results, skipped)
    print_table(results, skipped)
    out = {
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "device": str(device or "n/a"),
        "results": results,
        "skipped": skipped,
        PROVENANCE_KEY: provenance(),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    sys.exit(any(why.startswith("failed") for why in main()["skipped"].values()))
