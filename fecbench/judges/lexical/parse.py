"""Reading one clause: which face parts, which action, which direction, negated or not.

:func:`analyze` works on the tokens of a single clause without any context, and :func:`frame_of`
reads a finished event text the same way, so an event extracted from a caption and the same event
read back later (by ``classify`` or ``align``) always get the same canonical :class:`Frame`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from fecbench.judges.lexical import vocabulary as v
from fecbench.judges.lexical.lexicon import Word, lookup

_TOKEN = re.compile(r"[a-z]+(?:['_-][a-z]+)*|\d+|[^\sa-z\d]")
_INNER_DETERMINERS = frozenset({"the", "his", "her", "their", "its", "a", "one's"})
_MAX_PART_WORDS = 4
_LOOK_PARTS = frozenset({"eyes", "gaze"})
_LOOK_MOTIONS = frozenset({"move", "turn", "raise", "lower", "look", "tilt"})
_HEAD_MOTIONS = frozenset({"move", "tilt", "turn", "lean"})
_VERTICAL_TO_ACTION = {"up": "raise", "down": "lower"}
_WIDE_WORDS = frozenset({"wide", "wider", "widely", "wide-open"})
_EYE_PARTS = frozenset({"eyes", "eyelids"})
_NOUN_MARKERS = frozenset(
    [
        "a",
        "an",
        "the",
        "its",
        "slight",
        "broad",
        "faint",
        "small",
        "big",
        "wide",
        "gentle",
        "subtle",
        "clear",
        "visible",
        "deep",
        "light",
        "fine",
        "noticeable",
    ]
)


@dataclass(frozen=True)
class Frame:
    """The canonical meaning of one event: what the rules compare.

    ``lemma`` is the word the caption used (``lift``), ``action`` its canonical class (``raise``);
    ``parts`` the canonical face parts, ``directions`` sorted (axis, value) pairs.
    """

    action: str
    lemma: str
    parts: tuple[str, ...]
    directions: tuple[tuple[str, str], ...]
    negated: bool

    def describe(self) -> str:
        """A short readable key, e.g. ``raise(brows) up`` or ``not smile(mouth)``."""
        dirs = " ".join(value for _, value in self.directions)
        text = f"{'not ' if self.negated else ''}{self.action}({','.join(self.parts)})"
        return f"{text} {dirs}".strip()


@dataclass(frozen=True)
class PartMention:
    start: int
    end: int
    part: str
    head_word: str  # the word that decides singular or plural ("corners", "mouth")


@dataclass(frozen=True)
class Analysis:
    """Everything one clause says, before and after canonicalisation."""

    tokens: tuple[str, ...]
    parts: tuple[PartMention, ...]
    action_index: int | None
    word: Word | None
    frame: Frame | None
    anaphora: int | None  # index of "it"/"them" standing for a part


_FIXED = re.compile(r"\b(" + "|".join(re.escape(p) for p in sorted(v.FIXED_PHRASES, key=len, reverse=True)) + r")\b")
_PART_FIRST_WORDS = frozenset(phrase.split()[0] for phrase in v.PART_PHRASES)


def normalize_text(text: str) -> str:
    """Lower case, one space between words, fixed phrases joined into single tokens."""
    text = " ".join(text.lower().replace("’", "'").split())
    return _FIXED.sub(lambda m: v.FIXED_PHRASES[m.group(1)], text)


@lru_cache(maxsize=65536)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(normalize_text(text)))


def tokenize(text: str) -> list[str]:
    return list(_tokens(text))


def is_possessive(token: str) -> bool:
    return token in v.POSSESSIVE_PRONOUNS or (token.endswith("'s") and token[:-2] in v.PERSON_NOUNS)


def match_part(tokens: list[str] | tuple[str, ...], i: int) -> PartMention | None:
    """The longest face-part phrase starting at ``i`` ("corners of her mouth", "eyes"), or None."""
    if i >= len(tokens) or tokens[i] not in _PART_FIRST_WORDS:
        return None
    words: list[str] = []
    ends: list[int] = []
    j = i
    while j < len(tokens) and len(words) < _MAX_PART_WORDS:
        token = tokens[j]
        if words and (token in _INNER_DETERMINERS or is_possessive(token)):
            j += 1
            continue
        words.append(token)
        ends.append(j + 1)
        j += 1
    for k in range(len(words), 0, -1):
        phrase = " ".join(words[:k])
        if phrase in v.PART_PHRASES:
            return PartMention(i, ends[k - 1], v.PART_PHRASES[phrase], words[0])
    return None


def find_parts(tokens: list[str] | tuple[str, ...]) -> list[PartMention]:
    found: list[PartMention] = []
    i = 0
    while i < len(tokens):
        mention = match_part(tokens, i)
        if mention is not None:
            found.append(mention)
            i = mention.end
        else:
            i += 1
    return found


def _qualifier_indices(tokens: tuple[str, ...], parts: list[PartMention]) -> set[int]:
    """Indices of "left", "lower", "upper_and_lower" ... that qualify the part right after them."""
    qualifiers: set[int] = set()
    for mention in parts:
        k = mention.start - 1
        while k >= 0 and (tokens[k] in v.PART_QUALIFIERS or tokens[k] in ("upper_and_lower", "top_and_bottom")):
            qualifiers.add(k)
            k -= 1
    return qualifiers


def _directions(tokens: tuple[str, ...], skip: set[int]) -> dict[str, str]:
    axes: dict[str, str] = {}
    for i, token in enumerate(tokens):
        if i in skip:
            continue
        hit = v.DIRECTION_WORDS.get(token)
        if token in ("lower", "upper") and i + 1 < len(tokens) and tokens[i + 1] in v.DIRECTION_WORDS:
            hit = ("vertical", "down" if token == "lower" else "up")
        if hit is None:
            continue
        axis, value = hit
        if axis in axes and axes[axis] != value:
            axes[axis] = "both"
        else:
            axes[axis] = value
    return axes


def _before_part(tokens: tuple[str, ...], i: int) -> bool:
    while i < len(tokens) and tokens[i] in v.PART_QUALIFIERS:
        i += 1
    return match_part(tokens, i) is not None


def _choose_action(tokens: tuple[str, ...], skip: set[int]) -> tuple[int | None, Word | None, str | None]:
    """The clause's main action word, and the aspect (``stop``) that modifies it, if any."""
    verbs: list[tuple[int, Word]] = []
    nouns: list[tuple[int, Word]] = []
    emotions: list[tuple[int, Word]] = []
    aspect: str | None = None
    for i, token in enumerate(tokens):
        if i in skip:
            continue
        if token in ("lower", "upper") and i + 1 < len(tokens) and tokens[i + 1] in v.DIRECTION_WORDS:
            continue  # "the lower left" is a direction
        word = lookup(token)
        if word is None:
            continue
        if token in v.APPEARANCE_WORDS and _before_part(tokens, i + 1):
            continue  # "thin arched eyebrows" describes the face, "eyebrows arched" an action
        if (
            word.kind == "verb"
            and token in v.ACTION_NOUNS
            and i
            and (tokens[i - 1] in _NOUN_MARKERS or is_possessive(tokens[i - 1]))
        ):
            nouns.append((i, Word("noun", token, v.ACTION_NOUNS[token], "")))  # "her smile", "a slight frown"
        elif word.kind in ("verb", "state"):
            verbs.append((i, word))
        elif word.kind == "noun":
            nouns.append((i, word))
        elif word.kind == "emotion":
            emotions.append((i, word))
        elif word.kind == "aspect" and word.action in ("stop", "pause"):
            aspect = word.action
    chosen: tuple[int, Word] | None = None
    if len(verbs) > 1 and _before_part(tokens, verbs[0][0] + 1):
        verbs = verbs[1:]  # "her furrowed brow relaxes": the verb, not the attribute
    if verbs:
        chosen = verbs[0]
        if chosen[1].action == "show" and nouns:
            chosen = nouns[0]  # "shows clear forehead wrinkles"
        elif nouns and nouns[0][0] < chosen[0] and chosen[1].lemma in v.ENDING_LEMMAS:
            chosen, aspect = nouns[0], "stop"  # "her smile fades"
        elif len(verbs) > 1 and verbs[1][0] == chosen[0] + 1 and verbs[1][1].lemma in v.ENDING_LEMMAS:
            aspect = "stop"  # "the forehead wrinkles disappear"
    elif nouns:
        chosen = nouns[0]
    elif emotions and any(t in v.EMOTION_LINKS for t in tokens):
        chosen = emotions[0]
    if chosen is None and "gaze" in tokens and any(t in v.DIRECTION_WORDS for t in tokens):
        i = tokens.index("gaze")
        chosen = (i, Word("verb", "gaze", "look", "base"))  # "(and) gaze forward"
    if chosen is None:
        if aspect == "pause":
            return None, Word("verb", "pause", "speak", "3sg"), "stop"
        return None, None, None
    return chosen[0], chosen[1], ("stop" if aspect else None)


def _canonical(
    action: str, parts: list[str], axes: dict[str, str], tokens: tuple[str, ...]
) -> tuple[str, list[str], dict[str, str]]:
    """Part-specific readings: eyes that move look, mouth corners that rise smile, and so on."""
    part_set = set(parts)
    if action in _LOOK_MOTIONS and part_set & _LOOK_PARTS and not part_set - _LOOK_PARTS - {"head"}:
        if action in _VERTICAL_TO_ACTION.values() and "vertical" not in axes:
            axes["vertical"] = "up" if action == "raise" else "down"
        action, parts = "look", [("gaze" if p == "eyes" else p) for p in parts if p != "head"] or ["gaze"]
    if action == "look":
        if axes.get("depth") == "forward":
            del axes["depth"]
            axes.setdefault("vertical", "level")
            axes.setdefault("horizontal", "center")
        parts = parts or ["gaze"]
    vertical = axes.get("vertical")
    if action in _HEAD_MOTIONS and (not parts or "head" in part_set or "chin" in part_set):
        if vertical == "both" and "horizontal" not in axes:
            action = "nod"
        elif axes.get("horizontal") == "both" and "vertical" not in axes:
            action = "shake"
        elif vertical in _VERTICAL_TO_ACTION and "horizontal" not in axes and action != "lean":
            action = _VERTICAL_TO_ACTION[vertical]
    elif action in _HEAD_MOTIONS and vertical in _VERTICAL_TO_ACTION and "horizontal" not in axes:
        action = _VERTICAL_TO_ACTION[vertical]  # "corners of the mouth turning up"
    if "mouth_corners" in part_set and action in ("raise", "lower"):
        action = "smile" if action == "raise" else "frown"
    if action == "widen" and part_set and part_set <= {"mouth", "lips"}:
        action = "open"
    if action == "open" and part_set and part_set <= _EYE_PARTS and _WIDE_WORDS & set(tokens):
        action = "widen"
    if action == "wrinkle" and part_set == {"brows"}:
        action = "furrow"
    if action == "squint" and part_set and part_set <= {"mouth", "lips", "teeth"}:
        action = "open"  # "mouth half-open"
    if action in ("raise", "lower"):
        axes.setdefault("vertical", "up" if action == "raise" else "down")  # "lifts down" keeps its "down"
    return action, parts, axes


def analyze(tokens: list[str] | tuple[str, ...], *, inherited_parts: tuple[str, ...] = ()) -> Analysis:
    """Read one clause. ``inherited_parts`` stand in when the clause names none ("..., then lowers")."""
    return _analyze(tuple(tokens), tuple(inherited_parts))


@lru_cache(maxsize=65536)
def _analyze(tokens: tuple[str, ...], inherited_parts: tuple[str, ...]) -> Analysis:
    mentions = find_parts(tokens)
    skip = {i for m in mentions for i in range(m.start, m.end)} | _qualifier_indices(tokens, mentions)
    index, word, aspect = _choose_action(tokens, skip)
    anaphora = next((i for i, t in enumerate(tokens) if t in v.ANAPHORA and i not in skip), None)
    if word is None or word.action is None:
        return Analysis(tokens, tuple(mentions), None, None, None, anaphora)
    axes = _directions(tokens, skip)
    parts: list[str] = []
    for mention in mentions:
        if mention.part not in parts:
            parts.append(mention.part)
    explicit = bool(parts)
    if not parts and inherited_parts:
        parts, explicit = list(inherited_parts), True
    action = word.action
    if word.kind == "emotion":
        parts, explicit = ["face"], True
    if not explicit and (action in v.HEAD_ACTIONS or (action == "turn" and axes)):
        parts, explicit = ["head"], True
    action, parts, axes = _canonical(action, parts, axes, tokens)
    allowed = v.ALLOWED_PARTS.get(action)
    if allowed is not None:
        parts = [p for p in parts if p in allowed]
        explicit = bool(parts)
    if not explicit:
        if action in v.NEEDS_PART or word.lemma in v.NEEDS_PART_LEMMAS:
            return Analysis(tokens, tuple(mentions), index, word, None, anaphora)
        if action == "look" and not axes and "at" not in tokens:
            return Analysis(tokens, tuple(mentions), index, word, None, anaphora)
        default = v.DEFAULT_PART.get(action)
        parts = [default] if default else []
    if aspect == "stop":
        action = f"stop:{action}"
    limit = index if index is not None else len(tokens)
    negated = any(t in v.NEGATORS for t in tokens[:limit]) or any(t.endswith("n't") for t in tokens[:limit])
    frame = Frame(
        action=action,
        lemma=word.lemma,
        parts=tuple(parts),
        directions=tuple(sorted(axes.items())),
        negated=negated,
    )
    return Analysis(tokens, tuple(mentions), index, word, frame, anaphora)


def strip_person(tokens: list[str]) -> list[str]:
    """Drop a leading person phrase ("the young man", "she"); keep a possessive one's part."""
    end = person_phrase_end(tokens)
    if end is None:
        return tokens
    return tokens[end:]


def person_phrase_end(tokens: list[str] | tuple[str, ...], start: int = 0) -> int | None:
    """End index of a person phrase at ``start`` ("he", "the middle-aged woman"), or None.

    A possessive phrase ("the man's") is not a subject: it returns None so the part is read.
    """
    if start >= len(tokens):
        return None
    if tokens[start] in v.SUBJECT_PRONOUNS:
        return start + 1
    i = start
    if tokens[i] in ("the", "a", "an", "this", "that"):
        i += 1
    for j in range(i, min(i + 4, len(tokens))):
        token = tokens[j]
        if token in v.PERSON_NOUNS:
            return j + 1
        if token.endswith("'s") or match_part(tokens, j) or lookup(token) or token in v.DIRECTION_WORDS:
            return None
        if not token.replace("-", "").isalpha():
            return None
    return None


@lru_cache(maxsize=65536)
def frame_of(event: str) -> Frame | None:
    """The frame of a finished event text, read without context (used by classify and align)."""
    tokens = tokenize(event)
    return analyze(strip_person(tokens)).frame
