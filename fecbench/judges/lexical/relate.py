"""Relating events by rules: entailment, contradiction or neutral between two frames.

Two events are related only when their face parts are compatible (the same part, or one inside
the other: lips and mouth, gaze and eyes). Then

- the same action (or a synonym class, or a ``RELATED`` pair such as frown / furrow) is
  *entailment*, unless their directions oppose (tilts left / tilts right) or exactly one of them
  is negated ("does not smile"), which is *contradiction*;
- an ``ANTONYMS`` pair (opens / closes, raises / lowers, widens / squints, smiles / frowns) is
  *contradiction*;
- anything else is *neutral*.

``classify`` labels an event against the events ``extract`` gives for a whole text (entailment
wins over contradiction, contradiction over neutral); ``align`` points each predicted event at the reference
event it best corresponds to, keeping to narration order when several fit equally.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

from fecbench.judges.lexical import vocabulary as v
from fecbench.judges.lexical.extract import extract_events
from fecbench.judges.lexical.parse import Frame, frame_of, normalize_text

ENTAILMENT, NEUTRAL, CONTRADICTION = "entailment", "neutral", "contradiction"
_RELATED = frozenset(frozenset(pair) for pair in v.RELATED)
_ANTONYMS = frozenset(frozenset(pair) for pair in v.ANTONYMS)

# A tie-breaker for neutral pairs (``embeddings=minilm``): texts -> True when they say the same thing.
Similar = Callable[[str, str], bool]


@cache
def _lineage(part: str) -> frozenset[str]:
    """The part and every part that contains it (lips -> lips, mouth, face)."""
    chain: list[str] = []
    current: str | None = part
    while current is not None:
        chain.append(current)
        current = v.PART_PARENT.get(current)
    return frozenset(chain)


def parts_compatible(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether two part lists can describe the same movement (one part contains the other)."""
    if not a or not b:
        return True
    return any(p == q or p in _lineage(q) or q in _lineage(p) for p in a for q in b)


def direction_relation(a: Sequence[tuple[str, str]], b: Sequence[tuple[str, str]]) -> str:
    """``same`` (agreeing or one unspecified), ``opposite`` (left vs right) or ``different`` (up vs left)."""
    axes_a, axes_b = dict(a), dict(b)
    shared = axes_a.keys() & axes_b.keys()
    if not shared:
        return "different" if axes_a and axes_b else "same"
    for axis in shared:
        x, y = axes_a[axis], axes_b[axis]
        if x != y:
            if x in v.NON_CONTRADICTING_VALUES or y in v.NON_CONTRADICTING_VALUES:
                return "different"
            return "opposite"
    return "same"


def _split(action: str) -> tuple[str, str]:
    aspect, _, base = action.rpartition(":")
    return aspect, base


def actions_match(a: str, b: str) -> bool:
    (aspect_a, base_a), (aspect_b, base_b) = _split(a), _split(b)
    return aspect_a == aspect_b and (base_a == base_b or frozenset((base_a, base_b)) in _RELATED)


def actions_oppose(a: str, b: str) -> bool:
    return ":" not in a and ":" not in b and frozenset((a, b)) in _ANTONYMS


def relation(a: Frame, b: Frame) -> str:
    """How event ``a`` relates to event ``b`` by the rules above (symmetric)."""
    if not parts_compatible(a.parts, b.parts):
        return NEUTRAL
    if actions_match(a.action, b.action):
        directions = direction_relation(a.directions, b.directions)
        if directions == "different":
            return NEUTRAL
        if directions == "opposite":
            return CONTRADICTION if a.negated == b.negated else NEUTRAL
        return ENTAILMENT if a.negated == b.negated else CONTRADICTION
    if actions_oppose(a.action, b.action):
        return CONTRADICTION if not a.negated and not b.negated else NEUTRAL
    return NEUTRAL


def closeness(a: Frame, b: Frame) -> int:
    """How much detail two related frames share: ranks candidates, never changes a relation."""
    return 2 * (a.action == b.action) + 2 * (a.parts == b.parts) + (a.lemma == b.lemma) + (a.directions == b.directions)


def _text_relation(event: str, other: str, similar: Similar | None) -> str:
    """Relation of two event texts, falling back to the text (and an optional similarity) without frames."""
    fa, fb = frame_of(event), frame_of(other)
    if fa is not None and fb is not None:
        found = relation(fa, fb)
        if found != NEUTRAL or similar is None or not parts_compatible(fa.parts, fb.parts):
            return found
    if normalize_text(event) == normalize_text(other):
        return ENTAILMENT
    if similar is not None and similar(event, other):
        return ENTAILMENT
    return NEUTRAL


def classify(events: Sequence[str], text: str, similar: Similar | None = None) -> list[str]:
    """The ``classify`` task: each event against the events ``extract`` gives for ``text``.

    The same (capped) list that ``align`` sees as the text's events, so AutoDQ and TEM judge a
    caption by one event list: an event the extractor left out of a long caption is neither
    entailed here nor matchable there.
    """
    text_events = extract_events(text)
    labels: list[str] = []
    for event in events:
        found = {_text_relation(event, other, similar) for other in text_events}
        labels.append(ENTAILMENT if ENTAILMENT in found else CONTRADICTION if CONTRADICTION in found else NEUTRAL)
    return labels


def align(
    reference_events: Sequence[str], predicted_events: Sequence[str], similar: Similar | None = None
) -> list[dict[str, object]]:
    """The ``align`` task: per predicted event, the 1-based reference event it matches, and how.

    Among several entailed reference events the first one after the previous match wins (then the
    closest in detail), so a caption told in order is aligned in order.
    """
    ref_frames = [frame_of(r) for r in reference_events]
    alignment: list[dict[str, object]] = []
    last = 0
    for event in predicted_events:
        frame = frame_of(event)
        relations = [_text_relation(event, ref, similar) for ref in reference_events]

        def rank(k: int, frame: Frame | None = frame) -> tuple[int, int]:
            ref = ref_frames[k - 1]
            return (closeness(frame, ref) if frame is not None and ref is not None else 0), -k

        entailed = [k for k, rel in enumerate(relations, start=1) if rel == ENTAILMENT]
        contradicted = [k for k, rel in enumerate(relations, start=1) if rel == CONTRADICTION]
        if entailed:
            later = [k for k in entailed if k > last]
            best = min(later) if later else max(entailed, key=rank)
            alignment.append({"reference": best, "relation": ENTAILMENT})
            last = best
        elif contradicted:
            alignment.append({"reference": max(contradicted, key=rank), "relation": CONTRADICTION})
        else:
            alignment.append({"reference": None, "relation": NEUTRAL})
    return alignment
