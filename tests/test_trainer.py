"""The training loop: it learns, checkpoints atomically, resumes, and survives (a few) NaNs."""

from __future__ import annotations

import csv
import math
from functools import partial

import pytest
import torch

from vae_demo.core.trainer import Trainer, TrainerConfig, atomic_save
from vae_demo.core.worker_batches import WorkerBatches
from vae_demo.generative.losses import elbo_loss
from vae_demo.generative.model import ConvVAE


def vae_loss(model, batch, step):
    return elbo_loss(model, batch)


def fixed_loss(model, batch) -> float:
    model.eval()
    with torch.no_grad():
        return elbo_loss(model, batch, generator=torch.Generator().manual_seed(0))["loss"].item()


def make_trainer(model, batches, tmp_path, **overrides) -> Trainer:
    cfg = TrainerConfig(
        **{
            "max_epochs": 1,
            "lr": 3e-3,
            "warmup_steps": 2,
            "checkpoint_every": 1000,
            "out_dir": str(tmp_path / "run"),
            **overrides,
        }
    )
    return Trainer(model, vae_loss, batches, cfg)


def test_a_few_steps_lower_the_loss_on_a_fixed_batch(tiny_model, tiny_batch, tmp_path):
    before = fixed_loss(tiny_model, tiny_batch)
    events = []
    trainer = make_trainer(tiny_model, [tiny_batch] * 30, tmp_path)
    trainer.callback = lambda t, event: events.append((event, t.step))
    trainer.run()
    after = fixed_loss(tiny_model, tiny_batch)
    assert trainer.step == 30 and trainer.epoch == 1
    assert after < before - 5.0, f"loss went from {before:.1f} to {after:.1f}"
    assert events.count(("epoch", 30)) == 1 and sum(e == "step" for e, _ in events) == 30
    assert set(trainer.last_losses) == {"loss", "recon", "kl", "elbo"}
    assert not tiny_model.training


def test_checkpoint_is_written_atomically_and_restores_the_step(tiny_config, tiny_batch, tmp_path):
    torch.manual_seed(0)
    trainer = make_trainer(ConvVAE(tiny_config), [tiny_batch] * 4, tmp_path, max_epochs=2, checkpoint_every=3)
    trainer.run()
    run_dir = tmp_path / "run"
    assert trainer.checkpoint_path.is_file()
    assert not list(run_dir.glob("*.tmp")), "a temporary file was left behind"

    torch.manual_seed(1)
    fresh = make_trainer(ConvVAE(tiny_config), [tiny_batch] * 4, tmp_path, max_epochs=2)
    assert fresh.load_checkpoint()
    assert (fresh.step, fresh.epoch) == (8, 2)
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, fresh.model.state_dict()[k])
    assert fresh.scheduler.last_epoch == trainer.scheduler.last_epoch


def test_no_checkpoint_to_resume(tiny_model, tiny_batch, tmp_path):
    assert not make_trainer(tiny_model, [tiny_batch], tmp_path).load_checkpoint()


def test_a_failed_save_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "state.pt"
    atomic_save({"step": 1}, path)

    def crash(obj, f):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        atomic_save({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"step": 1}


def test_nan_batches_are_skipped_and_counted(tiny_model, tiny_batch, tmp_path):
    nan_batch = torch.full_like(tiny_batch, math.nan)
    trainer = make_trainer(tiny_model, [tiny_batch, nan_batch, tiny_batch, nan_batch], tmp_path)
    trainer.run()
    assert trainer.step == 2  # only the good batches count as steps
    assert trainer.bad_steps == 1  # the trailing NaN batch, not yet reset by a good step
    assert all(torch.isfinite(p).all() for p in tiny_model.parameters())


def test_too_many_nans_raise_and_keep_the_last_checkpoint(tiny_model, tiny_batch, tmp_path):
    nan_batch = torch.full_like(tiny_batch, math.nan)
    trainer = make_trainer(
        tiny_model, [tiny_batch] * 2 + [nan_batch] * 5, tmp_path, checkpoint_every=1, max_bad_steps=3
    )
    with pytest.raises(FloatingPointError, match="trainer_state.pt"):
        trainer.run()
    assert trainer.bad_steps == 3
    state = torch.load(trainer.checkpoint_path, map_location="cpu", weights_only=False)
    assert state["step"] == 2
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert not list(trainer.out_dir.glob("*.tmp"))


class Shuffled:
    """Batches of 8 of ``data`` in an order drawn from ``seed`` (a source for WorkerBatches)."""

    def __init__(self, data: torch.Tensor, seed: int) -> None:
        self.data, self.generator = data, torch.Generator().manual_seed(seed)

    def __iter__(self):
        while True:
            yield self.data[torch.randperm(len(self.data), generator=self.generator)[:8]]


def resumable_run(tiny_config, data, tmp_path, max_steps, resume=False, out="run", workers=None):
    """A tiny VAE with EMA on a shuffled DataLoader, or (``workers``) on WorkerBatches; 6 batches an epoch."""
    torch.manual_seed(0)
    model = ConvVAE(tiny_config)
    if workers is None:
        loader = torch.utils.data.DataLoader(
            data, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0)
        )
    else:
        loader = WorkerBatches(partial(Shuffled, data), 6, workers, seed=0)
    cfg = TrainerConfig(
        max_epochs=5,
        lr=3e-3,
        warmup_steps=2,
        checkpoint_every=5,
        max_steps=max_steps,
        ema_decay=0.9,
        out_dir=str(tmp_path / out),
    )
    trainer = Trainer(model, lambda m, batch, step: elbo_loss(m, batch), loader, cfg)
    if resume:
        assert trainer.load_checkpoint()
    trainer.run()
    return trainer


@pytest.mark.parametrize("workers", [None, 2], ids=["dataloader", "worker-batches"])
def test_resume_mid_epoch_gives_the_same_weights_as_one_straight_run(tiny_config, tmp_path, workers):
    data = torch.rand(48, 1, 16, 16, generator=torch.Generator().manual_seed(5))
    straight = resumable_run(tiny_config, data, tmp_path, max_steps=20, out="straight", workers=workers)
    first = resumable_run(tiny_config, data, tmp_path, max_steps=10, out="split", workers=workers)
    assert (first.step, first.epoch, first.epoch_batch) == (10, 1, 4), "stopped in the middle of epoch 2"
    torch.manual_seed(123)  # whatever happens to the global RNG in between must not matter
    second = resumable_run(tiny_config, data, tmp_path, max_steps=20, resume=True, out="split", workers=workers)
    assert second.step == straight.step == 20
    for (name, a), b in zip(straight.model.state_dict().items(), second.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{name} differs after the resume"
    for a, b in zip(straight.ema.state_dict().values(), second.ema.state_dict().values(), strict=True):
        assert torch.equal(a, b), "the EMA weights differ after the resume"


def test_ema_follows_the_weights_slowly(tiny_config, tmp_path):
    data = torch.rand(16, 1, 16, 16, generator=torch.Generator().manual_seed(5))
    trainer = resumable_run(tiny_config, data, tmp_path, max_steps=6)
    ema = trainer.ema.module
    for p, q in zip(trainer.model.parameters(), ema.parameters(), strict=True):
        assert p.shape == q.shape
    assert any(not torch.equal(p, q) for p, q in zip(trainer.model.parameters(), ema.parameters(), strict=True))


def test_param_groups_set_their_own_lr_and_stay_out_of_the_clip(tiny_model, tiny_batch, tmp_path):
    params = list(tiny_model.parameters())
    apart, rest = params[:1], params[1:]
    cfg = TrainerConfig(max_epochs=1, lr=1e-3, warmup_steps=1, grad_clip=1e-6, out_dir=str(tmp_path / "run"))
    groups = [{"params": rest}, {"params": apart, "lr": 0.5, "clip": False}]
    trainer = Trainer(tiny_model, vae_loss, [tiny_batch], cfg, param_groups=groups)
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [1e-3, 0.5]
    assert {id(p) for p in trainer.clipped} == {id(p) for p in rest}
    loss = vae_loss(tiny_model, tiny_batch, 0)["loss"]
    trainer.optimizer.zero_grad()
    loss.backward()
    before = apart[0].grad.clone()
    torch.nn.utils.clip_grad_norm_(trainer.clipped, cfg.grad_clip)
    assert torch.equal(apart[0].grad, before), "a clip: False group was clipped"
    assert sum(p.grad.norm() ** 2 for p in rest if p.grad is not None) ** 0.5 <= 1.01e-6


def test_a_non_finite_gradient_outside_the_clip_still_skips_the_step(tiny_model, tiny_batch, tmp_path):
    params = list(tiny_model.parameters())
    cfg = TrainerConfig(max_epochs=1, lr=1e-3, warmup_steps=1, out_dir=str(tmp_path / "run"))
    groups = [{"params": params[1:]}, {"params": params[:1], "clip": False}]
    trainer = Trainer(tiny_model, vae_loss, [tiny_batch], cfg, param_groups=groups)
    params[0].register_hook(lambda grad: torch.full_like(grad, float("nan")))
    before = [p.detach().clone() for p in params]
    assert not trainer._optimise(vae_loss(tiny_model, tiny_batch, 0)["loss"])
    assert trainer.step == 0 and trainer.bad_steps == 1
    assert all(torch.equal(a, p) for a, p in zip(before, params, strict=True)), "a skipped step changed a weight"


def test_the_log_has_the_seconds_since_training_started(tiny_model, tiny_batch, tmp_path):
    trainer = make_trainer(tiny_model, [tiny_batch] * 4, tmp_path, log_every=1)
    trainer.run()
    with open(trainer.out_dir / "log.csv") as f:
        rows = list(csv.DictReader(f))
    seconds = [float(r["seconds"]) for r in rows]
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert seconds == sorted(seconds) and seconds[0] >= 0
