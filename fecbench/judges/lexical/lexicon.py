"""Word lookup for the lexical judge: surface word -> what it means to the rules.

Verb forms are generated from the lemmas of :mod:`.vocabulary` by English spelling rules (nods,
nodding, nodded; raises, raising, raised), so the vocabulary lists each verb once. A lookup says
whether a word is an action verb, an aspect verb ("starts", "stops"), a support verb ("has",
"appear"), a state adjective, an action noun or an emotion, and in which form (``base``, ``3sg``,
``ing``, ``ed``): the form decides whether a clause needs "is"/"are" to read as a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from fecbench.judges.lexical import vocabulary as v

# Short verbs whose last consonant doubles before -ing/-ed (nod -> nodding).
_DOUBLING = frozenset(
    [
        "nod",
        "drop",
        "dip",
        "sag",
        "grin",
        "knit",
        "shut",
        "bob",
        "wag",
        "stop",
        "chat",
        "sob",
        "jut",
        "grit",
        "tip",
        "sit",
        "set",
    ]
)
_THIRD_PERSON_IRREGULAR = frozenset({"says", "goes", "has", "is", "cries"})
_BASE_IRREGULAR = frozenset({"are"})


@dataclass(frozen=True)
class Word:
    """What one surface word means: its kind, lemma, canonical action (if any) and verb form."""

    kind: str  # "verb", "aspect", "support", "state", "noun", "emotion"
    lemma: str
    action: str | None
    form: str  # "base", "3sg", "ing", "ed", or "" for non-verbs


def third_person(lemma: str) -> str:
    if lemma.endswith(("s", "sh", "ch", "x", "z", "o")):
        return lemma + "es"
    if len(lemma) > 2 and lemma.endswith("y") and lemma[-2] not in "aeiou":
        return lemma[:-1] + "ies"
    return lemma + "s"


def present_participle(lemma: str) -> str:
    if lemma.endswith("ie"):
        return lemma[:-2] + "ying"
    if lemma.endswith("e") and not lemma.endswith(("ee", "ye", "oe")) and lemma != "be":
        return lemma[:-1] + "ing"
    if lemma in _DOUBLING:
        return lemma + lemma[-1] + "ing"
    return lemma + "ing"


def past(lemma: str) -> str:
    if lemma.endswith("e"):
        return lemma + "d"
    if len(lemma) > 2 and lemma.endswith("y") and lemma[-2] not in "aeiou":
        return lemma[:-1] + "ied"
    if lemma in _DOUBLING:
        return lemma + lemma[-1] + "ed"
    return lemma + "ed"


def _verb_kinds() -> dict[str, tuple[str, str | None]]:
    """Verb lemma -> (kind, canonical action or aspect)."""
    kinds: dict[str, tuple[str, str | None]] = {}
    for action, lemmas in v.ACTION_LEMMAS.items():
        for lemma in lemmas:
            kinds.setdefault(lemma, ("verb", action))
    for lemma, aspect in v.ASPECT_LEMMAS.items():
        kinds[lemma] = ("aspect", aspect)
    for lemma in v.SUPPORT_LEMMAS:
        kinds.setdefault(lemma, ("support", None))
    return kinds


@cache
def verb_table() -> dict[str, tuple[str, str]]:
    """Every verb surface form -> (lemma, form)."""
    table: dict[str, tuple[str, str]] = {}
    for lemma in _verb_kinds():
        for form, surface in (
            ("ed", past(lemma)),
            ("ing", present_participle(lemma)),
            ("3sg", third_person(lemma)),
            ("base", lemma),
        ):
            table[surface] = (lemma, form)
    for surface, lemma in v.IRREGULAR_FORMS.items():
        if surface in _THIRD_PERSON_IRREGULAR:
            form = "3sg"
        elif surface in _BASE_IRREGULAR or surface == lemma:
            form = "base"
        else:
            form = "ed"
        table[surface] = (lemma, form)
    return table


@cache
def lookup(word: str) -> Word | None:
    """The meaning of one lower-case surface word, or None for words the rules ignore.

    State adjectives win over verb forms ("closed" is a state), verbs over nouns ("smiles").
    """
    if word in v.STATE_WORDS:
        lemma, form = verb_table().get(word, (word, "ed"))
        return Word("state", lemma, v.STATE_WORDS[word], form)
    verb = verb_table().get(word)
    if verb is not None:
        lemma, form = verb
        kind, action = _verb_kinds()[lemma]
        return Word(kind, lemma, action, form)
    if word in v.ACTION_NOUNS:
        return Word("noun", word, v.ACTION_NOUNS[word], "")
    if word in v.EMOTION_WORDS:
        return Word("emotion", word, v.EMOTION_WORDS[word], "")
    return None


def lemma_table_size() -> int:
    """How many surface forms the rules recognise (reported in the docs)."""
    return len(verb_table()) + len(v.STATE_WORDS) + len(v.ACTION_NOUNS) + len(v.EMOTION_WORDS)
