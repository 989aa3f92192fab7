"""JudgeEngine: puts questions to a judge, through the verdict cache and one scheduler, and keeps count.

Scoring asks many questions, most of them only once others are answered (a clip's events are
classified after they are extracted). A :class:`JudgeSession` takes them one at a time as they
become answerable (:meth:`JudgeSession.submit` returns a :class:`PendingVerdict`) and asks each
distinct question once: identical questions share one answer, cached verdicts are served from the
:class:`~fecbench.judges.cache.VerdictCache`, and the rest go to the
:class:`~fecbench.judges.scheduler.JudgeScheduler`, which keeps the judge busy across every task
of the job. Every answer is checked with :func:`~fecbench.judges.base.validate_output`; one that
does not fit becomes a :class:`~fecbench.judges.base.JudgeFailure`. Only valid verdicts are
cached, written in batches (every :data:`FLUSH_EVERY` verdicts or :data:`FLUSH_SECONDS`) and
always when the session ends, however it ends, so a job stopped by the breaker or Ctrl-C keeps
what it was told. :meth:`JudgeEngine.run` is the one-task form: a session for one list of items.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from fecbench.errors import ConfigError
from fecbench.judges.base import TASKS, InvalidVerdict, Judge, JudgeFailure, validate_output
from fecbench.judges.cache import VerdictCache, canonical_json
from fecbench.judges.scheduler import Job, JudgeScheduler

# The fields each task's inputs must have (their shapes are documented in fecbench.judges.base).
INPUT_FIELDS: dict[str, tuple[str, ...]] = {
    "extract": ("text",),
    "classify": ("events", "text"),
    "align": ("reference_events", "predicted_events"),
    "rate": ("question", "reference", "prediction"),
}
STAT_FIELDS = ("requested", "cache_hits", "judge_calls", "failures")
FLUSH_EVERY = 256
FLUSH_SECONDS = 2.0

Verdict = dict[str, Any] | JudgeFailure


class PendingVerdict:
    """The answer to one submitted question, once there is one; callbacks run in the session's thread.

    Unlike ``concurrent.futures.Future`` an exception raised by a callback is not swallowed: it
    stops the session's :meth:`JudgeSession.wait` like any other bug.
    """

    __slots__ = ("_callbacks", "_done", "_result")

    def __init__(self) -> None:
        self._done = False
        self._result: Verdict | None = None
        self._callbacks: list[Callable[[PendingVerdict], None]] = []

    def done(self) -> bool:
        return self._done

    def result(self) -> Verdict:
        if not self._done:
            raise RuntimeError("the verdict is not there yet: wait for it with JudgeSession.wait")
        assert self._result is not None
        return self._result

    def add_done_callback(self, callback: Callable[[PendingVerdict], None]) -> None:
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def resolve(self, result: Verdict) -> None:
        self._result, self._done = result, True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


class JudgeEngine:
    """A judge plus its cache; :attr:`stats` counts, per task, what was asked and what it cost."""

    def __init__(self, judge: Judge, cache: VerdictCache | None = None) -> None:
        self.judge = judge
        self.cache = cache
        self.identity = judge.identity()
        self._stats: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        """Per task: ``requested`` items, ``cache_hits``, ``judge_calls`` (items sent to the judge),
        ``failures`` (items that ended as JudgeFailure). A question asked again while the first ask
        is pending or answered in the same session counts in ``requested`` only."""
        with self._lock:
            return {task: dict(counts) for task, counts in self._stats.items()}

    def session(self) -> JudgeSession:
        """A scheduling session (use it in a ``with`` block): submit questions, wait for answers."""
        return JudgeSession(self)

    def run(self, task: str, inputs: Sequence[Mapping[str, Any]]) -> list[Verdict]:
        """One validated verdict or JudgeFailure per item, in order."""
        with self.session() as session:
            pending = [session.submit(task, item, index=i) for i, item in enumerate(inputs)]
            session.wait(pending)
        return [p.result() for p in pending]

    def _count(self, task: str, **counts: int) -> None:
        with self._lock:
            stats = self._stats.get(task) or self._stats.setdefault(task, dict.fromkeys(STAT_FIELDS, 0))
            for name, value in counts.items():
                stats[name] += value


class JudgeSession:
    """One job's questions to one judge: deduplicated, served from the cache or scheduled; not thread-safe."""

    def __init__(self, engine: JudgeEngine) -> None:
        self.engine = engine
        self._pending: dict[str, PendingVerdict] = {}
        self._unsaved: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self._saved_at = time.monotonic()
        self._scheduler = JudgeScheduler(engine.judge, self._finish)
        # One request per question: ChatJudge.settle already validated each verdict against its inputs.
        self._validated_by_judge = self._scheduler.mode == "requests"
        # A judge with nothing cached yet (a new model or prompt) is not looked up question by question.
        # A verdict another process stores for it meanwhile is then asked again: one request, never a
        # wrong answer.
        self._cache_may_answer = engine.cache is not None and engine.cache.has_verdicts(engine.identity)

    @property
    def mode(self) -> str:
        """``requests`` (one request per item, ``max_concurrency`` in flight) or ``batches``."""
        return self._scheduler.mode

    def submit(
        self, task: str, inputs: Mapping[str, Any], *, priority: tuple[int, ...] = (), index: int = 0
    ) -> PendingVerdict:
        """Ask one question; lower ``priority`` runs first (scoring passes its stage and the clip's position)."""
        engine = self.engine
        if task not in TASKS:
            raise ValueError(f"unknown judge task {task!r}; tasks are {', '.join(TASKS)}")
        if task not in engine.judge.tasks:
            raise ConfigError(
                f"judge {engine.identity.backend!r} does not answer the {task!r} task "
                f"(it answers: {', '.join(sorted(engine.judge.tasks))})"
            )
        item = _checked_inputs(task, index, inputs)
        key = task + "\n" + canonical_json(item)
        engine._count(task, requested=1)
        known = self._pending.get(key)
        if known is not None:
            return known
        pending = self._pending[key] = PendingVerdict()
        cache = engine.cache if self._cache_may_answer else None
        cached = cache.get(engine.identity, task, item) if cache is not None else None
        if cached is not None:
            engine._count(task, cache_hits=1)
            pending.resolve(cached)
        else:
            engine._count(task, judge_calls=1)
            self._scheduler.submit(priority, task, key, item)
        return pending

    def wait(self, pending: Iterable[PendingVerdict]) -> None:
        """Run the judge until every one of ``pending`` is answered (callbacks may submit more meanwhile)."""
        left = [0]

        def one_done(_: PendingVerdict) -> None:
            left[0] -= 1

        for verdict in set(pending):
            if not verdict.done():
                left[0] += 1
                verdict.add_done_callback(one_done)
        self._scheduler.run_until(lambda: left[0] == 0)

    def wait_idle(self, feed: Callable[[], bool] | None = None) -> None:
        """Run the judge until no question is left (answers' callbacks may submit more meanwhile).

        ``feed()`` submits more questions when the judge is about to run out, returning False once it
        has none left (see :meth:`JudgeScheduler.run_until <fecbench.judges.scheduler.JudgeScheduler.run_until>`).
        """
        self._scheduler.run_until(self._scheduler.idle, feed)

    def close(self) -> None:
        """Keep every verdict received in the cache and let the scheduler's threads go."""
        try:
            self._save()
        finally:
            self._scheduler.close()

    def __enter__(self) -> JudgeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _finish(self, job: Job, result: Any) -> None:
        checked = result if self._validated_by_judge else _checked_result(job.task, job.inputs, result)
        if isinstance(checked, JudgeFailure):
            self.engine._count(job.task, failures=1)
        elif self.engine.cache is not None:
            self._unsaved.append((job.task, job.inputs, checked))
            if len(self._unsaved) >= FLUSH_EVERY or time.monotonic() - self._saved_at >= FLUSH_SECONDS:
                self._save()
        self._pending[job.key].resolve(checked)

    def _save(self) -> None:
        cache, unsaved = self.engine.cache, self._unsaved
        self._unsaved, self._saved_at = [], time.monotonic()
        if cache is None or not unsaved:
            return
        for task in dict.fromkeys(task for task, _, _ in unsaved):
            cache.put_many(self.engine.identity, task, [(i, o) for t, i, o in unsaved if t == task])


def _checked_inputs(task: str, index: int, item: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise TypeError(f"{task} item {index}: inputs must be a dict, not {type(item).__name__}")
    missing = [name for name in INPUT_FIELDS[task] if name not in item]
    if missing:
        raise ValueError(f"{task} item {index}: inputs lack {', '.join(missing)}")
    return {name: item[name] for name in INPUT_FIELDS[task]}  # extra fields would split cache keys


def _checked_result(task: str, inputs: dict[str, Any], result: Any) -> dict[str, Any] | JudgeFailure:
    if isinstance(result, JudgeFailure):
        return result
    try:
        return validate_output(task, inputs, result)
    except InvalidVerdict as exc:
        raw = json.dumps(result, default=str) if not isinstance(result, str) else result
        return JudgeFailure(f"invalid verdict from the judge: {exc}", attempts=1, raw=raw)
