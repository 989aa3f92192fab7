"""Decode the next batches in background threads while the model works on the current one.

PyAV releases the GIL while decoding, so threads overlap decoding with generation (and with each
other). Each clip's outcome is either its frames or the exception that explains its failure.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def prefetched(
    batches: Iterable[Sequence[T]], load: Callable[[T], R], *, workers: int = 2, depth: int = 2
) -> Iterator[tuple[Sequence[T], list[R | Exception]]]:
    """Yield each batch with its loaded items, keeping up to ``depth`` batches loading ahead."""
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fecbench-decode")
    queue: deque[tuple[Sequence[T], list[Future[R]]]] = deque()
    source = iter(batches)

    def submit_next() -> None:
        batch = next(source, None)
        if batch is not None:
            queue.append((batch, [pool.submit(load, item) for item in batch]))

    try:
        for _ in range(max(1, depth)):
            submit_next()
        while queue:
            batch, futures = queue.popleft()
            submit_next()
            yield batch, [_outcome(f) for f in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _outcome(future: Future[R]) -> R | Exception:
    try:
        return future.result()
    except Exception as exc:  # recorded per clip by the runner, never fatal to the run
        return exc
