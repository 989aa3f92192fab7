"""JudgeScheduler: every judge question of a scoring job through one bounded queue.

Scoring asks thousands of small questions whose answers depend on each other per clip (a clip's
events must be extracted before they are classified). The physical limit of judging with a
server is ``calls x latency / concurrency``; reaching it needs the server kept full until the work
runs out, so no task may wait for every clip of the task before it. The scheduler takes questions
as they become answerable, lowest priority value first (scoring uses the clip's position, so a
clip's follow-up questions overtake later clips' first ones), and runs them in one of two modes:

- **requests** (a :class:`~fecbench.judges.chat.ChatJudge` that completes one conversation per
  call, i.e. an HTTP endpoint): one asyncio event loop, run in the calling thread while it waits,
  with ``max_concurrency`` senders; each takes the next question from the queue the moment its
  previous request is answered, sends it (:meth:`~fecbench.judges.chat.ChatJudge.ask_async`) and
  settles the answer (parse, retry or verdict, cache), whose callbacks ask the follow-up
  questions. One thread does all of it, so nothing waits for a lock or for its turn at the GIL
  (128 threads on one connection pool did, and could not keep 128 requests in flight on a small
  machine). A try that must be repeated waits on a timer without holding a sender
  (``Retry-After`` and the backoff are honoured per item), so the other items keep the endpoint
  full. Questions can come from a feed (:meth:`JudgeScheduler.run_until`), taken as the queue runs
  low, so the first requests go out before every clip's questions exist.
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

import asyncio
import collections
import heapq
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fecbench.errors import FecbenchError
from fecbench.judges.base import Judge, JudgeFailure
from fecbench.judges.chat import ChatJudge, Conversation, Fatal, NoAnswer, Retry

log = logging.getLogger(__name__)

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
        self._ready: list[Job] = []  # a heap
        self._seq = 0
        self._in_flight = 0  # sent and not settled yet
        self._retrying = 0  # waiting for their next try
        self._answered = 0
        self._error: BaseException | None = None
        # request mode: one event loop, run in the caller's thread while it waits for answers
        self._loop: asyncio.AbstractEventLoop | None = None
        self._senders: list[asyncio.Task[None]] = []
        self._idle_senders: collections.deque[asyncio.Future[None]] = collections.deque()
        self._wake: asyncio.Future[None] | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._done: Callable[[], bool] = lambda: True
        self._feed: Callable[[], bool] | None = None

    @property
    def mode(self) -> str:
        return "batches" if self.slots is None else "requests"

    def submit(self, priority: tuple[int, ...], task: str, key: str, inputs: dict[str, Any]) -> None:
        """Queue one question; it runs during :meth:`run_until`."""
        if self._error is not None:
            raise RuntimeError("the judge scheduler stopped") from self._error
        self._seq += 1
        self._queue(Job(priority, self._seq, task, key, inputs))

    def idle(self) -> bool:
        """Nothing queued, waiting for a retry or in flight, and nothing more to come from the feed."""
        return not self._ready and not self._retrying and not self._in_flight and self._feed is None

    def run_until(self, done: Callable[[], bool], feed: Callable[[], bool] | None = None) -> None:
        """Work in the calling thread until ``done()``; raises what stops the job (breaker, bad key, bug).

        ``feed()`` submits more questions and returns False when it has none left: in request mode it
        is called whenever fewer than two questions per slot are queued, so the first requests go
        out before the last clip's questions exist. In request mode, requests still in flight when
        ``done()`` turns true wait for the next call (the event loop only runs inside this method)."""
        if self._error is not None:
            raise RuntimeError("the judge scheduler stopped") from self._error
        self._feed = feed
        try:
            if self.slots is None:
                while feed is not None and feed():  # batch judges get the largest batches there are
                    pass
                self._feed = None
                while not done():
                    self._run_batch()
            elif not done():
                self._beside_running_loop(lambda: self._run_requests(done))
        except BaseException as exc:
            self._error = exc
            self._stop()  # no request goes out after the job has stopped
            raise

    def close(self) -> None:
        """Cancel what is still in flight and let the judge close its connections."""
        self._stop()

    def _stop(self) -> None:
        self._ready.clear()
        loop, self._loop = self._loop, None
        if loop is None or loop.is_closed():
            return
        self._beside_running_loop(lambda: self._close_loop(loop))

    def _close_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Cancel the senders, let the judge close its clients, close the loop."""
        try:
            tasks = [*self._senders, *([self._pump_task] if self._pump_task is not None else [])]
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            assert isinstance(self.judge, ChatJudge)
            loop.run_until_complete(self.judge.finish_requests())
        finally:
            self._senders.clear()
            self._pump_task = None
            loop.close()

    def _queue(self, job: Job) -> None:
        heapq.heappush(self._ready, job)
        while self._idle_senders:  # one sender waiting for work takes it (when the loop runs next)
            sender = self._idle_senders.popleft()
            if not sender.done():
                sender.set_result(None)
                break

    # -- batch mode ----------------------------------------------------------------------------

    def _run_batch(self) -> None:
        if not self._ready:
            raise RuntimeError("judge scheduler: waiting for answers that no queued question will give")
        task = self._ready[0].task
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

    def _run_requests(self, done: Callable[[], bool]) -> None:
        loop = self._loop or self._open_loop()
        self._pump_task = loop.create_task(self._pump(done))
        loop.run_until_complete(self._pump_task)

    def _beside_running_loop(self, work: Callable[[], None]) -> None:
        """``work()`` (which runs our event loop) here, or on a helper thread, the caller waiting, when this
        thread already runs a loop (Jupyter's, or an ``async`` caller's): a thread cannot run a second one.
        The session is still used by one thread at a time, as the caller only waits."""
        if not _event_loop_running_here():
            work()
            return
        failure: list[BaseException] = []

        def guarded() -> None:
            try:
                work()
            except BaseException as exc:
                failure.append(exc)

        helper = threading.Thread(target=guarded, name="fecbench-judge-loop", daemon=True)
        helper.start()
        try:
            while helper.is_alive():
                helper.join(timeout=0.5)  # so that Ctrl-C reaches the caller
        except BaseException:
            loop, pump = self._loop, self._pump_task
            if loop is not None and pump is not None and not loop.is_closed():
                loop.call_soon_threadsafe(pump.cancel)
            helper.join()
            raise
        if failure:
            raise failure[0]

    def _open_loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the requests run on, the judge's connections opened, ``slots`` senders started."""
        assert isinstance(self.judge, ChatJudge) and self.slots is not None
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self.judge.start_requests())
        except BaseException:
            loop.close()
            raise
        self._loop = loop
        self._senders = [loop.create_task(self._send()) for _ in range(self.slots)]
        return loop

    async def _pump(self, done: Callable[[], bool]) -> None:
        """Wait, with the senders running, until ``done()`` or a sender stops the job."""
        self._done = done
        loop = asyncio.get_running_loop()
        self._top_up()
        while not done():
            if self._error is not None:
                raise self._error
            if self.idle():
                raise RuntimeError("judge scheduler: waiting for answers that no queued question will give")
            self._wake = loop.create_future()
            await self._wake
        self._wake = None

    def _top_up(self) -> None:
        """Take questions from the feed until two per slot are queued or it has none left."""
        while self._feed is not None and len(self._ready) < 2 * (self.slots or 1):
            if not self._feed():
                self._feed = None

    def _wake_pump(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _send(self) -> None:
        """One sender: the next question, one request, the answer settled; again, until cancelled.

        ``slots`` senders run at once, so the endpoint has that many requests from this job while
        there are questions; a try that must wait for its retry holds no sender meanwhile."""
        judge = self.judge
        assert isinstance(judge, ChatJudge)
        loop = asyncio.get_running_loop()
        while True:
            if self._feed is not None and len(self._ready) < self.slots:
                try:
                    self._top_up()
                except Exception as exc:  # a bug in the feed: the job stops
                    self._error = self._error or exc
                    self._wake_pump()
                    return
            if not self._ready:
                waiting = loop.create_future()
                self._idle_senders.append(waiting)
                await waiting
                continue
            job = heapq.heappop(self._ready)
            self._in_flight += 1
            try:
                if job.conversation is None:  # rendered when sent, not when queued: the first request goes sooner
                    job.conversation = judge.start(job.task, job.inputs)
                answer = await judge.ask_async(job.conversation)
                self._in_flight -= 1
                self._settle(job, answer)
            except Exception as exc:  # the breaker, a refused key, a bug in a callback: the job stops
                self._error = self._error or exc
                self._wake_pump()
                return
            if self._done() or self.idle():
                self._wake_pump()

    def _settle(self, job: Job, answer: Any) -> None:
        if isinstance(answer, Fatal):
            raise answer.exc
        assert self.breaker is not None and job.conversation is not None and isinstance(self.judge, ChatJudge)
        self.breaker.record(answer, self._answered)
        outcome = self.judge.settle(job.conversation, answer)
        if isinstance(outcome, Retry):
            self._retrying += 1
            assert self._loop is not None
            self._loop.call_later(outcome.wait, self._retry, job)
        else:
            self._answered += 1
            self.finish(job, outcome)

    def _retry(self, job: Job) -> None:
        self._retrying -= 1
        self._queue(job)


def _event_loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


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
