"""A judge plugin used by the tests, loaded through ``FECBENCH_PLUGINS`` like any unpackaged plugin.

``keyword`` is a small deterministic rule judge (no model can run in the tests): it extracts the
clauses that carry a facial action verb, relates events by their content words and a few antonyms,
and rates captions by word overlap. Marker words make it fail on chosen items, the way an LLM judge
fails after its retries: ``judgefail-extract`` in a text, ``judgefail-classify`` in the text an event
is classified against, ``judgefail-align`` in a predicted event, ``judgefail-rate`` in a prediction.
``keyword-norate`` is the same judge without the ``rate`` task.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from fecbench import hookimpl
from fecbench.judges.base import Judge, JudgeFailure, JudgeIdentity, JudgeSpec

ACTIONS = frozenset(
    [
        "blinks",
        "opens",
        "closes",
        "raises",
        "lowers",
        "smiles",
        "frowns",
        "turns",
        "looks",
        "tightens",
        "relaxes",
        "nods",
        "shakes",
        "furrows",
        "widens",
        "narrows",
        "purses",
        "puffs",
        "lifts",
        "drops",
        "tilts",
        "squints",
        "grins",
        "moves",
    ]
)
ANTONYMS = {"opens": "closes", "closes": "opens", "raises": "lowers", "lowers": "raises", "widens": "narrows"}
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "his",
        "her",
        "their",
        "he",
        "she",
        "they",
        "it",
        "its",
        "and",
        "then",
        "slightly",
        "to",
        "of",
        "at",
        "in",
        "on",
        "up",
        "down",
    ]
)
TEMPORAL = ("beginning", "progresses", "middle", "end")
RULES = repr((sorted(ACTIONS), sorted(ANTONYMS.items()), sorted(STOPWORDS), TEMPORAL))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z\-]+", text.lower())


def content(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOPWORDS}


def extract(text: str) -> list[str]:
    clauses = re.split(r"[.;,\n]|\band\b|\bthen\b", text.lower())
    return [" ".join(c.split()) for c in clauses if ACTIONS & set(words(c))]


def relation(event: str, text_words: set[str]) -> str:
    event_words = content(event)
    if event_words and event_words <= text_words:
        return "entailment"
    for verb in event_words & set(ANTONYMS):
        if ANTONYMS[verb] in text_words and (event_words - {verb}) <= text_words:
            return "contradiction"
    return "neutral"


def align(reference: list[str], predicted: list[str]) -> list[dict[str, Any]]:
    result = []
    for event in predicted:
        best, best_k = 0.0, None
        for k, ref in enumerate(reference, start=1):
            a, b = content(event), content(ref)
            overlap = len(a & b) / max(1, len(a | b))
            if overlap > best:
                best, best_k = overlap, k
        if best_k is None or best < 0.3:
            result.append({"reference": None, "relation": "neutral"})
        else:
            result.append({"reference": best_k, "relation": relation(event, content(reference[best_k - 1]))})
    return result


def rate(question: str, reference: str, prediction: str) -> dict[str, int]:
    ref, pred = content(reference), content(prediction)
    overlap = len(ref & pred) / max(1, len(ref))
    return {
        "correctness": round(5 * overlap),
        "detail": min(5, len(words(prediction)) // 10),
        "context": 5 if "face" in pred or "facial" in pred else 2,
        "temporal": min(5, sum(marker in prediction.lower() for marker in TEMPORAL)),
    }


class KeywordJudge(Judge):
    backend = "test-keyword"

    def __init__(self, version: str = "1") -> None:
        self.version = version

    def identity(self) -> JudgeIdentity:
        digest = hashlib.sha256(RULES.encode()).hexdigest()
        return JudgeIdentity(backend=self.backend, model="rules", prompt_version=self.version, prompts_sha256=digest)

    def describe(self) -> dict[str, Any]:
        return {"rules": "keyword test judge"}

    def solve(self, task: str, inputs: Sequence[dict[str, Any]]) -> list[dict[str, Any] | JudgeFailure]:
        return [self._one(task, item) for item in inputs]

    def _one(self, task: str, item: dict[str, Any]) -> dict[str, Any] | JudgeFailure:
        if task == "extract":
            if "judgefail-extract" in item["text"]:
                return JudgeFailure("test judge told to fail extraction", attempts=3)
            return {"events": extract(item["text"])}
        if task == "classify":
            if "judgefail-classify" in item["text"]:
                return JudgeFailure("test judge told to fail classification", attempts=3)
            text_words = content(item["text"])
            return {"labels": [relation(e, text_words) for e in item["events"]]}
        if task == "align":
            if any("judgefail-align" in e for e in item["predicted_events"]):
                return JudgeFailure("test judge told to fail alignment", attempts=2)
            return {"alignment": align(item["reference_events"], item["predicted_events"])}
        if task == "rate":
            if "judgefail-rate" in item["prediction"]:
                return JudgeFailure("test judge told to fail rating", attempts=3)
            return rate(item["question"], item["reference"], item["prediction"])
        raise ValueError(f"unknown task {task}")


class KeywordJudgeNoRate(KeywordJudge):
    backend = "test-keyword-norate"
    tasks = frozenset({"extract", "classify", "align"})


@hookimpl
def fecbench_register_judges() -> list[JudgeSpec]:
    return [
        JudgeSpec(name="keyword", factory="fecbench_test_judges:KeywordJudge", summary="test judge: keyword rules"),
        JudgeSpec(
            name="keyword-norate",
            factory="fecbench_test_judges:KeywordJudgeNoRate",
            summary="test judge without the rate task",
            tasks=("extract", "classify", "align"),
        ),
    ]


# -- the same rules behind the loopback chat server (tests/chat_server.py), reading fecbench's prompts -----


def _block(prompt: str, header: str) -> str:
    match = re.search(re.escape(header) + r"\n<<<\n(.*?)\n>>>", prompt, re.DOTALL)
    if not match:
        raise ValueError(f"no {header!r} block in the prompt")
    return match.group(1)


def _numbered(prompt: str, header: str, until: str | None = None) -> list[str]:
    section = prompt.split(header, 1)[1]
    if until:
        section = section.split(until, 1)[0]
    return [m.group(1) for m in re.finditer(r"^\d+\. (.*)$", section, re.MULTILINE)]


def rules_answer(request: Any) -> Any:
    """A chat server handler: the keyword rules' verdict as the JSON reply a chat model would give.

    A rating asked about a prediction holding ``judgefail-rate`` gets a reply that names the marker but
    holds no JSON, so the judge's retries end in a judge failure (as a confused model's would).
    """
    prompt = request.prompt
    if prompt.startswith("Task: list the facial events"):
        return json.dumps({"events": extract(_block(prompt, "Caption:"))})
    if prompt.startswith("Task: judge each numbered event"):
        text_words = content(_block(prompt, "Text:"))
        return json.dumps({"labels": [relation(e, text_words) for e in _numbered(prompt, "Events:", "Text:")]})
    if prompt.startswith("Task: match each predicted event"):
        reference = _numbered(prompt, "Reference events:", "Predicted events:")
        predicted = _numbered(prompt, "Predicted events:")
        return json.dumps({"alignment": align(reference, predicted)})
    if prompt.startswith("Task: rate a model's caption"):
        prediction = _block(prompt, "Predicted caption:")
        if "judgefail-rate" in prediction:
            return "I cannot rate this (judgefail-rate)."
        return json.dumps(rate(_block(prompt, "Question:"), _block(prompt, "Reference caption:"), prediction))
    raise ValueError(f"unexpected prompt: {prompt[:80]!r}")
