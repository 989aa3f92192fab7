"""ChatJudge: the part every LLM judge shares, whatever serves the model.

A chat judge renders a task's prompt into chat messages (:meth:`ChatJudge.start`), asks its backend
for a completion, and settles the answer (:meth:`ChatJudge.settle`): parsed and validated, or to
be asked again, up to ``max_retries`` times after the first try:

- an unusable answer (no JSON, wrong shape): asked again at once with the answer and the problem
  appended (the ``repair`` prompt), so that even a greedy local model gets a different prompt;
- a :class:`TransientError` raised by the backend (HTTP 429, 5xx, a body that is not a completion,
  timeout, lost connection): asked again as is after the server's ``Retry-After`` when it sent one
  (up to ``backoff_max``), else an exponential, jittered backoff. :class:`NoAnswer` (timeout, no connection)
  also counts toward the scheduler's breaker (``max_unanswered`` in a row stop the job).

An item still unanswered after the last try becomes a :class:`JudgeFailure` (never a number); a
:class:`RequestRejected` item fails at once; any other exception (a bad key, a missing model, a
bug) stops the whole job.

Backends implement :meth:`ChatJudge.complete` (one conversation). A backend that only does that
(an HTTP endpoint) is driven one request at a time by the engine's scheduler, ``max_concurrency``
in flight across every task of a scoring job (:mod:`fecbench.judges.scheduler`), from one event
loop: a backend that can send requests without a thread each overrides
:meth:`ChatJudge.complete_async` (the ``openai`` judge does: one asyncio client instead of 128
threads contending for one connection pool, which is what a small machine runs out of first);
otherwise :meth:`ChatJudge.complete` runs on a pool of ``max_concurrency`` threads. In-process
backends override :meth:`ChatJudge.complete_batch` to generate a whole batch at once, and
:meth:`ChatJudge.solve` then works in rounds.
"""

from __future__ import annotations

import abc
import asyncio
import random
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, ClassVar

from fecbench.errors import ConfigError
from fecbench.judges.base import TASKS, Judge, JudgeFailure, JudgeIdentity
from fecbench.judges.parse import AnswerError, parse_answer
from fecbench.judges.prompts import load_prompts

Messages = list[dict[str, Any]]


class TransientError(Exception):
    """A failure worth trying again unchanged: rate limit, server error, timeout, dropped connection.

    ``retry_after`` is the server's requested wait in seconds, when it gave one.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoAnswer(TransientError):
    """No answer at all: the request timed out or the connection failed (the breaker counts these)."""


class RequestRejected(Exception):
    """The backend refused this one item for good (say, a prompt longer than the model's context)."""


_ITEM_ERRORS = (TransientError, RequestRejected, AnswerError)


@dataclass
class Conversation:
    """One item's exchange with the model: what to send next, how many tries so far, the last problem."""

    task: str
    inputs: dict[str, Any]
    first_turns: Messages
    messages: Messages
    attempts: int = 0
    error: str = ""
    raw: str | None = None


@dataclass(frozen=True)
class Retry:
    """Ask the conversation again, not before ``wait`` seconds from now."""

    wait: float = 0.0


class Fatal:
    """An exception that must stop the job, carried back from a worker thread as a value."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class ChatJudge(Judge):
    """A judge that talks to a chat model; subclasses say how one conversation is completed."""

    backend: ClassVar[str] = "chat"
    tasks: ClassVar[frozenset[str]] = frozenset(TASKS)

    def __init__(
        self,
        *,
        model: str,
        max_retries: int = 3,
        backoff: float = 1.0,
        backoff_max: float = 30.0,
        timeout: float = 120.0,
        max_concurrency: int = 8,
        temperature: float | None = 0.0,
        max_tokens: int | None = 1024,
        prompt_dir: str | None = None,
        max_unanswered: int = 8,
    ) -> None:
        _check_int("max_retries", max_retries, 0)
        _check_int("max_concurrency", max_concurrency, 1)
        _check_int("max_unanswered", max_unanswered, 0)
        _check_seconds("backoff", backoff)
        _check_seconds("backoff_max", backoff_max)
        _check_seconds("timeout", timeout, positive=True)
        if temperature is not None:
            _check_seconds("temperature", temperature, unit="a number")
        if max_tokens is not None:
            _check_int("max_tokens", max_tokens, 1)
        self.model = str(model)
        self.max_retries = max_retries
        self.backoff = float(backoff)
        self.backoff_max = float(backoff_max)
        self.timeout = float(timeout)
        self.max_concurrency = max_concurrency
        self.max_unanswered = max_unanswered
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.prompts = load_prompts(prompt_dir)

    # -- what a backend provides -------------------------------------------------------------

    @abc.abstractmethod
    def complete(self, messages: Messages) -> str:
        """The model's answer to one conversation.

        Raise :class:`TransientError` for what is worth retrying, :class:`RequestRejected` for a
        refusal of this item alone, a :class:`fecbench.errors.FecbenchError` for what the user
        must fix (bad key, unknown model).
        """

    def complete_batch(self, conversations: Sequence[Messages]) -> list[str | Exception]:
        """One answer (or item error) per conversation, ``max_concurrency`` of them in flight at once.

        Item errors (:class:`TransientError`, :class:`RequestRejected`, :class:`AnswerError`) are
        returned in place; any other exception cancels what has not started and is raised.
        """
        if not conversations:
            return []
        results: list[str | Exception | None] = [None] * len(conversations)
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(conversations))) as pool:
            futures = {pool.submit(self.complete, messages): i for i, messages in enumerate(conversations)}
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for future in done:
                    exc = future.exception()
                    if exc is not None and not isinstance(exc, _ITEM_ERRORS):
                        for other in remaining:
                            other.cancel()
                        raise exc
                    results[futures[future]] = exc if exc is not None else future.result()
        return results  # type: ignore[return-value]

    @property
    def endpoint(self) -> str:
        """Where requests go, for messages; HTTP backends name their URL."""
        return f"the {self.backend} judge backend"

    @property
    def request_slots(self) -> int | None:
        """Requests the scheduler may keep in flight when this backend answers one conversation per
        call (it implements :meth:`complete` only); None when it generates whole batches itself."""
        return self.max_concurrency if type(self).complete_batch is ChatJudge.complete_batch else None

    # -- requests from an event loop (the scheduler's request mode) ------------------------------

    async def start_requests(self) -> None:
        """Called in the scheduler's event loop before its first :meth:`complete_async` (open clients here)."""
        self._threads = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="fecbench-judge")

    async def complete_async(self, messages: Messages) -> str:
        """:meth:`complete` from the event loop; this default runs it on one of ``max_concurrency`` threads."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, self.complete, messages)

    async def finish_requests(self) -> None:
        """Called in the scheduler's event loop after its last request (close clients here)."""
        threads = getattr(self, "_threads", None)
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)

    # -- one item, one try at a time (the scheduler drives these) ---------------------------------

    def start(self, task: str, inputs: dict[str, Any]) -> Conversation:
        """The conversation that asks ``task`` for one item."""
        if task not in self.tasks:
            raise ValueError(f"judge {self.backend!r} does not answer {task!r}")
        turns = self.messages(task, inputs)
        return Conversation(task=task, inputs=dict(inputs), first_turns=turns, messages=turns)

    def ask(self, conversation: Conversation) -> str | Exception | Fatal:
        """One try: the answer, an item error (as a value), or a :class:`Fatal` wrapping what stops the job."""
        try:
            return self.complete(conversation.messages)
        except _ITEM_ERRORS as exc:
            return exc
        except Exception as exc:  # a refused key, an unknown model, a bug: stops the job in the caller
            return Fatal(exc)

    async def ask_async(self, conversation: Conversation) -> str | Exception | Fatal:
        """:meth:`ask` through :meth:`complete_async`."""
        try:
            return await self.complete_async(conversation.messages)
        except _ITEM_ERRORS as exc:
            return exc
        except Exception as exc:  # a refused key, an unknown model, a bug: stops the job in the caller
            return Fatal(exc)

    def settle(self, conversation: Conversation, answer: str | Exception) -> dict[str, Any] | JudgeFailure | Retry:
        """The verdict, a final :class:`JudgeFailure`, or when (and with what prompt) to try again."""
        conversation.attempts += 1
        wait = 0.0
        if isinstance(answer, str):
            conversation.raw = answer
            try:
                return parse_answer(conversation.task, conversation.inputs, answer)
            except AnswerError as exc:
                conversation.error = f"unusable answer: {exc}"
                conversation.messages = self.prompts.render_repair(conversation.first_turns, answer, str(exc))
        elif isinstance(answer, RequestRejected):
            return JudgeFailure(f"rejected: {answer}", conversation.attempts, conversation.raw)
        elif isinstance(answer, _ITEM_ERRORS):
            conversation.error = f"{type(answer).__name__}: {answer}"
            if isinstance(answer, TransientError):
                wait = self.retry_delay(conversation.attempts, answer.retry_after or 0.0)
        else:
            raise TypeError(f"a chat backend answered {type(answer).__name__}, not a string or item error")
        if conversation.attempts > self.max_retries:
            return JudgeFailure(conversation.error, conversation.attempts, conversation.raw)
        return Retry(wait)

    # -- the Judge interface -----------------------------------------------------------------

    def identity(self) -> JudgeIdentity:
        return JudgeIdentity(
            backend=self.backend,
            model=self.model,
            prompt_version=self.prompts.version,
            prompts_sha256=self.prompts.sha256,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "max_retries": self.max_retries,
            "backoff": self.backoff,
            "backoff_max": self.backoff_max,
            "max_unanswered": self.max_unanswered,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "prompts": self.prompts.source,
        }

    def messages(self, task: str, inputs: dict[str, Any]) -> Messages:
        """The chat messages that ask ``task`` for one item (system turn, then the task's prompt)."""
        return self.prompts.render(task, inputs)

    def solve(self, task: str, inputs: Sequence[dict[str, Any]]) -> list[dict[str, Any] | JudgeFailure]:
        """Every item answered in rounds of :meth:`complete_batch` (the scheduler's batch mode, and direct use)."""
        results: list[dict[str, Any] | JudgeFailure | None] = [None] * len(inputs)
        pending = [(i, self.start(task, item)) for i, item in enumerate(inputs)]
        while pending:
            answers = self.complete_batch([conversation.messages for _, conversation in pending])
            if len(answers) != len(pending):
                raise RuntimeError(
                    f"{type(self).__name__}.complete_batch gave {len(answers)} answers for {len(pending)}"
                )
            again: list[tuple[int, Conversation]] = []
            wait = 0.0
            for (index, conversation), answer in zip(pending, answers, strict=True):
                outcome = self.settle(conversation, answer)
                if isinstance(outcome, Retry):
                    again.append((index, conversation))
                    wait = max(wait, outcome.wait)
                else:
                    results[index] = outcome
            if again and wait:
                time.sleep(wait)
            pending = again
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def retry_delay(self, attempt: int, server_wait: float = 0.0) -> float:
        """Seconds to wait before try ``attempt + 1``: the server's ``Retry-After`` when it sent one (up to
        ``backoff_max``), else exponential and jittered.

        The server knows when it has room again; waiting longer than it asked (the larger of both,
        as before) left each 429 of a rate-limited job's last requests up to ``backoff`` seconds
        longer in its tail. The openai client itself does the same."""
        if server_wait > 0:
            return min(server_wait, self.backoff_max)
        ceiling = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"--judge-args: {name} must be an integer >= {minimum}, not {value!r}")


def _check_seconds(name: str, value: Any, *, positive: bool = False, unit: str = "a number of seconds") -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (positive and value == 0):
        raise ConfigError(f"--judge-args: {name} must be {unit} {'> 0' if positive else '>= 0'}, not {value!r}")
