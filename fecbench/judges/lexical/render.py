"""Rendering one piece of a caption as an event sentence, with what the previous events left.

:mod:`.extract` cuts a caption into pieces; this module turns one piece into a standalone sentence
that names the person ("the man's eyes close"), restoring an elided subject, copula, verb or the
part that "it" stands for, and keeps the :class:`Context` the next piece leans on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fecbench.judges.lexical import vocabulary as v
from fecbench.judges.lexical.lexicon import Word, lookup, third_person
from fecbench.judges.lexical.parse import (
    Analysis,
    analyze,
    is_possessive,
    match_part,
    person_phrase_end,
    tokenize,
)

_THERE = frozenset({"is", "are", "was", "were", "appear", "appears", "appeared", "remains", "remain"})
_FEMININE = frozenset({"woman", "girl", "actress"})
_MASCULINE = frozenset({"man", "boy", "actor"})
_SUBJECT_NEEDS_PERSON = frozenset({"speak", "smile", "laugh", "nod", "shake", "sigh", "yawn", "swallow"})


@dataclass
class Person:
    noun: str
    pronoun: str  # possessive: his / her / their

    @property
    def subject(self) -> str:
        return f"the {self.noun}"

    @property
    def possessive(self) -> str:
        return f"the {self.noun}'s"


@dataclass
class Context:
    """What the previous event leaves for the next piece to lean on."""

    person: Person
    part_subject: list[str] | None = None  # rendered tokens of a part subject: ["the", "man's", "lips"]
    part_plural: bool = False
    part_words: list[str] = field(default_factory=list)  # the last part named: ["mouth"]
    parts: tuple[str, ...] = ()
    core: list[str] | None = None  # the last event up to its verb and part, for "then to the left"


def find_person(text: str) -> Person:
    """The caption's person: its first person noun ("a young man"), else its pronouns, else "person"."""
    tokens = tokenize(text)
    noun = next((v.PERSON_NOUNS[t] for t in tokens if t in v.PERSON_NOUNS), None)
    gender = next((v.PRONOUN_GENDER[t] for t in tokens if t in v.PRONOUN_GENDER), None)
    if noun is None or (noun == "person" and gender):
        noun = gender or "person"
    if noun in _FEMININE or (noun not in _MASCULINE and gender == "woman"):
        pronoun = "her"
    elif noun in _MASCULINE or gender == "man":
        pronoun = "his"
    else:
        pronoun = "their"
    return Person(noun, pronoun)


def drop_connectives(words: list[str]) -> list[str]:
    i = 0
    while i < len(words) and words[i] in v.LEADING_CONNECTIVES:
        i += 1
    return words[i:]


def _attribute(word: str) -> bool:
    found = lookup(word)
    return word in v.PART_QUALIFIERS or (found is not None and found.kind == "state")


def _leading_part(words: list[str]) -> tuple[int, int] | None:
    """(start, end) of a part phrase opening the piece, after "the", a possessive, qualifiers or a state."""
    i = 0
    while i < len(words) and i < 4 and (words[i] == "the" or is_possessive(words[i]) or (i and _attribute(words[i]))):
        i += 1
    if i < len(words) and words[i] in ("upper_and_lower", "top_and_bottom"):
        i += 1
    mention = match_part(words, i)
    return (0, mention.end) if mention else None


def _part_follows(words: list[str], i: int) -> bool:
    while i < len(words) and words[i] in v.PART_QUALIFIERS:
        i += 1
    return match_part(words, i) is not None


def _first_content(words: list[str]) -> tuple[int, Word | None]:
    for i, word in enumerate(words):
        if word in v.IGNORED_MODIFIERS:
            continue
        return i, lookup(word)
    return len(words), None


def _noun_subject(words: list[str]) -> bool:
    """ "(noticeable) wrinkles appear on her forehead": an action noun is the subject of a later verb."""
    for k, word in enumerate(words):
        found = lookup(word)
        if found is not None and found.kind in ("verb", "aspect", "support", "state") and word not in v.ACTION_NOUNS:
            return False
        if word in v.ACTION_NOUNS:
            return any(
                (later := lookup(w)) is not None and later.kind in ("verb", "aspect", "support") for w in words[k + 1 :]
            )
    return False


def _own_subject(words: list[str], person: Person, *, prefix: bool = True) -> list[str]:
    """A part subject named in the piece, with its first possessive turned into the person's."""
    out: list[str] = []
    named = False
    for word in words:
        if not named and is_possessive(word):
            if out and out[-1] == "the":
                out.pop()  # "the her eyes"
            out.append(person.possessive)
            named = True
        else:
            out.append(word)
    if prefix and not named and "of" in out[:-1] and out[out.index("of") + 1] == "the":
        out[out.index("of") + 1] = person.possessive  # "corners of the mouth" -> "of the man's mouth"
        if out[0] != "the":
            out.insert(0, "the")
    elif prefix and not named and out[0] != "the":
        out.insert(0, person.possessive)
    return out


def _plural(subject: list[str]) -> bool:
    nouns = [w for w in subject if w in v.PLURAL_PART_WORDS or match_part([w], 0)]
    head = subject[-1] if not nouns else nouns[0]
    return head in v.PLURAL_PART_WORDS or "and" in subject


def _resolve_pronouns(words: list[str], person: Person) -> list[str]:
    out = []
    for word in words:
        if word in v.SUBJECT_PRONOUNS or word in v.OBJECT_PRONOUNS[:1] or word in v.REFLEXIVE_PRONOUNS:
            out.append(person.subject)
        else:
            out.append(word)
    return out


def _needs_copula(rest: list[str], plural: bool) -> bool:
    """ "eyebrows furrowed" -> "eyebrows are furrowed"; "eyes open" stays (a plural verb)."""
    for word in rest:
        found = lookup(word)
        if word in v.IGNORED_MODIFIERS or found is None:
            continue
        if found.kind in ("support", "aspect"):
            return False
        if found.kind in ("verb", "state"):
            if found.form == "3sg" or (found.form == "base" and plural and found.kind == "verb"):
                return False
            if found.form == "base" and plural and found.kind == "state":
                return False
            return found.kind == "state" or found.form in ("ing", "ed")
        return False
    return False


def _render(words: list[str]) -> str:
    return " ".join(w.replace("_", " ") for w in words if w)


def _core(text: str) -> list[str] | None:
    """The event up to its verb and its last part: "the man tilts his head" of "... slightly to the right"."""
    tokens = tokenize(text)
    offset = person_phrase_end(tokens) or 0
    analysis = analyze(tokens[offset:])
    ends = [m.end for m in analysis.parts]
    if analysis.action_index is not None:
        ends.append(analysis.action_index + 1)
    if not ends:
        return None
    return [t.replace("_", " ") for t in tokens[: offset + max(ends)]]


def render_piece(words: list[str], ctx: Context) -> tuple[str, Word | None, bool, bool] | None:
    """Render one piece as an event sentence: (text, action word, copula inserted, fragment) or None."""
    person = ctx.person
    words = drop_connectives(words)
    fragment = False
    if len(words) > 1 and words[0] == "there" and words[1] in _THERE:
        words, fragment = words[2:], True
    if not words:
        return None
    np_end = person_phrase_end(words)
    leading = None if np_end is not None or fragment else _leading_part(words)
    rest = words[np_end:] if np_end is not None else words
    analysis = analyze(rest)
    if analysis.word is None:
        return _ellipsis(words, analysis, ctx)
    if analysis.anaphora is not None and not analysis.parts and ctx.part_words:
        pronoun = person.possessive if leading is not None and analysis.anaphora < leading[1] else person.pronoun
        rest = [*rest[: analysis.anaphora], pronoun, *ctx.part_words, *rest[analysis.anaphora + 1 :]]
        words = rest if np_end is None else [*words[:np_end], *rest]
        analysis = analyze(rest)
    if np_end is not None:
        return _render([person.subject, *_resolve_pronouns(words[np_end:], person)]), analysis.word, False, False
    if leading is not None:
        subject = _own_subject(words[: leading[1]], person)
        tail = _resolve_pronouns(words[leading[1] :], person)
        copula = _needs_copula(tail, _plural(subject))
        if copula:
            tail = ["are" if _plural(subject) else "is", *tail]
        return _render([*subject, *tail]), analysis.word, copula, False
    if _noun_subject(words):
        return _render(_own_subject(words, person, prefix=False)), analysis.word, False, True
    index, first = _first_content(words)
    if fragment or first is None or first.kind in ("noun", "emotion"):
        return _render([person.subject, "has", *_resolve_pronouns(words, person)]), analysis.word, False, True
    if first.kind == "state" and _part_follows(words, index + 1):
        return _render([person.subject, "has", *_resolve_pronouns(words, person)]), analysis.word, False, True
    return _verb_initial(words, index, first, analysis, ctx)


def _verb_initial(
    words: list[str], index: int, first: Word, analysis: Analysis, ctx: Context
) -> tuple[str, Word | None, bool, bool]:
    """A piece that opens with its verb: give it the previous part subject or the person."""
    person = ctx.person
    action = (analysis.frame.action if analysis.frame else first.action or "").rpartition(":")[2]
    following = next((lookup(w) for w in words[index + 1 :] if w not in v.IGNORED_MODIFIERS), None)
    if first.form == "ing" and following is not None and following.kind == "aspect":
        # "speaking stops" -> "the woman stops speaking"
        aspect_at = next(i for i in range(index + 1, len(words)) if words[i] not in v.IGNORED_MODIFIERS)
        reordered = [words[aspect_at], words[index], *words[index + 1 : aspect_at], *words[aspect_at + 1 :]]
        return _render([person.subject, *reordered]), analysis.word, False, False
    agrees = first.form in ("ing", "ed") or (first.form == "3sg") != ctx.part_plural
    inherit = (
        ctx.part_subject is not None
        and not analysis.parts
        and first.kind not in ("aspect", "support")
        and action not in _SUBJECT_NEEDS_PERSON
        and (agrees or action in v.NEEDS_PART)
    )
    tail = _resolve_pronouns(words, person)
    if inherit:
        assert ctx.part_subject is not None
        copula = _needs_copula(tail, ctx.part_plural)
        if copula:
            tail = ["are" if ctx.part_plural else "is", *tail]
        return _render([*ctx.part_subject, *tail]), analysis.word, copula, False
    if first.form in ("base", "ing"):  # "..., blinking" -> "the man blinks"
        tail = [*tail[:index], third_person(first.lemma), *tail[index + 1 :]]
    return _render([person.subject, *tail]), analysis.word, False, False


def _ellipsis(words: list[str], analysis: Analysis, ctx: Context) -> tuple[str, Word | None, bool, bool] | None:
    """A piece with a direction and nothing else repeats the previous event's verb: "then to the left"."""
    has_direction = any(w in v.DIRECTION_WORDS for w in words)
    if analysis.parts or not has_direction or ctx.core is None:
        return None
    text = _render([*ctx.core, *words])
    return text, lookup(ctx.core[-1]) if ctx.core else None, False, False


def remember(text: str, ctx: Context) -> None:
    tokens = tokenize(text)
    offset = person_phrase_end(tokens)
    ctx.core = _core(text)
    analysis = analyze(tokens[offset or 0 :])
    if analysis.parts:
        last = analysis.parts[-1]
        ctx.part_words = [
            t for t in tokens[(offset or 0) + last.start : (offset or 0) + last.end] if not is_possessive(t)
        ]
        ctx.part_words = [w for w in ctx.part_words if w not in ("the", "a")]
    if analysis.frame is not None:
        ctx.parts = analysis.frame.parts
    if offset is None and analysis.parts and analysis.parts[0].start <= 3:
        first = analysis.parts[0]
        ctx.part_subject = [t.replace("_", " ") for t in tokens[: first.end]]
        ctx.part_plural = _plural(ctx.part_subject)
    else:
        ctx.part_subject = None
