"""JudgeEngine: puts one task's questions to a judge, through the verdict cache, and keeps count.

Scoring asks for many items at once (every reference caption to extract, every clip to align).
The engine asks each distinct question once: identical inputs in one call are merged, cached
verdicts are served from the :class:`~fecbench.judges.cache.VerdictCache`, and the rest go to
``judge.solve`` in a single call (the judge batches or parallelises them). Every answer is
checked with :func:`~fecbench.judges.base.validate_output`; one that does not fit becomes a
:class:`~fecbench.judges.base.JudgeFailure`. Only valid verdicts are cached.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from fecbench.errors import ConfigError
from fecbench.judges.base import TASKS, InvalidVerdict, Judge, JudgeFailure, validate_output
from fecbench.judges.cache import VerdictCache, canonical_json

# The fields each task's inputs must have (their shapes are documented in fecbench.judges.base).
INPUT_FIELDS: dict[str, tuple[str, ...]] = {
    "extract": ("text",),
    "classify": ("events", "text"),
    "align": ("reference_events", "predicted_events"),
    "rate": ("question", "reference", "prediction"),
}
STAT_FIELDS = ("requested", "cache_hits", "judge_calls", "failures")


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
        ``failures`` (items that ended as JudgeFailure). Duplicates within one call count in
        ``requested`` only."""
        with self._lock:
            return {task: dict(counts) for task, counts in self._stats.items()}

    def run(self, task: str, inputs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | JudgeFailure]:
        """One validated verdict or JudgeFailure per item, in order."""
        if task not in TASKS:
            raise ValueError(f"unknown judge task {task!r}; tasks are {', '.join(TASKS)}")
        if task not in self.judge.tasks:
            raise ConfigError(
                f"judge {self.identity.backend!r} does not answer the {task!r} task "
                f"(it answers: {', '.join(sorted(self.judge.tasks))})"
            )
        items = [_checked_inputs(task, i, item) for i, item in enumerate(inputs)]
        # Distinct questions, in first-seen order, and where each item's answer comes from.
        distinct: dict[str, dict[str, Any]] = {}
        slot_of = []
        for item in items:
            key = canonical_json(item)
            distinct.setdefault(key, item)
            slot_of.append(key)
        keys = list(distinct)
        questions = [distinct[k] for k in keys]
        answers: dict[str, dict[str, Any] | JudgeFailure] = {}
        if self.cache is not None:
            for key, cached in zip(keys, self.cache.get_many(self.identity, task, questions), strict=True):
                if cached is not None:
                    answers[key] = cached
        hits = len(answers)
        misses = [k for k in keys if k not in answers]
        if misses:
            solved = self.judge.solve(task, [distinct[k] for k in misses])
            if len(solved) != len(misses):
                raise RuntimeError(f"judge {self.identity.key} gave {len(solved)} answers to {len(misses)} questions")
            fresh = []
            for key, result in zip(misses, solved, strict=True):
                answers[key] = checked = _checked_result(task, distinct[key], result)
                if not isinstance(checked, JudgeFailure):
                    fresh.append((distinct[key], checked))
            if self.cache is not None:
                self.cache.put_many(self.identity, task, fresh)
        failures = sum(isinstance(answers[k], JudgeFailure) for k in misses)
        self._count(task, requested=len(items), cache_hits=hits, judge_calls=len(misses), failures=failures)
        return [answers[slot] for slot in slot_of]

    def _count(self, task: str, **counts: int) -> None:
        with self._lock:
            stats = self._stats.setdefault(task, dict.fromkeys(STAT_FIELDS, 0))
            for name, value in counts.items():
                stats[name] += value


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
