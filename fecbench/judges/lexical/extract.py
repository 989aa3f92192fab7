"""Event extraction from the structure of a caption.

A caption is cut into sentences, each sentence into pieces at commas and conjunctions ("and",
"then", "while", "as", "before", "after", "with", "to speak"). A piece is an event when it names a
facial action (see :mod:`.parse`); pieces that only describe appearance ("short black hair",
"thick eyebrows") name none and drop out. Context fills what a piece leaves implicit
(:mod:`.render`):

- the person: pronouns become the caption's noun ("he" -> "the man", "his eyes" -> "the man's eyes");
- an elided subject: "his lips open and close" -> "the man's lips close";
- "it": "closes his mouth, then opens it again" -> "the man opens his mouth again";
- an elided verb: "tilts his head to the right, then to the left" -> "the man tilts his head to the left";
- "A after B" is told as B, A.

Each event is rendered as a short sentence and read back with :func:`.parse.frame_of`, so the
frame ``classify`` and ``align`` see later is exactly the one the extractor saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from fecbench.judges.base import MAX_EVENTS
from fecbench.judges.lexical import vocabulary as v
from fecbench.judges.lexical.lexicon import Word, lookup
from fecbench.judges.lexical.parse import Frame, analyze, frame_of, tokenize
from fecbench.judges.lexical.render import Context, drop_connectives, find_person, remember, render_piece

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_WORD = re.compile(r"[a-z0-9]")
_PIECE_BREAKS = frozenset({",", ":", "(", ")", '"'})
_NO_WORD = Word("", "", None, "")
_ONLY_A_PERSON_DOES = frozenset({"speak", "smile", "laugh", "sigh", "yawn", "swallow", "blink", "cry"})


@dataclass(frozen=True)
class Event:
    """One extracted event: its text, its frame, and how much it tells (2 change, 1 state, 0 resting)."""

    text: str
    frame: Frame
    tier: int


def _pieces(sentence: str) -> list[tuple[str, list[str]]]:
    """Split one sentence into (separator before it, words) pieces."""
    tokens = tokenize(sentence)
    pieces: list[tuple[str, list[str]]] = []
    separator, current = "", []
    for i, token in enumerate(tokens):
        following = lookup(tokens[i + 1]) if i + 1 < len(tokens) else None
        purpose = (
            token == "to"
            and not (current and (lookup(current[-1]) or _NO_WORD).kind == "aspect")
            and following is not None
            and following.form == "base"
            and following.kind in ("verb", "aspect", "state")
        )
        if token == "with" and current and analyze(current).word is None and any(w in v.PERSON_NOUNS for w in current):
            current.append(token)  # "a man with a beard is talking" keeps its subject
            continue
        if token in _PIECE_BREAKS or token in v.SPLIT_WORDS or purpose:
            if current:
                pieces.append((separator, current))
                separator, current = "", []
            separator = f"{separator},{token}" if separator else token
            if token in _PIECE_BREAKS:
                separator = ","
            continue
        if _WORD.match(token) and token != "in_the_video":
            current.append(token)
    if current:
        pieces.append((separator, current))
    return _merge_coordinated_parts(pieces)


def _merge_coordinated_parts(pieces: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Join "his eyes" + "and" + "mouth closed" back into one piece: coordinated parts share a verb."""
    merged: list[tuple[str, list[str]]] = []
    for separator, words in pieces:
        if merged and separator == "and":
            prev_sep, prev = merged[-1]
            analysis = analyze(drop_connectives(prev))
            if analysis.parts and analysis.word is None:
                merged[-1] = (prev_sep, [*prev, "and", *words])
                continue
        merged.append((separator, words))
    return merged


def _about_appearance(words: list[str]) -> bool:
    return any(w in v.APPEARANCE_NOUNS for w in words)


def _resting(frame: Frame) -> bool:
    """A resting-face state: eyes open, mouth closed, looking straight ahead."""
    first_part = frame.parts[0] if frame.parts else ""
    return (
        (frame.action, first_part) in v.BASELINE_FRAMES
        and not frame.negated
        and set(frame.directions) <= v.BASELINE_DIRECTIONS
    )


def _tier(frame: Frame, word: Word | None, copula: bool, fragment: bool) -> int:
    if _resting(frame) and (word is None or word.form != "3sg"):
        return 0
    if copula or fragment or word is None or word.kind in ("state", "noun", "emotion"):
        return 1
    return 2


@lru_cache(maxsize=16384)
def all_events(text: str) -> tuple[Event, ...]:
    """Every event of a text in narration order, duplicates removed, before the ten-event cap."""
    ctx = Context(find_person(text))
    events: list[Event] = []
    seen: set[str] = set()
    for sentence in _SENTENCE_END.split(text.strip()):
        ctx.part_subject, ctx.core = None, None
        sentence_events: list[tuple[str, Event]] = []
        for separator, words in _pieces(sentence):
            rendered = render_piece(words, ctx)
            if rendered is None:
                continue
            event_text, word, copula, fragment = rendered
            frame = frame_of(event_text)
            if frame is None or (_about_appearance(words) and frame.action not in _ONLY_A_PERSON_DOES):
                continue
            remember(event_text, ctx)
            sentence_events.append((separator, Event(event_text, frame, _tier(frame, word, copula, fragment))))
        for i in range(1, len(sentence_events)):
            if sentence_events[i][0] == "after":  # "A after B": B happened first
                sentence_events[i - 1], sentence_events[i] = sentence_events[i], sentence_events[i - 1]
        for _, event in sentence_events:
            if event.text not in seen:
                seen.add(event.text)
                events.append(event)
    return tuple(events)


def select(events: tuple[Event, ...], limit: int = MAX_EVENTS) -> list[Event]:
    """At most ``limit`` events in narration order.

    Over the limit, resting states go first (eyes open, looking ahead), then repeats of an earlier
    event's frame ("opens his mouth again"), each from the end; what is still too much is thinned
    evenly over the whole caption, so the end of the video keeps its events.
    """
    kept = list(events)
    while len(kept) > limit and any(e.tier == 0 for e in kept):
        last_resting = max(i for i, e in enumerate(kept) if e.tier == 0)
        del kept[last_resting]
    while len(kept) > limit:
        repeats = [i for i, e in enumerate(kept) if any(o.frame == e.frame for o in kept[:i])]
        if not repeats:
            break
        del kept[repeats[-1]]
    if len(kept) > limit:
        n = len(kept)
        kept = [kept[round(i * (n - 1) / (limit - 1))] for i in range(limit)]
    return kept


def extract_events(text: str) -> list[str]:
    """The ``extract`` task: the caption's events as sentences, at most ten, in narration order."""
    return [event.text for event in select(all_events(text))]
