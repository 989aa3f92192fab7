"""Decode the run's clips ahead of use, in queue order, starting before the model loads.

Loading an adapter (importing torch and transformers, reading weights) takes seconds during which
nothing else would happen, and the run loop's own decoding competes with generation for the CPU.
:class:`DecodeAhead` is created before the model loads, with the queue's clips in the order they
will run, and starts decoding them at once. It keeps at most :data:`DECODE_AHEAD_BYTES` of frames
decoded (or being decoded) and not yet used, counted from each clip's planned input shape (a clip
whose shape the planner could not read counts as the protocol's largest input); each clip the loop
takes frees its share and the next clips start.

On Linux the decoding runs in worker processes (forked when the pool starts, before the model is
imported). Threads would share the interpreter lock with the main thread, and measured here
(2 cores, tiny clips) decoding in threads made importing torch and transformers about a second
slower and was itself slowed five-fold, while worker processes leave the import alone. Elsewhere,
where forking is not a safe default, it runs in threads. Workers run at a lower priority
(:data:`WORKER_NICENESS`): where CPU is short they yield it to the main process, whose work (the
model loading, then feeding it) is what the run waits for; with idle cores it changes nothing. They
ignore Ctrl-C (the main process handles it) and exit when the main process is gone, even after a
SIGKILL.

The loop loads frames through :meth:`DecodeAhead.load`: it hands out a clip's decoded frames, or
raises the exception its decoding raised (a pickled copy, with the same type and message), once,
and forgets them; a clip that was not decoded ahead is decoded in the caller's thread, as without
this class. Every clip is decoded once, whatever the order, and a clip whose video is missing
(``path`` None) is never decoded ahead. If a worker process dies (say, FFmpeg crashing on a
damaged file), the pool is abandoned and every clip not yet delivered is decoded in the caller's
thread, as before.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from concurrent.futures import CancelledError, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from fecbench.runner.plan import PlannedClip
from fecbench.video.cache import FrameCache
from fecbench.video.decode import SampledFrames
from fecbench.video.protocol import FrameProtocol

#: Frames decoded ahead and not yet used are kept up to this many bytes (256 MiB: about 95 clips of
#: 8 frames at 448x252, or 55 at 448x448).
DECODE_AHEAD_BYTES = 256 * 1024 * 1024
#: How much the decoding workers' priority is lowered (``os.nice``). Measured on 2 cores: importing
#: torch and transformers beside one decoding worker took about 0.2 s longer at the same priority,
#: and as long as alone at niceness 10 or 19.
WORKER_NICENESS = 10


def processes_by_default() -> bool:
    """Worker processes where forking is the platform's safe default (Linux), threads elsewhere."""
    return sys.platform.startswith("linux")


def clip_bytes(item: PlannedClip, protocol: FrameProtocol) -> int:
    """The size of a clip's sampled frames: from its planned shape, else the protocol's upper bound."""
    if item.shape is not None:
        frames, height, width = item.shape
    else:
        frames, height, width = protocol.num_frames, protocol.max_side, protocol.max_side
    return frames * height * width * 3


class DecodeAhead:
    """Frames of ``items`` (in the order they will be asked for), decoded ahead from construction on.

    ``cache`` is the frame cache the run reads through (its ``load`` is what runs in the workers);
    ``close`` stops decoding and drops what was not asked for.
    """

    def __init__(
        self,
        items: Iterable[PlannedClip],
        cache: FrameCache,
        *,
        workers: int = 2,
        budget: int = DECODE_AHEAD_BYTES,
        processes: bool | None = None,
    ) -> None:
        self._cache = cache
        self._budget = budget
        self._lock = threading.Lock()
        self._order: deque[tuple[Path, int]] = deque()
        for item in items:
            if item.path is not None:
                self._order.append((item.path, clip_bytes(item, cache.protocol)))
        self._not_submitted: Counter[Path] = Counter(path for path, _ in self._order)
        self._skip: Counter[Path] = Counter()  # asked for before their turn came: not to be decoded again
        self._pending: dict[Path, deque[tuple[Future[SampledFrames], int]]] = {}
        self._ahead = 0  # bytes submitted and not yet handed out
        self._broken = False
        self.submitted = 0
        self.delivered = 0
        use_processes = processes_by_default() if processes is None else processes
        self._pool = _process_pool(cache, workers) if use_processes else _thread_pool(workers)
        self._in_process = use_processes
        self._fill()

    def load(self, path: Path) -> SampledFrames:
        """``path``'s frames: decoded ahead when they were (raising what decoding raised), else decoded now."""
        with self._lock:
            waiting = self._pending.get(path)
            entry = waiting.popleft() if waiting else None
            if waiting is not None and not waiting:
                del self._pending[path]
            if entry is not None:
                self._ahead -= entry[1]
                self.delivered += 1
            elif self._not_submitted[path] > 0:
                self._not_submitted[path] -= 1
                self._skip[path] += 1
        if entry is None:
            return self._cache.load(path)
        self._fill()
        try:
            return entry[0].result()
        except (BrokenProcessPool, CancelledError):  # the pool is gone, not this clip: decode it here
            self._broken = True
            return self._cache.load(path)

    def close(self) -> None:
        with self._lock:
            self._order.clear()
            self._pending.clear()
            self._broken = True
        # Waits for the clips being decoded now (the rest are cancelled). Not waiting saves nothing, since
        # the interpreter joins the pool's manager thread at exit anyway, and on Python < 3.12.8 its exit
        # hook could then write to the wake-up pipe the manager thread was closing at that moment
        # (CPython gh-125451): "OSError: [Errno 9] Bad file descriptor" after Ctrl-C, 1 run in 15 here.
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _fill(self) -> None:
        """Start the next clips while the frames ahead stay within the budget (at least one clip)."""
        with self._lock:
            while self._order and not self._broken:
                path, size = self._order[0]
                if self._skip[path] > 0:
                    self._skip[path] -= 1
                    self._order.popleft()
                    continue
                if self._ahead and self._ahead + size > self._budget:
                    return
                self._order.popleft()
                self._not_submitted[path] -= 1
                try:
                    future = (
                        self._pool.submit(_decode, path)
                        if self._in_process
                        else self._pool.submit(self._cache.load, path)
                    )
                except (BrokenProcessPool, RuntimeError):  # a worker died, or the pool was shut down
                    self._broken = True
                    return
                self._pending.setdefault(path, deque()).append((future, size))
                self._ahead += size
                self.submitted += 1


# -- worker processes -----------------------------------------------------------------------------

_worker_cache: FrameCache | None = None


def _process_pool(cache: FrameCache, workers: int) -> Executor:
    """Forked decoding workers; all of them start now, before the caller imports anything heavy."""
    return ProcessPoolExecutor(
        max_workers=max(1, workers),
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(cache, os.getpid()),
    )


def _thread_pool(workers: int) -> Executor:
    return ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fecbench-decode-ahead")


def _start_worker(cache: FrameCache, parent: int) -> None:
    global _worker_cache
    _worker_cache = cache
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the main process, which shuts the pool down
    os.nice(WORKER_NICENESS)
    _fresh_standard_streams()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _fresh_standard_streams() -> None:
    """New stdout/stderr objects on the same descriptors for this forked worker.

    Another thread of the parent (a progress bar refreshing, say) may have held a stream's buffer
    lock at the moment of the fork; the inherited object would then never be flushed, and the
    worker, which flushes both when it ends, would hang.
    """
    for name, fd in (("stdout", 1), ("stderr", 2)):
        try:
            setattr(sys, name, open(fd, "w", closefd=False))  # noqa: SIM115 - lives as long as the worker
        except OSError:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115


def _exit_with_parent(parent: int) -> None:
    """End this worker once its parent is gone (killed without the chance to shut the pool down)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _decode(path: Path) -> SampledFrames:
    assert _worker_cache is not None, "decode worker not initialised"
    return _worker_cache.load(path)
