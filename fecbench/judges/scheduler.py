"""JudgeScheduler: every judge question of a scoring job through one bounded queue.

Scoring asks thousands of small questions whose answers depend on each other per clip (a clip's
events must be extracted before they are classified). The physical limit of judging with a
server is ``calls x latency / concurrency``; reaching it needs the server kept full until the work
runs out, so no task may wait for every clip of the task before it. The scheduler takes questions
as they become answerable, lowest priority value first (scoring uses the clip's position, so a
clip's follow-up questions overtake later clips' first ones), and runs them in one of two modes:

- **requests** (a :class:`~fecbench.judges.chat.ChatJudge` that completes one conversation per
  call, i.e. an HTTP endpoint): ``max_concurrency`` worker threads each take the next question
  from the shared queue the moment their previous request is answered (no other thread has to
  be scheduled in between), send it and hand the answer back; the calling thread settles answers
  (parse, retry or verdict, cache) and asks the follow-up questions. A try that must be repeated
  waits in a timer queue without holding a slot (``Retry-After`` and the backoff are honoured per
  item), so the other items keep the endpoint full.
- **batches** (any other judge: in-process models, rules, plugins): the calling thread gives the
  judge every ready item of one task per ``judge.solve`` call, so batch backends get the largest
  batches there are; their retries happen inside ``solve``.

In request mode a :class:`Breaker` watches for an endpoint that looks dead: after the first request
that got no answer at all (a timeout, a refused or failed connection) it logs a warning, and after
``max_unanswered`` such requests in a row it stops the job with :class:`EndpointUnreachable`. Any
answer (even an HTTP error) resets the count. The engine keeps every verdict received until then
in the verdict cache, so the same command run again continues where this one stopped.
"""

from __future__ import annotations

import heapq
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fecbench.errors import FecbenchError
from fecbench.judges.base import Judge, JudgeFailure
from fecbench.judges.chat import ChatJudge, Conversation, Fatal, NoAnswer, Retry

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # the longest the calling thread blocks at once (so Ctrl-C is seen)

Result = dict[str, Any] | JudgeFailure


class EndpointUnreachable(FecbenchError):
    """The judge endpoint has not answered ``max_unanswered`` requests in a row; the job stops (exit 2)."""


@dataclass(order=True)
class Job:
    """One question waiting for its answer; ordered by ``priority`` then submission order."""

    priority: tuple[int, ...]
    seq: int
    task: str = field(compare=False)
    key: str = field(compare=False)
    inputs: dict[str, Any] = field(compare=False)
    conversation: Conversation | None = field(default=None, compare=False)


class Breaker:
    """Counts requests in a row that got no answer; trips at ``limit`` (0: never)."""

    def __init__(self, limit: int, endpoint: str, timeout: float) -> None:
        self.limit = limit
        self.endpoint = endpoint
        self.timeout = timeout
        self.in_a_row = 0
        self.unanswered = 0

    def record(self, answer: Any, answered_so_far: int) -> None:
        """Count one finished request; raise :class:`EndpointUnreachable` when the limit is reached."""
        if not isinstance(answer, NoAnswer):
            self.in_a_row = 0
            return
        self.in_a_row += 1
        self.unanswered += 1
        if self.unanswered == 1:
            log.warning(
                "judge: no answer from %s (%s); scoring stops if %s requests in a row go unanswered",
                self.endpoint,
                answer,
                self.limit or "all",
            )
        if self.limit and self.in_a_row >= self.limit:
            raise EndpointUnreachable(
                f"the endpoint at {self.endpoint} has not answered {self.in_a_row} requests in a row "
                f"(last: {answer}); the {answered_so_far} verdicts received so far are in the verdict cache, "
                f"so running the same command again continues from there once the endpoint answers "
                f"(a slow one: raise --judge-args timeout=, now {self.timeout:g} s, or lower --concurrency)"
            )


class JudgeScheduler:
    """Runs submitted questions on ``judge``; ``finish(job, result)`` is called in the caller's thread."""

    def __init__(self, judge: Judge, finish: Callable[[Job, Result], None]) -> None:
        self.judge = judge
        self.finish = finish
        slots = judge.request_slots if isinstance(judge, ChatJudge) else None
        self.slots: int | None = slots
        self.breaker = (
            Breaker(judge.max_unanswered, judge.endpoint, judge.timeout) if isinstance(judge, ChatJudge) else None
        )
        self._ready: list[Job] = []  # a heap, shared with the workers under _lock
        self._lock = threading.Condition()
        self._delayed: list[tuple[float, int, Job]] = []
        self._seq = 0
        self._in_flight = 0  # taken by a worker and not settled yet
        self._answered = 0
        self._stopping = False
        self._workers: list[threading.Thread] = []
        self._outbox: queue.SimpleQueue[tuple[Job, Any]] = queue.SimpleQueue()
        self._error: BaseException | None = None

    @property
    def mode(self) -> str:
        return "batches" if self.slots is None else "requests"

    def submit(self, priority: tuple[int, ...], task: str, key: str, inputs: dict[str, Any]) -> None:
        """Queue one question; it runs during :meth:`run_until`."""
        if self._error is not None:
            raise RuntimeError("the judge scheduler stopped") from self._error
        self._seq += 1
        job = Job(priority, self._seq, task, key, inputs)
        if self.slots is not None:
            assert isinstance(self.judge, ChatJudge)
            job.conversation = self.judge.start(task, inputs)
        self._queue(job)

    def idle(self) -> bool:
        """Nothing queued, waiting for a retry or in flight."""
        with self._lock:
            return not self._ready and not self._delayed and not self._in_flight

    def run_until(self, done: Callable[[], bool]) -> None:
        """Work in the calling thread until ``done()``; raises what stops the job (breaker, bad key, bug)."""
        if self._error is not None:
            raise RuntimeError("the judge scheduler stopped") from self._error
        try:
            while not done():
                if self.slots is None:
                    self._run_batch()
                else:
                    self._run_requests()
        except BaseException as exc:
            self._error = exc
            self._stop()  # no request goes out after the job has stopped
            raise

    def close(self) -> None:
        """Let the worker threads go (one still waiting for an answer ends when its request does)."""
        self._stop()
        self._workers.clear()

    def _stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._ready.clear()
            self._lock.notify_all()

    def _queue(self, job: Job) -> None:
        with self._lock:
            heapq.heappush(self._ready, job)
            self._lock.notify()

    # -- batch mode ----------------------------------------------------------------------------

    def _run_batch(self) -> None:
        if not self._ready:
            raise RuntimeError("judge scheduler: waiting for answers that no queued question will give")
        task = self._ready[0].task
        with self._lock:
            jobs = sorted(job for job in self._ready if job.task == task)
            self._ready = [job for job in self._ready if job.task != task]
            heapq.heapify(self._ready)
        results = self.judge.solve(task, [job.inputs for job in jobs])
        if len(results) != len(jobs):
            raise RuntimeError(f"judge {self.judge.backend!r} gave {len(results)} answers to {len(jobs)} questions")
        for job, result in zip(jobs, results, strict=True):
            self._answered += 1
            self.finish(job, result)

    # -- request mode --------------------------------------------------------------------------

    def _run_requests(self) -> None:
        assert self.slots is not None
        self._start_workers()
        now = time.monotonic()
        with self._lock:
            while self._delayed and self._delayed[0][0] <= now:
                heapq.heappush(self._ready, heapq.heappop(self._delayed)[2])
                self._lock.notify()
            if not self._ready and not self._in_flight and not self._delayed:
                raise RuntimeError("judge scheduler: waiting for answers that no queued question will give")
            wait = POLL_SECONDS if not self._delayed else min(POLL_SECONDS, max(0.0, self._delayed[0][0] - now))
        try:
            returned = [self._outbox.get(timeout=wait)]
        except queue.Empty:
            return
        while True:  # everything else that has come back meanwhile
            try:
                returned.append(self._outbox.get_nowait())
            except queue.Empty:
                break
        tripped: EndpointUnreachable | None = None
        for job, answer in returned:
            try:
                self._settle(job, answer, count=tripped is None)
            except EndpointUnreachable as exc:
                tripped = exc  # the answers that did come back are still settled (and cached)
        if tripped is not None:
            raise tripped

    def _settle(self, job: Job, answer: Any, *, count: bool = True) -> None:
        with self._lock:
            self._in_flight -= 1
        if isinstance(answer, Fatal):
            raise answer.exc
        assert self.breaker is not None and job.conversation is not None and isinstance(self.judge, ChatJudge)
        if count:
            self.breaker.record(answer, self._answered)
        outcome = self.judge.settle(job.conversation, answer)
        if isinstance(outcome, Retry):
            self._seq += 1
            with self._lock:
                heapq.heappush(self._delayed, (time.monotonic() + outcome.wait, self._seq, job))
        else:
            self._answered += 1
            self.finish(job, outcome)

    def _start_workers(self) -> None:
        while len(self._workers) < (self.slots or 0):
            worker = threading.Thread(target=self._work, name="fecbench-judge", daemon=True)
            worker.start()
            self._workers.append(worker)

    def _work(self) -> None:
        """A worker thread: the next question, one request, the answer (or error, as a value) back; again."""
        assert isinstance(self.judge, ChatJudge)
        while True:
            with self._lock:
                while not self._ready and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                job = heapq.heappop(self._ready)
                self._in_flight += 1
            assert job.conversation is not None
            self._outbox.put((job, self.judge.ask(job.conversation)))


def seconds_until_stopped(
    *,
    timeout: float,
    max_unanswered: int,
    concurrency: int,
    max_retries: int,
    backoff: float,
    backoff_max: float,
    questions: int,
) -> float:
    """The longest a job runs against an endpoint that never answers, with ``questions`` askable at once.

    Requests go out in waves of ``min(concurrency, questions)``, each over after at most ``timeout``
    (connections that are refused end sooner). The breaker stops the job at the ``max_unanswered``-th
    unanswered request in a row, unless every question has used up its ``max_retries + 1`` tries
    first (they then end as judge failures); before a wave of retries there is at most that try's
    backoff. Scoring can ask about three questions per clip at once (two extractions and a rating).
    """
    tries = questions * (max_retries + 1)
    requests = min(max_unanswered, tries) if max_unanswered else tries
    waves = math.ceil(requests / min(concurrency, questions))
    waits = sum(min(backoff_max, backoff * 2 ** (wave - 1)) for wave in range(1, waves))
    return waves * timeout + waits
