"""Load the next batches' frames in background threads while the model works on the current one; prepare the next.

``load`` runs in threads: in a run it returns frames decoded ahead in worker processes
(:mod:`fecbench.runner.decode_ahead`), waiting for them if need be, or decodes with PyAV, which
releases the GIL while decoding. Each clip's outcome is either its frames or the exception that
explains its failure.

``finish`` turns a decoded batch and its outcomes into what the caller consumes, in one more
background thread. It runs one batch ahead: when batch k is handed out (to be generated), batch
k+1's ``finish`` starts, as soon as its clips are decoded. The run loop uses it to build the
batch's requests and let the adapter prepare its inputs (:meth:`fecbench.adapter.Adapter.prepare`)
while batch k generates. Preparing further ahead would only take CPU from the generation in
progress and hold more prepared inputs in memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")


def prefetched(
    batches: Iterable[Sequence[T]],
    load: Callable[[T], R],
    finish: Callable[[Sequence[T], list[R | Exception]], S],
    *,
    workers: int = 2,
    depth: int = 2,
) -> Iterator[tuple[Sequence[T], S]]:
    """Yield each batch with ``finish(batch, outcomes)``, keeping up to ``depth`` batches decoding ahead.

    ``load`` runs in ``workers`` threads; ``finish`` in a thread of its own, for one batch at a
    time, one batch ahead of the caller (see the module doc). An exception from ``finish`` is
    raised here, so it should not raise. The next batch is taken from ``batches`` (in the caller's
    thread) when a batch is handed out, so a source that reads the caller's state sees it as of
    that moment.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fecbench-decode")
    finisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fecbench-prepare")
    queue: deque[_Pending[T, R, S]] = deque()
    source = iter(batches)

    def submit_next() -> None:
        batch = next(source, None)
        if batch is not None:
            queue.append(_Pending(batch, [pool.submit(load, item) for item in batch]))

    def start_finish(pending: _Pending[T, R, S]) -> Future[S]:
        if pending.finished is None:
            pending.finished = finisher.submit(lambda: finish(pending.batch, [_outcome(f) for f in pending.loads]))
        return pending.finished

    try:
        for _ in range(max(1, depth)):
            submit_next()
        while queue:
            current = queue.popleft()
            done = start_finish(current)
            submit_next()
            if queue:
                start_finish(queue[0])  # the next batch prepares while this one generates
            yield current.batch, done.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        finisher.shutdown(wait=False, cancel_futures=True)


class _Pending(Generic[T, R, S]):
    """A batch in flight: its clips' loads, and its ``finish`` once started."""

    def __init__(self, batch: Sequence[T], loads: list[Future[R]]) -> None:
        self.batch = batch
        self.loads = loads
        self.finished: Future[S] | None = None


def _outcome(future: Future[Any]) -> Any:
    """The future's result, or the exception it raised (typed Any: mypy cannot solve ``R | Exception`` here)."""
    try:
        return future.result()
    except Exception as exc:  # recorded per clip by the runner, never fatal to the run (a cancelled load too)
        return exc
