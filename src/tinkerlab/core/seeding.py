"""Seeding and device choice: randomness and device are explicit, CPU float32 by default."""

from __future__ import annotations

import os
import random
from typing import Literal

import numpy as np

DeviceName = Literal["auto", "cpu", "cuda", "mps"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (if imported or installed) torch, for reproducible runs."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % (2**32))
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    try:
        import torch
    except ImportError:  # torch is optional for some systems
        return
    torch.manual_seed(seed)


def make_generator(seed: int, device: str = "cpu"):
    """A `torch.Generator` seeded with `seed` on `device`."""
    import torch

    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def choose_device(name: DeviceName | str = "auto") -> str:
    """Resolve a device name: 'auto' picks CUDA when available, else CPU.

    Raises:
        ValueError: an unknown name, or 'cuda'/'mps' asked for where it is not available.
    """
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} was asked for, but CUDA is not available here; use 'cpu' or 'auto'")
        return name
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError("device 'mps' was asked for, but MPS is not available here; use 'cpu' or 'auto'")
        return name
    raise ValueError(f"unknown device {name!r}: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
