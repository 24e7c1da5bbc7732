"""Load test: N concurrent gradio_client clients call endpoints of an app this script launches.

    python benchmarks/load.py --clients 16 --seconds 60 --endpoint /denoise --endpoint /sample --json load.json
    python benchmarks/load.py --clients 16 --seconds 60 --split --endpoint /train_live --endpoint /sample \
        --train-seconds 10 --json load_train_live.json

Each client is a thread with its own ``gradio_client.Client``, cycling through the endpoints until the
time is up (with ``--split``, client i calls only endpoint i mod the number of endpoints: half the class
presses Train live while the other half samples). Every request is what a person in a class might send,
drawn at random per request: a photo uploaded from scikit-image's five samples (0.14 to 0.27 megapixels,
colour or grey) with a random noise kind, level or problem for /denoise and /enhance; one of those photos
at a random quality (0 to 6) for /compress; 64 samples from a random seed for /sample; a live run of
``--train-seconds`` with beta 0 or 1 for /train_live (a generator: it streams a frame a second).
(Random draws also mean no two people get byte-identical answers, which Gradio would serve from one
cache file; ``--same-inputs`` sends the defaults instead.) Prints requests, errors, throughput and
p50/p95/max latency per endpoint (a request lasts until its last output) and the p50/p95 time to its first
output (for /train_live: the wait in its queue plus the first second of training); the JSON holds {"clients",
"seconds", "endpoints": {NAME: {"requests", "errors", "p50", "p95", "max", "first_p50", "first_p95"}}} in
seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from vae_demo.core.provenance import PROVENANCE_KEY, provenance
from vae_demo.demo.examples import PHOTO_EXAMPLES, skimage_data_path

ROOT = Path(__file__).resolve().parent.parent

PHOTOS = [str(skimage_data_path(f)) for f in PHOTO_EXAMPLES.values()]


def request_for(endpoint: str, rng: random.Random, train_seconds: float = 10.0) -> dict:
    """Keyword arguments of one realistic request to ``endpoint`` (the defaults for the others)."""
    from gradio_client import handle_file

    seed = rng.randrange(2**31)
    if endpoint == "/denoise":
        noise = rng.choice(["gaussian", "poisson", "salt_and_pepper"])
        level = {"gaussian": rng.uniform(5, 50), "poisson": rng.uniform(5, 100), "salt_and_pepper": rng.uniform(1, 20)}
        return {"image": handle_file(rng.choice(PHOTOS)), "noise": noise, "level": round(level[noise], 1), "seed": seed}
    if endpoint == "/enhance":
        return {
            "image": handle_file(rng.choice(PHOTOS)),
            "problem": rng.choice(["noise", "blur", "jpeg", "x2"]),
            "strength": round(rng.uniform(0.2, 0.8), 2),
            "seed": seed,
        }
    if endpoint == "/compress":
        return {"image": handle_file(rng.choice(PHOTOS)), "quality": round(rng.uniform(0, 6), 2)}
    if endpoint == "/fit_photo":  # a short budget: the fits queue one at a time
        return {
            "image": handle_file(rng.choice(PHOTOS)),
            "level": round(rng.uniform(10, 40), 1),
            "seconds": 5,
            "seed": seed,
        }
    if endpoint == "/sample":
        return {"model_name": rng.choice(["mnist-vae", "faces-vae"]), "n": 64, "seed": seed}
    if endpoint == "/train_live":  # the two presets: an autoencoder or a VAE
        return {"beta": rng.choice([0.0, 1.0]), "seconds": train_seconds, "seed": seed}
    return {}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--endpoint", action="append", dest="endpoints", help="repeat for several (default /sample)")
    p.add_argument(
        "--same-inputs",
        action="store_true",
        help="every request sends the endpoint's defaults (a class all pressing the button as it is)",
    )
    p.add_argument("--split", action="store_true", help="client i calls only endpoint i mod the number of endpoints")
    p.add_argument(
        "--train-seconds", type=float, default=10.0, help="time budget of each /train_live request (default 10)"
    )
    p.add_argument("--url", help="test an app that is already running instead of launching one")
    p.add_argument("--json", required=True, type=Path)
    return p.parse_args(argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_app() -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    log = tempfile.TemporaryFile()  # noqa: SIM115 - it lives as long as the app it logs
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"app.py exited:\n{log.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"app.py did not answer {url} within 120 s")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def run_clients(args, url: str, endpoints: list[str]) -> tuple[dict, float]:
    """``args.clients`` threads calling ``endpoints`` for ``args.seconds``: per endpoint the latencies, the times to
    the first output and the errors; and the wall time with the calls still running at the end."""
    from gradio_client import Client

    results = {e: {"latencies": [], "first": [], "errors": []} for e in endpoints}
    lock = threading.Lock()
    clients = [Client(url, verbose=False, analytics_enabled=False) for _ in range(args.clients)]
    stop_at = time.monotonic() + args.seconds

    def work(i: int) -> None:
        n, rng = i, random.Random(i)
        while time.monotonic() < stop_at:
            endpoint = endpoints[n % len(endpoints)]
            n += 0 if args.split else 1
            kwargs = {} if args.same_inputs else request_for(endpoint, rng, args.train_seconds)
            start = time.perf_counter()
            first = None
            try:
                job = clients[i].submit(**kwargs, api_name=endpoint)
                for _ in job:  # outputs as they arrive: one, or a generator's frames
                    first = first or time.perf_counter() - start
                job.result()  # raises the app's error, if any
                error = None
            except Exception as err:  # noqa: BLE001 - every failure counts as an error
                error = f"{type(err).__name__}: {err}"[:200]
            elapsed = time.perf_counter() - start
            with lock:
                if error:
                    results[endpoint]["errors"].append(error)
                else:
                    results[endpoint]["latencies"].append(elapsed)
                    results[endpoint]["first"].append(first or elapsed)

    start = time.monotonic()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.monotonic() - start


def endpoint_row(r: dict, wall: float) -> dict:
    """One endpoint's requests, errors, latency percentiles and throughput."""
    lat = r["latencies"]
    return {
        "requests": len(lat) + len(r["errors"]),
        "errors": len(r["errors"]),
        "p50": round(statistics.median(lat), 3) if lat else None,
        "p95": round(percentile(lat, 0.95), 3),
        "max": round(max(lat), 3) if lat else None,
        "first_p50": round(statistics.median(r["first"]), 3) if r["first"] else None,
        "first_p95": round(percentile(r["first"], 0.95), 3),
        "throughput_per_s": round(len(lat) / wall, 3),
        "first_errors": r["errors"][:3],
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    endpoints = args.endpoints or ["/sample"]
    proc, url = (None, args.url) if args.url else launch_app()
    try:
        results, wall = run_clients(args, url, endpoints)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:  # a run still training in a worker thread: do not lose the report
                proc.kill()
                proc.wait()
    report = {
        "clients": args.clients,
        "seconds": args.seconds,
        "wall_seconds": round(wall, 1),
        "same_inputs": args.same_inputs,
        "split": args.split,
        "train_seconds": args.train_seconds if "/train_live" in endpoints else None,
        "endpoints": {e: endpoint_row(r, wall) for e, r in results.items()},
    }
    print(f"{args.clients} clients for {args.seconds:g} s ({wall:.0f} s with the calls still running at the end)")
    print(
        f"{'endpoint':12s} {'requests':>8s} {'errors':>6s} {'req/s':>6s} {'p50 s':>7s} {'p95 s':>7s} {'max s':>7s} "
        f"{'first p50':>9s} {'first p95':>9s}"
    )
    for e, row in report["endpoints"].items():
        print(
            f"{e:12s} {row['requests']:8d} {row['errors']:6d} {row['throughput_per_s']:6.2f} "
            f"{row['p50'] or 0:7.2f} {row['p95']:7.2f} {row['max'] or 0:7.2f} "
            f"{row['first_p50'] or 0:9.2f} {row['first_p95']:9.2f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report[PROVENANCE_KEY] = provenance()
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
