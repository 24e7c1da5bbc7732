"""A small CNN that reads MNIST digits: the judge of the class-conditional VAE's samples.

``DigitClassifier`` stacks one 3x3 convolution, batch norm, ReLU and 2x2 max-pool per entry of
``config.channels`` (28 -> 14 -> 7 -> 3 for three entries), then dropout and one linear layer to the ten
logits. ``shift_batch`` is its training augmentation: each image moved by a random affine map (a few
pixels of shift, a few degrees of rotation, a little scaling), the small changes a hand makes.
``accuracy`` / ``predict`` read tensors in [0, 1] shaped (N, 1, 28, 28) in batches, without gradients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from torch.nn import functional as F

from vae_demo.catalog import FAMILIES
from vae_demo.core.config import Config

ARCHITECTURE = FAMILIES["classifier"].architecture  # config.json's "architecture" (vae_demo.catalog)


@dataclass
class ClassifierConfig(Config):
    """Everything needed to rebuild a ``DigitClassifier``; saved beside the weights as ``config.json``."""

    architecture: str = ARCHITECTURE
    name: str = "mnist-classifier"
    image_size: int = 28
    in_channels: int = 1
    num_classes: int = 10
    channels: tuple[int, ...] = (32, 64, 128)
    dropout: float = 0.25
    labels: tuple[str, ...] = field(default_factory=lambda: tuple(str(d) for d in range(10)))

    def __post_init__(self) -> None:
        self.channels = tuple(int(c) for c in self.channels)
        self.labels = tuple(self.labels)
        if self.architecture != ARCHITECTURE:
            raise ValueError(f"a ClassifierConfig has architecture {ARCHITECTURE!r}, got {self.architecture!r}")
        if not self.channels or self.image_size >> len(self.channels) < 1:
            raise ValueError(f"channels {self.channels} must have 1 to log2({self.image_size}) entries")
        if self.num_classes < 2 or (self.labels and len(self.labels) != self.num_classes):
            raise ValueError(f"{self.num_classes} classes need as many labels, got {len(self.labels)}")

    @property
    def feature_size(self) -> int:
        """Side of the last feature map (each stage floors the size by 2)."""
        return self.image_size >> len(self.channels)


class DigitClassifier(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="vae-demo",
    tags=["image-classification", "mnist", "pytorch"],
    repo_url="https://huggingface.co/spaces/vae-demo/vae-demo",
):
    """Conv-BN-ReLU-pool stages, then dropout and a linear layer: images (N, C, H, W) -> logits (N, K)."""

    def __init__(self, config: ClassifierConfig | dict | None = None) -> None:
        super().__init__()
        if config is None:
            config = ClassifierConfig()
        elif isinstance(config, dict):
            config = ClassifierConfig.from_dict(config)
        self.config = config
        layers: list[nn.Module] = []
        prev = config.in_channels
        for c in config.channels:
            layers += [nn.Conv2d(prev, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            prev = c
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(prev * config.feature_size**2, config.num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


def shift_batch(
    x: torch.Tensor,
    max_shift: float = 2.0,
    max_degrees: float = 10.0,
    max_scale: float = 0.1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Each image moved by its own random affine map: a shift of up to ``max_shift`` pixels in x and y, a
    rotation of up to ``max_degrees`` and a scaling by up to 1 +- ``max_scale``; the border fills with 0."""
    n, _, h, w = x.shape

    def uniform(bound: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator, device=x.device) * 2 - 1) * bound

    angle = uniform(math.radians(max_degrees))
    scale = 1 + uniform(max_scale)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    tx, ty = uniform(2 * max_shift / w), uniform(2 * max_shift / h)  # affine_grid's units: half the image
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)  # (N, 2, 3)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@torch.no_grad()
def predict(model: DigitClassifier, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The label the classifier reads in each image: (N,) class indices on the CPU."""
    was_training = model.training
    model.eval()
    out = [
        model(images[i : i + batch_size].to(model.device)).argmax(1).cpu() for i in range(0, len(images), batch_size)
    ]
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.int64)


def accuracy(model: DigitClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of ``images`` the classifier reads as their ``labels``."""
    if len(images) == 0:
        raise ValueError("accuracy needs at least one image")
    return float((predict(model, images) == labels.cpu()).float().mean())
