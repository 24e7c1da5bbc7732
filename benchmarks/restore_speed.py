"""Speed of the restoration VAE: a 512x512 colour photo (goal <= 0.5 s median on 2 CPU cores),
the same with K posterior samples, and a 4096x4096 photo restored in tiles (time and peak memory).

    python benchmarks/restore_speed.py --threads 2 --repeats 7 --json restore_speed.json

On a GPU (``--device cuda``) the table also gives megapixels per second.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from vae_demo.core.hub import load_checkpoint
from vae_demo.core.provenance import PROVENANCE_KEY, provenance
from vae_demo.restoration.problems import DENOISE_MODEL
from vae_demo.restoration.restore import restore

ROOT = Path(__file__).resolve().parent.parent
GOAL_512_S = 0.5

BIG_SCRIPT = """
import json, resource, sys, time, torch
from vae_demo.core.hub import load_checkpoint
from vae_demo.restoration.restore import restore
torch.set_num_threads(int(sys.argv[2]))
model = load_checkpoint(sys.argv[1], sys.argv[3])
y = torch.rand(1, 3, 4096, 4096)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
restore(model, y, 25, tile=512, overlap=64)
if sys.argv[3] == "cuda":
    torch.cuda.synchronize()
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "rss_before_mb": before / 1024, "rss_peak_mb": after / 1024}))
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(  # default: the model behind Auto, Noise and the Denoise tab
        "--checkpoint", default=str(ROOT / "checkpoints" / DENOISE_MODEL), help="restoration VAE folder"
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--device", default="cpu")
    p.add_argument("--skip-big", action="store_true", help="leave out the 4096x4096 photo")
    p.add_argument("--json", required=True, type=Path)
    return p.parse_args(argv)


def timed(fn, repeats: int, device: str) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        out.append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_checkpoint(args.checkpoint, args.device)
    y = torch.rand(1, 3, 512, 512, generator=torch.Generator().manual_seed(0)).to(args.device)
    rows = {
        "restore_512_mode_s": timed(lambda: restore(model, y, 25), args.repeats, args.device),
        f"restore_512_mode_and_{args.samples}_samples_s": timed(
            lambda: restore(model, y, 25, samples=args.samples), args.repeats, args.device
        ),
        "restore_512_blind_s": timed(lambda: restore(model, y, None), args.repeats, args.device),
    }
    report = {
        "device": args.device,
        "threads": args.threads,
        "checkpoint": args.checkpoint,
        "cpu_count": len(__import__("os").sched_getaffinity(0)),
        "goal_512_s": GOAL_512_S,
        "metrics": {},
    }
    for name, values in rows.items():
        report["metrics"][name] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    report["metrics"]["megapixels_per_s_512"] = 512 * 512 / 1e6 / report["metrics"]["restore_512_mode_s"]["median"]
    if not args.skip_big:
        done = subprocess.run(
            [sys.executable, "-c", BIG_SCRIPT, args.checkpoint, str(args.threads), args.device],
            capture_output=True,
            text=True,
            check=True,
        )
        big = json.loads(done.stdout.strip().splitlines()[-1])
        big["megapixels_per_s"] = 4096 * 4096 / 1e6 / big["seconds"]
        report["metrics"]["restore_4096_tiled"] = big
    report["self_rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"restoration VAE on {args.device}, {args.threads} threads ({args.repeats} repeats)")
    print(f"{'measure':40s} {'median':>9s} {'min':>9s} {'max':>9s}")
    for name, m in report["metrics"].items():
        if isinstance(m, dict) and "median" in m:
            print(f"{name:40s} {m['median']:9.3f} {m['min']:9.3f} {m['max']:9.3f}")
    print(f"{'megapixels per second (512x512, mode)':40s} {report['metrics']['megapixels_per_s_512']:9.2f}")
    if "restore_4096_tiled" in report["metrics"]:
        big = report["metrics"]["restore_4096_tiled"]
        print(
            f"4096x4096 tiled: {big['seconds']:.1f} s, {big['megapixels_per_s']:.2f} MP/s, "
            f"peak RSS {big['rss_peak_mb']:.0f} MB (input tensor allocated: {big['rss_before_mb']:.0f} MB)"
        )
    met = report["metrics"]["restore_512_mode_s"]["median"] <= GOAL_512_S
    print(f"goal: 512x512 colour photo <= {GOAL_512_S} s median: {'met' if met else 'NOT met'}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report[PROVENANCE_KEY] = provenance(args.threads)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
