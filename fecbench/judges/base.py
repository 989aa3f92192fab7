"""The judge interface: four tasks with fixed, validated input and output shapes.

Every judge (an LLM behind an HTTP endpoint, an in-process model, the offline ``lexical`` rules)
answers the same four tasks, so the metric layer never knows which judge it drives:

``extract``   {"text": str}
              -> {"events": [str, ...]}        ordered as narrated, at most 10, no duplicates
``classify``  {"events": [str, ...], "text": str}
              -> {"labels": [Relation, ...]}   one label per event, judged against the whole text
``align``     {"reference_events": [str, ...], "predicted_events": [str, ...]}
              -> {"alignment": [{"reference": int | None, "relation": Relation}, ...]}
                 one entry per predicted event, in order; ``reference`` is the 1-based index of the
                 reference event it corresponds to (None: none)
``rate``      {"question": str, "reference": str, "prediction": str}
              -> {"correctness": int, "detail": int, "context": int, "temporal": int}   each 0..5

Inputs and outputs are plain JSON values so that a verdict can be hashed, cached and stored per clip.
A judge returns a :class:`JudgeFailure` for an item it could not answer (after its own retries);
that item is then a judge failure for its clip, never a number.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Relation = Literal["entailment", "neutral", "contradiction"]
RELATIONS: tuple[str, ...] = ("entailment", "neutral", "contradiction")
TASKS: tuple[str, ...] = ("extract", "classify", "align", "rate")
RATE_DIMENSIONS: tuple[str, ...] = ("correctness", "detail", "context", "temporal")
MAX_EVENTS = 10


@dataclass(frozen=True)
class JudgeFailure:
    """An item the judge could not answer: why, after how many tries, and the last raw answer."""

    error: str
    attempts: int = 1
    raw: str | None = None


@dataclass(frozen=True)
class JudgeIdentity:
    """What makes two judges' verdicts comparable: backend, model, prompt version and prompt hash.

    ``prompts_sha256`` hashes every template the judge uses (for rule-based judges: its rules and
    vocabulary), so a changed prompt is a different judge and never shares cache entries or ranks.
    """

    backend: str
    model: str
    prompt_version: str
    prompts_sha256: str

    def as_dict(self) -> dict[str, str]:
        return {
            "backend": self.backend,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "prompts_sha256": self.prompts_sha256,
        }

    @property
    def key(self) -> str:
        """A stable string naming this judge in caches and track names."""
        return f"{self.backend}|{self.model}|{self.prompt_version}|{self.prompts_sha256}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExtractOutput(_Strict):
    events: list[str]

    @field_validator("events")
    @classmethod
    def _clean(cls, events: list[str]) -> list[str]:
        """Collapse whitespace, drop empty and repeated events, keep the first ``MAX_EVENTS``."""
        seen: list[str] = []
        for event in events:
            text = " ".join(str(event).split())
            if text and text.lower() not in {s.lower() for s in seen}:
                seen.append(text)
        return seen[:MAX_EVENTS]


def _relation_word(value: Any) -> Any:
    """``"Entailment"``, ``" NEUTRAL "``: a relation label in any case or padding is the label."""
    return value.strip().lower() if isinstance(value, str) else value


class ClassifyOutput(_Strict):
    labels: list[Relation]

    @field_validator("labels", mode="before")
    @classmethod
    def _lower(cls, labels: Any) -> Any:
        return [_relation_word(label) for label in labels] if isinstance(labels, list) else labels


class AlignEntry(_Strict):
    reference: int | None
    relation: Relation

    @field_validator("relation", mode="before")
    @classmethod
    def _lower(cls, relation: Any) -> Any:
        return _relation_word(relation)


class AlignOutput(_Strict):
    alignment: list[AlignEntry]


class RateOutput(_Strict):
    correctness: int = Field(ge=0, le=5)
    detail: int = Field(ge=0, le=5)
    context: int = Field(ge=0, le=5)
    temporal: int = Field(ge=0, le=5)


_OUTPUT_MODELS: dict[str, type[BaseModel]] = {
    "extract": ExtractOutput,
    "classify": ClassifyOutput,
    "align": AlignOutput,
    "rate": RateOutput,
}


class InvalidVerdict(ValueError):
    """A judge answer that does not fit its task's shape (wrong keys, lengths, ranges or indices)."""


def validate_output(task: str, inputs: dict[str, Any], output: Any) -> dict[str, Any]:
    """Check ``output`` against the task's shape *and* its inputs; return the normalised output.

    Beyond the pydantic shape: ``classify`` must give one label per event, ``align`` one entry per
    predicted event with reference indices in 1..len(reference_events).
    """
    if task not in _OUTPUT_MODELS:
        raise InvalidVerdict(f"unknown judge task {task!r}; tasks are {', '.join(TASKS)}")
    try:
        parsed = _OUTPUT_MODELS[task].model_validate(output)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "answer"
        raise InvalidVerdict(f"{task}: {where}: {first.get('msg')}") from exc
    result = parsed.model_dump()
    if task == "classify" and len(result["labels"]) != len(inputs["events"]):
        raise InvalidVerdict(f"classify: {len(result['labels'])} labels for {len(inputs['events'])} events")
    if task == "align":
        n_pred, n_ref = len(inputs["predicted_events"]), len(inputs["reference_events"])
        if len(result["alignment"]) != n_pred:
            raise InvalidVerdict(f"align: {len(result['alignment'])} entries for {n_pred} predicted events")
        for j, entry in enumerate(result["alignment"], start=1):
            ref = entry["reference"]
            if ref is not None and not 1 <= ref <= n_ref:
                raise InvalidVerdict(f"align: predicted event {j} points to reference {ref}, outside 1..{n_ref}")
            if ref is None and entry["relation"] != "neutral":
                entry["relation"] = "neutral"  # no counterpart means no relation to speak of
    return result


class Judge(abc.ABC):
    """Base class of every judge.

    Subclasses implement :meth:`solve` for the tasks in ``tasks`` (declared in the judge's
    :class:`JudgeSpec`; the registry copies them onto the instance). Caching, concurrency across
    items and bookkeeping live in the scoring engine, not here: ``solve`` answers a batch of
    uncached items and returns, per item, a validated output dict or a :class:`JudgeFailure`.
    Judges are constructed with the keyword arguments of ``--judge-args``.
    """

    backend: ClassVar[str] = ""
    # What this judge answers. A judge loaded by name gets its JudgeSpec's ``tasks`` here (see
    # fecbench.judges.registry.load_judge), so the registration is the one place to declare them.
    tasks: frozenset[str] = frozenset(TASKS)

    @abc.abstractmethod
    def identity(self) -> JudgeIdentity:
        """Backend, model, prompt version and prompt hash of this judge as configured."""

    @abc.abstractmethod
    def solve(self, task: str, inputs: Sequence[dict[str, Any]]) -> list[dict[str, Any] | JudgeFailure]:
        """Answer every item of one task; one result per input, in order."""

    def describe(self) -> dict[str, Any]:
        """Extra facts to record in ``scores.json`` (endpoint, dtype, concurrency...)."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the judge's resources (model, HTTP sessions)."""


@dataclass(frozen=True)
class JudgeSpec:
    """A registered judge, described without importing it (the twin of :class:`fecbench.AdapterSpec`).

    ``factory`` is ``"package.module:ClassName"``; ``tasks`` lists the tasks it answers, so a
    judge that cannot rate captions leaves the Video-ChatGPT scores out (as unsupported) rather
    than inventing them.
    """

    name: str
    factory: str
    summary: str = ""
    default_model: str | None = None
    tasks: tuple[str, ...] = TASKS
    requires: tuple[str, ...] = ()
    install_hint: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)
