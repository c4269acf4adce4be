"""Scoped control of torch's intra-op threads for the small convolutions of single-sample GANs.

The per-scale networks of SinGAN-style models (Shaham et al., ICCV 2019) work on tensors of a few thousand pixels,
where one thread is as fast as two on an idle machine and many times faster on a busy one: with every core
shared, threads of the same op wait for each other at every barrier. We measured 20 iterations over 5 scales at
64 px take 7.9 s with 1 thread and 192 s with 2 threads while other jobs kept the 2-core machine busy.
Library code never changes the thread count on its own; the CLI, the demo and the benchmark use this context.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with `count` torch intra-op threads (None leaves the setting alone), then restore it.

    Raises:
        ValueError: count < 1.
    """
    import torch

    if count is None:
        yield
        return
    if count < 1:
        raise ValueError(f"expected a thread count of at least 1, got {count}")
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
