"""torchrun + DistributedDataParallel on 2 CPU ranks (gloo): identical weights, a loadable checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import torch
from conftest import ROOT, folder_run, free_port

from vae_demo.core.hub import load_checkpoint


def torchrun(args: list[str], cwd, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", f"--master-port={free_port()}", *args]
    done = subprocess.run(cmd, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


def test_two_ranks_end_with_identical_weights(tmp_path):
    torchrun([str(ROOT / "tests" / "ddp_worker.py"), str(tmp_path / "result.json"), str(tmp_path / "run")], tmp_path)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["world_size"] == 2 and result["batches_per_rank"] == 4, "each rank reads half of the 64 images"
    assert result["identical"], "DDP averaged the gradients, so both ranks took the same steps"
    assert result["moved"] > 0, "training changed the weights"
    assert (tmp_path / "run" / "trainer_state.pt").is_file(), "rank 0 wrote the checkpoint"


def test_torchrun_cli_writes_a_checkpoint_like_a_single_process_run(tmp_path):
    folder, config = folder_run(tmp_path, "tiny-ddp")
    args = ["train", "--config", str(config), "--data", str(folder), "--max-steps", "3"]
    torchrun(["-m", "vae_demo", *args, "--out", str(tmp_path / "ddp")], tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"}
    subprocess.run(
        [sys.executable, "-m", "vae_demo", *args, "--out", str(tmp_path / "single")],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        timeout=240,
    )
    ddp, single = load_checkpoint(tmp_path / "ddp", "cpu"), load_checkpoint(tmp_path / "single", "cpu")
    assert {k: v.shape for k, v in ddp.state_dict().items()} == {k: v.shape for k, v in single.state_dict().items()}
    assert all(torch.isfinite(v).all() for v in ddp.state_dict().values())
