"""Speed of the light-and-colour path: each light problem on a 512x512 colour photo as the app serves it
(``light.serving.enhance_light``, the denoiser included where it runs), goal <= 0.5 s median on 2 CPU cores.

    python benchmarks/light_speed.py --threads 2 --repeats 7 --json benchmarks/results/speed/light_speed.json

The photo is scikit-image's astronaut (512x512) under the problem's own degradation from ``light.pipeline`` at the
benchmark levels (3 stops under-exposed with sensor noise, haze 0.5, a colour cast 0.6; Auto gets the dark one).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from functools import partial
from pathlib import Path

import torch

from vae_demo.core.provenance import PROVENANCE_KEY, provenance

GOAL_512_S = 0.5
INPUTS = {"lowlight": ("lowlight", 3.0), "haze": ("haze", 0.5), "colour_cast": ("colour_cast", 0.6)}
INPUTS["light_auto"] = INPUTS["lowlight"]  # a dark photo: brightening and the denoiser run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--json", required=True, type=Path)
    return p.parse_args(argv)


def clock(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from skimage import data

    from vae_demo.light.benchmark import load_light_vae
    from vae_demo.light.pipeline import LIGHT_DEGRADATIONS
    from vae_demo.light.serving import enhance_light

    model, _ = load_light_vae(None)  # the app's light-vae
    photo = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float() / 255  # (3, 512, 512)
    metrics = {}
    for problem, (degradation, level) in INPUTS.items():
        y = LIGHT_DEGRADATIONS[degradation](photo, level, torch.Generator().manual_seed(0))
        with torch.no_grad():
            how = enhance_light(model, y, problem).how  # warm-up: loads the denoiser where it runs
            values = [clock(partial(enhance_light, model, y, problem)) for _ in range(args.repeats)]
        metrics[problem] = {"median": statistics.median(values), "min": min(values), "max": max(values), "how": how}
    report = {"threads": args.threads, "repeats": args.repeats, "goal_512_s": GOAL_512_S, "metrics": metrics}
    print(f"light problems on a 512x512 photo, {args.threads} threads ({args.repeats} repeats)")
    print(f"{'problem':14s} {'median':>8s} {'min':>8s} {'max':>8s}  goal <= {GOAL_512_S} s")
    for problem, m in metrics.items():
        met = "met" if m["median"] <= GOAL_512_S else "NOT met"
        print(f"{problem:14s} {m['median']:8.3f} {m['min']:8.3f} {m['max']:8.3f}  {met}")
    report[PROVENANCE_KEY] = provenance(args.threads)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
