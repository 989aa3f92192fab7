"""ChatJudge: the part every LLM judge shares, whatever serves the model.

A chat judge renders a task's prompt into chat messages, asks its backend for a completion, and
parses and validates the answer. What goes wrong is retried, up to ``max_retries`` times after the
first try, with exponential backoff and jitter between rounds:

- an unusable answer (no JSON, wrong shape): asked again with the answer and the problem appended
  (the ``repair`` prompt), so that even a greedy local model gets a different prompt;
- a :class:`TransientError` raised by the backend (HTTP 429, 5xx, timeout, lost connection):
  asked again as is, waiting at least the server's ``Retry-After`` (up to ``backoff_max``).

An item still unanswered after the last try becomes a :class:`JudgeFailure` (never a number); a
:class:`RequestRejected` item fails at once; any other exception (a bad key, a missing model, a
bug) stops the whole call.

Backends implement :meth:`ChatJudge.complete` (one conversation). The default
:meth:`ChatJudge.complete_batch` runs those on a thread pool of ``max_concurrency`` workers;
in-process backends override it to generate a whole batch at once.
"""

from __future__ import annotations

import abc
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


class RequestRejected(Exception):
    """The backend refused this one item for good (say, a prompt longer than the model's context)."""


_ITEM_ERRORS = (TransientError, RequestRejected, AnswerError)


@dataclass
class _Item:
    index: int
    inputs: dict[str, Any]
    first_turns: Messages
    messages: Messages
    attempts: int = 0
    error: str = ""
    raw: str | None = None


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
    ) -> None:
        _check_int("max_retries", max_retries, 0)
        _check_int("max_concurrency", max_concurrency, 1)
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
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "prompts": self.prompts.source,
        }

    def messages(self, task: str, inputs: dict[str, Any]) -> Messages:
        """The chat messages that ask ``task`` for one item (system turn, then the task's prompt)."""
        return self.prompts.render(task, inputs)

    def solve(self, task: str, inputs: Sequence[dict[str, Any]]) -> list[dict[str, Any] | JudgeFailure]:
        if task not in self.tasks:
            raise ValueError(f"judge {self.backend!r} does not answer {task!r}")
        results: list[dict[str, Any] | JudgeFailure | None] = [None] * len(inputs)
        pending = []
        for i, item in enumerate(inputs):
            turns = self.messages(task, item)
            pending.append(_Item(index=i, inputs=dict(item), first_turns=turns, messages=turns))
        round_no = 0
        while pending:
            round_no += 1
            answers = self.complete_batch([item.messages for item in pending])
            if len(answers) != len(pending):
                raise RuntimeError(
                    f"{type(self).__name__}.complete_batch gave {len(answers)} answers for {len(pending)}"
                )
            again: list[_Item] = []
            server_wait = 0.0
            for item, answer in zip(pending, answers, strict=True):
                item.attempts += 1
                if isinstance(answer, str):
                    item.raw = answer
                    try:
                        results[item.index] = parse_answer(task, item.inputs, answer)
                        continue
                    except AnswerError as exc:
                        item.error = f"unusable answer: {exc}"
                        item.messages = self.prompts.render_repair(item.first_turns, answer, str(exc))
                elif isinstance(answer, RequestRejected):
                    results[item.index] = JudgeFailure(f"rejected: {answer}", item.attempts, item.raw)
                    continue
                elif isinstance(answer, _ITEM_ERRORS):
                    item.error = f"{type(answer).__name__}: {answer}"
                    server_wait = max(server_wait, getattr(answer, "retry_after", None) or 0.0)
                else:
                    raise TypeError(f"complete_batch returned {type(answer).__name__}, not a string or item error")
                if item.attempts > self.max_retries:
                    results[item.index] = JudgeFailure(item.error, item.attempts, item.raw)
                else:
                    again.append(item)
            if again:
                time.sleep(self.retry_delay(round_no, server_wait))
            pending = again
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def retry_delay(self, round_no: int, server_wait: float = 0.0) -> float:
        """Seconds to wait before retry round ``round_no + 1``: exponential, jittered, at least ``Retry-After``."""
        ceiling = min(self.backoff_max, self.backoff * 2 ** (round_no - 1))
        jittered = ceiling / 2 + random.uniform(0, ceiling / 2)
        return max(jittered, min(server_wait, self.backoff_max))


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"--judge-args: {name} must be an integer >= {minimum}, not {value!r}")


def _check_seconds(name: str, value: Any, *, positive: bool = False, unit: str = "a number of seconds") -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (positive and value == 0):
        raise ConfigError(f"--judge-args: {name} must be {unit} {'> 0' if positive else '>= 0'}, not {value!r}")
