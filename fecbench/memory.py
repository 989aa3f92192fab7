"""Recognising an out-of-memory error, and giving memory back before a smaller retry.

Kept free of fecbench's heavier modules: the model worker (:mod:`fecbench.worker`), which runs in a
model's own environment, classifies the adapter's errors with :func:`is_out_of_memory` so that an
out-of-memory error there still drives the driver's ``--batch-size auto`` backoff. torch is never
imported here: a CUDA out-of-memory error is recognised through ``sys.modules`` (an adapter that
raised one has imported torch already).
"""

from __future__ import annotations

import gc
import sys


def is_out_of_memory(exc: BaseException) -> bool:
    """A CUDA out-of-memory error, a MemoryError, or a RuntimeError saying "out of memory" (also as a cause)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    torch = sys.modules.get("torch")
    cuda_oom = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None) if torch is not None else None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if cuda_oom is not None and isinstance(current, cuda_oom):
            return True
        if isinstance(current, MemoryError):
            return True
        if isinstance(current, RuntimeError) and "out of memory" in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False


def release_memory() -> None:
    """Give freed memory back before retrying a smaller batch (CUDA's caching allocator keeps it otherwise)."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
