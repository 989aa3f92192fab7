"""The judge check's known-answer suite: real reference events, controlled edits, answers by construction.

From each chosen caption, a *reference* of K single-event sentences (3..8, distinct action classes,
no two that could contradict each other) is told as a caption of its own; five *predictions* are
made from it, each with every right answer known:

=============  ========================================  =================================================
edit           prediction                                known answers
=============  ========================================  =================================================
``drop``       some sentences left out                   left-out reference events neutral, the rest
                                                         entailed; recall (K-m)/K, precision 1 (both metrics)
``flip``       one action made its opposite              that event contradiction both ways, aligned to its
                                                         reference event; recall = precision = (K-1)/K
``reorder``    the sentences shuffled                    everything entailed (AutoDQ 1); alignment is the
                                                         permutation, TEM = LIS(permutation)/K
``paraphrase`` synonym swaps, pronouns after the first   everything entailed, aligned in order; both 1
``foreign``    another clip's reference (same person,    everything neutral, nothing aligned; both 0
               no shared or opposed action class)
=============  ========================================  =================================================

Every caption, reference or prediction, narrates one event per sentence, so ``extract`` should find
exactly as many events as it has sentences. The suite depends only on the captions, ``n`` and ``seed``.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fecbench.judges.check.events import (
    CLASS_CONFLICTS,
    EventSentence,
    event_sentences,
    flip,
    flippable,
    paraphrase,
    person_of,
)
from fecbench.metrics.events import longest_increasing_matches

EDITS: tuple[str, ...] = ("drop", "flip", "reorder", "paraphrase", "foreign")
MIN_EVENTS, MAX_EVENTS_PER_REFERENCE = 3, 8
ENTAILMENT, NEUTRAL, CONTRADICTION = "entailment", "neutral", "contradiction"


@dataclass(frozen=True)
class Case:
    """One reference/prediction pair with its known answers (1-based reference indices)."""

    clip_id: str
    edit: str
    reference: list[str]  # one event per sentence
    prediction: list[str]
    reference_labels: list[str]  # each reference event against the prediction
    prediction_labels: list[str]  # each predicted event against the reference
    alignment: list[dict[str, Any]]  # per predicted event: {"reference": k | None, "relation"}
    tem_matched: int  # L of TEM

    @property
    def reference_text(self) -> str:
        return " ".join(self.reference)

    @property
    def prediction_text(self) -> str:
        return " ".join(self.prediction)

    def known(self) -> dict[str, dict[str, float]]:
        """AutoDQ and TEM recall and precision that a right judge gives this case."""
        k, p = len(self.reference), len(self.prediction)
        return {
            "autodq": {
                "recall": self.reference_labels.count(ENTAILMENT) / k,
                "precision": self.prediction_labels.count(ENTAILMENT) / p,
            },
            "tem": {"recall": self.tem_matched / k, "precision": self.tem_matched / p},
        }


@dataclass(frozen=True)
class Suite:
    """The cases, and what they were built from."""

    cases: list[Case]
    seed: int
    captions: int
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """Identity of the suite's content: the same captions, n and seed give the same hash."""
        body = json.dumps([c.__dict__ for c in self.cases], sort_keys=True)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _compatible(classes: set[str], cls: str) -> bool:
    return cls not in classes and not any(frozenset((cls, other)) in CLASS_CONFLICTS for other in classes)


def reference_events(caption: str) -> list[EventSentence]:
    """Up to 8 of the caption's single-event sentences, in order, no two of one class or opposed classes."""
    chosen: list[EventSentence] = []
    classes: set[str] = set()
    for event in event_sentences(caption):
        if len(chosen) < MAX_EVENTS_PER_REFERENCE and _compatible(classes, event.cls):
            chosen.append(event)
            classes.add(event.cls)
    return chosen


def build_suite(captions: Mapping[str, str], n: int, seed: int = 0) -> Suite:
    """Five cases for each of ``n`` captions (fewer if fewer qualify), chosen and edited with ``seed``."""
    if n < 1:
        raise ValueError(f"the judge check needs n >= 1 captions, got {n}")
    rng = random.Random(seed)
    ids = sorted(captions)
    rng.shuffle(ids)
    bases: list[tuple[str, str, list[EventSentence]]] = []
    for clip_id in ids:
        person = person_of(captions[clip_id])
        events = reference_events(captions[clip_id])
        if person is not None and len(events) >= MIN_EVENTS and _flip_targets(events):
            bases.append((clip_id, person, events))
        if len(bases) == n:
            break
    cases: list[Case] = []
    for index, (clip_id, person, events) in enumerate(bases):
        reference = [e.render(person) for e in events]
        cases += [
            _drop(clip_id, reference, rng),
            _flip(clip_id, person, events, reference, rng),
            _reorder(clip_id, reference, rng),
            _paraphrase(clip_id, person, events, reference),
        ]
        foreign = _foreign_partner(bases, index)
        if foreign is not None:
            prediction = [e.render(person) for e in foreign]
            cases.append(
                _case(clip_id, "foreign", reference, prediction, [None] * len(prediction), [NEUTRAL] * len(prediction))
            )
    return Suite(cases=cases, seed=seed, captions=len(bases))


def _case(
    clip_id: str,
    edit: str,
    reference: list[str],
    prediction: list[str],
    counterpart: list[int | None],
    relations: list[str],
) -> Case:
    """A case from where each predicted event comes from (1-based reference index or None) and how it relates."""
    reference_labels = [NEUTRAL] * len(reference)
    for k, relation in zip(counterpart, relations, strict=True):
        if k is not None:
            reference_labels[k - 1] = relation
    alignment = [
        {"reference": k, "relation": relation if k is not None else NEUTRAL}
        for k, relation in zip(counterpart, relations, strict=True)
    ]
    matches = [(j, k) for j, (k, rel) in enumerate(zip(counterpart, relations, strict=True), 1) if rel == ENTAILMENT]
    return Case(
        clip_id=clip_id,
        edit=edit,
        reference=reference,
        prediction=prediction,
        reference_labels=reference_labels,
        prediction_labels=list(relations),
        alignment=alignment,
        tem_matched=len(longest_increasing_matches([(j, k) for j, k in matches if k is not None])),
    )


def _drop(clip_id: str, reference: list[str], rng: random.Random) -> Case:
    k = len(reference)
    kept = sorted(rng.sample(range(k), rng.randint(1, k - 1)))
    return _case(
        clip_id, "drop", reference, [reference[i] for i in kept], [i + 1 for i in kept], [ENTAILMENT] * len(kept)
    )


def _flip(clip_id: str, person: str, events: list[EventSentence], reference: list[str], rng: random.Random) -> Case:
    target = rng.choice(_flip_targets(events))
    prediction = list(reference)
    prediction[target] = flip(events[target]).render(person)
    relations = [CONTRADICTION if i == target else ENTAILMENT for i in range(len(reference))]
    return _case(clip_id, "flip", reference, prediction, list(range(1, len(reference) + 1)), relations)


def _flip_targets(events: list[EventSentence]) -> list[int]:
    """Events whose opposite neither matches nor conflicts with another event of the reference."""
    targets = []
    for i, event in enumerate(events):
        if flippable(event):
            others = {e.cls for j, e in enumerate(events) if j != i}
            if _compatible(others, flip(event).cls):
                targets.append(i)
    return targets


def _reorder(clip_id: str, reference: list[str], rng: random.Random) -> Case:
    order = list(range(len(reference)))
    while order == sorted(order):
        rng.shuffle(order)
    prediction = [reference[i] for i in order]
    return _case(clip_id, "reorder", reference, prediction, [i + 1 for i in order], [ENTAILMENT] * len(order))


def _paraphrase(clip_id: str, person: str, events: list[EventSentence], reference: list[str]) -> Case:
    prediction = [paraphrase(e)[0].render(person, pronoun=i > 0) for i, e in enumerate(events)]
    k = len(reference)
    return _case(clip_id, "paraphrase", reference, prediction, list(range(1, k + 1)), [ENTAILMENT] * k)


def _foreign_partner(bases: list[tuple[str, str, list[EventSentence]]], index: int) -> list[EventSentence] | None:
    """Events of the next base caption (cyclically) whose action classes neither match nor oppose ours
    (at least two of them)."""
    classes = {e.cls for e in bases[index][2]}
    for step in range(1, len(bases)):
        other = [e for e in bases[(index + step) % len(bases)][2] if _compatible(classes, e.cls)]
        if len(other) >= 2:
            return other
    return None
