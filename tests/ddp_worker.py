"""Run by tests/test_distributed.py under torchrun: two CPU ranks (gloo) train a tiny VAE with the Trainer,
then rank 0 writes whether both ranks hold identical weights (and how far they moved) to argv[1]."""

import json
import sys

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from vae_demo.core.trainer import Trainer, TrainerConfig
from vae_demo.generative.losses import elbo_loss
from vae_demo.generative.model import ConvVAE, VAEConfig

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
model = ConvVAE(VAEConfig(image_size=16, latent_dim=4, channels=(4, 8)))
start = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
data = TensorDataset(torch.rand(64, 1, 16, 16, generator=torch.Generator().manual_seed(1)))
loader = DataLoader(data, batch_size=8, sampler=DistributedSampler(data, seed=0, drop_last=True), drop_last=True)
torch.manual_seed(100 + rank)  # different sampling noise per rank: only gradient averaging keeps them equal
cfg = TrainerConfig(max_epochs=2, lr=3e-3, warmup_steps=1, max_steps=6, out_dir=sys.argv[2])
trainer = Trainer(model, lambda m, batch, step: elbo_loss(m, batch[0]), loader, cfg)
trainer.run()
del trainer  # the DistributedDataParallel wrapper goes before the process group
flat = torch.cat([p.detach().flatten() for p in model.parameters()])
gathered = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
dist.all_gather(gathered, flat)
if rank == 0:
    result = {
        "world_size": dist.get_world_size(),
        "identical": all(torch.equal(g, gathered[0]) for g in gathered),
        "moved": float((flat - start).abs().max()),
        "batches_per_rank": len(loader),
    }
    with open(sys.argv[1], "w") as f:
        json.dump(result, f)
dist.barrier()  # both ranks are done with gloo before either tears it down
dist.destroy_process_group()
