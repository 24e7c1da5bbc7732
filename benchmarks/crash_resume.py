"""Fault test: kill -9 a training run at a random moment, resume it, and compare with a run never killed.

    python benchmarks/crash_resume.py --trials 20 --data ../shared/data/mnist --json crash_resume.json

Each trial starts ``python -m vae_demo train`` on a small MNIST config (a checkpoint every
``--interval`` steps, every step logged), sends SIGKILL once the log reaches a random step (the
kill lands wherever the run is by then: mid-step, mid-write or mid-checkpoint), checks that the
checkpoint on disk still loads, counts the steps lost (last step logged minus the step in the
checkpoint), resumes with ``--resume`` to the same number of steps, and compares the final weights
with those of one uninterrupted run (the data order is seeded, so they must be equal).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from vae_demo.core.provenance import PROVENANCE_KEY, provenance

ROOT = Path(__file__).resolve().parent.parent
CONFIG = {
    "model": {"image_size": 28, "in_channels": 1, "latent_dim": 8, "channels": [8, 16], "name": "crash-test"},
    "trainer": {
        "max_epochs": 1,
        "lr": 0.002,
        "warmup_steps": 5,
        "checkpoint_every": 10,
        "log_every": 1,
        "ema_decay": 0.99,
        "seed": 0,
    },
    "dataset": "mnist",
    "batch_size": 64,
    "eval_k": 0,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mnist"), help="MNIST root")
    p.add_argument("--steps", type=int, default=80, help="optimiser steps of each run")
    p.add_argument("--interval", type=int, default=10, help="checkpoint every this many steps")
    p.add_argument("--seed", type=int, default=0, help="seeds the kill times")
    p.add_argument("--json", required=True, type=Path)
    return p.parse_args(argv)


def train(
    workdir: Path, config: Path, data: str, steps: int, resume: bool = False, kill_at_step: int | None = None
) -> float:
    """Run the CLI in ``workdir``; SIGKILL it once its log reaches ``kill_at_step``. Returns the wall time."""
    cmd = [
        sys.executable,
        "-m",
        "vae_demo",
        "--threads",
        "1",
        "train",
        "--config",
        str(config),
        "--data",
        data,
        "--out",
        str(workdir / "final"),
        "--max-steps",
        str(steps),
    ] + (["--resume"] if resume else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_at_step is not None:
        while proc.poll() is None and last_logged_step(workdir / "runs" / "crash-test") < kill_at_step:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    if kill_at_step is None and proc.returncode != 0:
        raise RuntimeError(f"training failed: {proc.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - start


def last_logged_step(run_dir: Path) -> int:
    path = run_dir / "log.csv"
    if not path.exists():
        return 0
    with open(path) as f:
        steps = [row.get("step") for row in csv.DictReader(f)]
    steps = [int(s) for s in steps if s and s.isdigit()]  # a line half-written at the kill is ignored
    return steps[-1] if steps else 0


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    args.data = str(Path(args.data).resolve())  # the runs start in their own folders
    rng = random.Random(args.seed)
    config = json.loads(json.dumps(CONFIG))
    config["trainer"]["checkpoint_every"] = args.interval
    tmp = Path(tempfile.mkdtemp(prefix="crash-resume-"))
    config_path = tmp / "config.json"
    config_path.write_text(json.dumps(config))

    reference_dir = tmp / "reference"
    reference_dir.mkdir()
    full = train(reference_dir, config_path, args.data, args.steps)
    reference = load_file(reference_dir / "final" / "model.safetensors")
    print(f"uninterrupted run: {args.steps} steps in {full:.1f} s")

    trials = []
    for i in range(args.trials):
        work = tmp / f"trial{i:02d}"
        work.mkdir()
        target = rng.randint(1, args.steps - 1)
        train(work, config_path, args.data, args.steps, kill_at_step=target)
        state_path = work / "runs" / "crash-test" / "trainer_state.pt"
        readable, saved_step = True, 0
        if state_path.exists():
            try:
                saved_step = torch.load(state_path, map_location="cpu", weights_only=False)["step"]
            except Exception:  # noqa: BLE001 - any failure to read is what this test counts
                readable = False
        reached = last_logged_step(work / "runs" / "crash-test")
        train(work, config_path, args.data, args.steps, resume=True)
        final = load_file(work / "final" / "model.safetensors")
        identical = final.keys() == reference.keys() and all(torch.equal(final[k], reference[k]) for k in final)
        trials.append(
            {
                "kill_at_step": target,
                "reached_step": reached,
                "checkpoint_step": saved_step,
                "steps_lost": max(0, reached - saved_step),
                "readable": readable,
                "identical": identical,
            }
        )
        print(
            f"trial {i + 1:2d}: killed at step {reached:3d} (aimed at {target:3d}), checkpoint at {saved_step:3d}, "
            f"readable {readable}, resumed run identical {identical}",
            flush=True,
        )

    report = {
        "trials": len(trials),
        "interval": args.interval,
        "steps": args.steps,
        "unreadable": sum(not t["readable"] for t in trials),
        "max_steps_lost": max((t["steps_lost"] for t in trials), default=0),
        "identical_to_uninterrupted": all(t["identical"] for t in trials),
        "identical_count": sum(t["identical"] for t in trials),
        "uninterrupted_seconds": round(full, 2),
        "per_trial": trials,
    }
    print(
        f"\n{report['trials']} trials: {report['unreadable']} unreadable checkpoints, at most "
        f"{report['max_steps_lost']} steps lost (interval {args.interval}), "
        f"{report['identical_count']}/{report['trials']} identical to the uninterrupted run"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report[PROVENANCE_KEY] = provenance(1)  # the training runs it times use 1 thread each
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
