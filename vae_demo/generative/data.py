"""Datasets as in-memory float tensors in [0, 1], shaped (N, C, H, W).

MNIST comes through ``torchvision.datasets.MNIST`` (``download`` only when asked); the Olivetti
faces from the two ``.npy`` files, split by subject so the test people are never seen in training.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from vae_demo.core.images import IMAGE_SUFFIXES


def _unpacked_mnist_root(root: Path) -> Path:
    """torchvision reads the unpacked idx files; a root holding only the ``.gz`` files (perhaps
    read-only) is unpacked once into a cache folder, which is returned instead."""
    raw = root / "MNIST" / "raw"
    gz = sorted(raw.glob("*-ubyte.gz"))
    if not gz or all(f.with_suffix("").exists() for f in gz):
        return root
    cache = Path(os.environ.get("VAE_DEMO_CACHE", Path.home() / ".cache" / "vae-demo")) / "mnist"
    (cache / "MNIST" / "raw").mkdir(parents=True, exist_ok=True)
    for f in gz:
        target = cache / "MNIST" / "raw" / f.with_suffix("").name
        if not target.exists():
            tmp = target.with_name(target.name + ".tmp")
            with gzip.open(f, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(tmp, target)
    return cache


def load_mnist(root: str | Path, train: bool, download: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images (N, 1, 28, 28) in [0, 1] and labels (N,).

    ``root`` is the folder that holds ``MNIST/raw`` (torchvision's layout, unpacked or ``.gz``).
    """
    from torchvision.datasets import MNIST

    root = _unpacked_mnist_root(Path(root))
    try:
        ds = MNIST(str(root), train=train, download=download)
    except RuntimeError as err:
        raise FileNotFoundError(
            f"MNIST not found under {root!r} (expected {root}/MNIST/raw/*.gz); "
            "pass download=True (--download) where the internet is reachable"
        ) from err
    return ds.data.unsqueeze(1).float() / 255.0, ds.targets.clone()


def load_olivetti(root: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The 400 Olivetti faces (400, 1, 64, 64) in [0, 1] and subject ids (400,)."""
    root = Path(root)
    img_path, tgt_path = root / "olivetti_faces_uint8.npy", root / "olivetti_faces_target.npy"
    if not img_path.exists():
        raise FileNotFoundError(f"Olivetti faces not found: {img_path} is missing")
    images = torch.from_numpy(np.load(img_path, allow_pickle=False).astype(np.float32) / 255.0)
    targets = torch.from_numpy(np.load(tgt_path, allow_pickle=False).astype(np.int64))
    return images.unsqueeze(1), targets


def split_by_subject(targets: torch.Tensor, test_subjects: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the training and test images; the test set holds every image of ``test_subjects``."""
    is_test = torch.isin(targets, torch.tensor(test_subjects))
    return (~is_test).nonzero().squeeze(1), is_test.nonzero().squeeze(1)


def dynamic_binarize(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Sample each pixel from Bernoulli(intensity): the standard protocol for binary MNIST VAEs."""
    return torch.bernoulli(x, generator=generator)


class AugmentedImages(Dataset):
    """Images with random flips and small crops, for small sets such as the faces."""

    def __init__(self, images: torch.Tensor, flip: bool = True, min_scale: float = 0.8) -> None:
        self.images = images
        size = images.shape[-1]
        ops: list = [v2.RandomHorizontalFlip()] if flip else []
        # A crop keeps the real background at the borders (an affine shift would pad with black).
        ops.append(v2.RandomResizedCrop(size, scale=(min_scale, 1.0), ratio=(0.95, 1.05), antialias=True))
        self.transform = v2.Compose(ops)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.transform(self.images[i])


def load_torchvision(
    name: str, root: str | Path, train: bool, download: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST (N, 1, 28, 28) or CIFAR-10 (N, 3, 32, 32) in [0, 1] with labels, through torchvision."""
    from torchvision import datasets

    cls = {"fashion-mnist": datasets.FashionMNIST, "cifar10": datasets.CIFAR10}[name]
    try:
        ds = cls(str(root), train=train, download=download)
    except RuntimeError as err:
        raise FileNotFoundError(
            f"{name} not found under {root!r}; pass --download where the internet is reachable"
        ) from err
    data = torch.as_tensor(ds.data)
    images = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)
    return images.float() / 255.0, torch.as_tensor(ds.targets)


def load_image_folder(
    root: str | Path,
    size: int,
    channels: int,
    test_fraction: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image of a folder, centre-cropped square and resized to ``size``: (train, test) tensors.

    The last ``test_fraction`` of the files (sorted by name) is the test set.
    """
    from PIL import Image, ImageOps

    paths = sorted(p for p in Path(root).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(paths) < 2:
        raise FileNotFoundError(f"an image folder needs at least 2 images; found {len(paths)} in {root}")
    images = []
    for p in paths:
        with Image.open(p) as img:
            img = ImageOps.fit(img.convert("L" if channels == 1 else "RGB"), (size, size), Image.LANCZOS)
            a = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)
            images.append(a[None] if a.ndim == 2 else a.permute(2, 0, 1))
    x = torch.stack(images)
    n_test = max(1, round(len(x) * test_fraction))
    return x[:-n_test], x[-n_test:]


def load_hf_images(name: str, size: int, channels: int, split: str, image_key: str = "image") -> torch.Tensor:
    """A Hugging Face ``datasets`` split as (N, C, size, size) in [0, 1] (needs ``pip install datasets``)."""
    try:
        from datasets import load_dataset
    except ImportError:
        raise ImportError("Hugging Face datasets are read with the `datasets` package: pip install datasets") from None
    from PIL import ImageOps

    ds = load_dataset(name, split=split)
    out = []
    for row in ds:
        img = ImageOps.fit(row[image_key].convert("L" if channels == 1 else "RGB"), (size, size))
        a = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)
        out.append(a[None] if a.ndim == 2 else a.permute(2, 0, 1))
    return torch.stack(out)


def split_training_set(images: torch.Tensor, labels: torch.Tensor, val_size: int):
    """(train images, train labels, val images, val labels): the last ``val_size`` digits are validation."""
    cut = len(images) - val_size
    return images[:cut], labels[:cut], images[cut:], labels[cut:]


def shuffled_loader(dataset: Dataset, batch_size: int, seed: int) -> DataLoader:
    """Full batches in an order reshuffled every epoch from ``seed`` (the same order on a resumed run)."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, generator=generator)
