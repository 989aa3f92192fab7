"""Single-event sentences cut from real FEC-Bench captions, and the edits whose effect is known.

A caption's clauses (split at sentence ends, commas, "and", "then", "while") are kept when they
name exactly one facial action from :data:`ACTIONS`, with the person or one face part as subject
("he opens his eyes", "looks forward", "his mouth opens slightly"), no negation and no second
action. Each becomes an :class:`EventSentence` that renders as one sentence for any person, so a
caption built from K of them narrates exactly K events: the ground truth of the judge check.

The edits change one thing whose right answer follows from the tables:

- :func:`flip`: the action becomes its opposite (opens -> closes) or, for an action without one,
  its direction does (left -> right): the edited event contradicts the original;
- :func:`paraphrase`: the voice turned round ("his head tilts" <-> "he tilts his head"), words
  swapped for synonyms from :data:`SYNONYMS` (each swap keeps the meaning in any sentence it can
  occur in), and, in the suite, the person named by pronoun after the first sentence: the edited
  event entails the original and back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import pairwise

# action (third person singular) -> (class, opposite action or None). Two events of one class may be
# the same event in other words; CLASS_CONFLICTS says which classes contradict or overlap.
ACTIONS: dict[str, tuple[str, str | None]] = {
    "opens": ("open", "closes"),
    "closes": ("close", "opens"),
    "raises": ("raise", "lowers"),
    "lifts": ("raise", "lowers"),
    "lowers": ("lower", "raises"),
    "widens": ("widen", "narrows"),
    "narrows": ("narrow", "widens"),
    "smiles": ("smile", "frowns"),
    "frowns": ("frown", "smiles"),
    "furrows": ("frown", None),
    "blinks": ("blink", None),
    "nods": ("nod", None),
    "tilts": ("tilt", None),
    "turns": ("turn", None),
    "looks": ("look", None),
    "glances": ("look", None),
    "purses": ("purse", None),
    "tightens": ("tighten", None),
    "relaxes": ("relax", None),
    "squints": ("narrow", "widens"),
    "pouts": ("pout", None),
    "licks": ("lick", None),
    "bites": ("bite", None),
    "swallows": ("swallow", None),
}
# Classes that contradict each other, or may be read as the same event or as opposed ("tightens his
# eyelids" and "narrows his eyes"): never both in one reference, nor one in a reference and the other
# in a "foreign" caption meant to be neutral to it.
CLASS_CONFLICTS: frozenset[frozenset[str]] = frozenset(
    frozenset(pair)
    for pair in [
        ("open", "close"), ("open", "narrow"), ("open", "widen"), ("open", "purse"), ("open", "tighten"),
        ("open", "bite"), ("open", "smile"), ("raise", "lower"), ("raise", "frown"), ("raise", "smile"),
        ("lower", "smile"), ("lower", "frown"), ("raise", "widen"), ("raise", "look"), ("raise", "tilt"),
        ("raise", "turn"), ("raise", "nod"), ("lower", "look"), ("lower", "tilt"), ("lower", "turn"),
        ("lower", "nod"), ("widen", "narrow"), ("widen", "close"), ("widen", "blink"), ("narrow", "tighten"),
        ("narrow", "frown"), ("narrow", "close"), ("smile", "frown"), ("smile", "pout"), ("purse", "tighten"),
        ("purse", "pout"), ("tighten", "relax"), ("frown", "relax"), ("frown", "tighten"), ("turn", "tilt"),
        ("turn", "look"), ("tilt", "look"), ("nod", "tilt"), ("nod", "turn"),
    ]
)  # fmt: skip
# Actions that need an object when the person is their subject ("lowers" alone lost its "her head").
NEEDS_OBJECT = frozenset(
    {"opens", "closes", "raises", "lifts", "lowers", "widens", "narrows", "furrows", "tilts", "turns", "purses"}
    | {"tightens", "relaxes", "licks", "bites"}
)
# Of those, the ones also said of the part itself ("his mouth opens"; not "his head raises").
_INTRANSITIVE_TOO = NEEDS_OBJECT - {"raises", "lifts", "lowers", "licks", "bites"}
# Motions whose direction can be turned round ("tilts his head to the left" -> "... to the right");
# "blinks her left eye" names a side, not a direction.
MOTIONS = frozenset({"turns", "tilts", "looks", "glances"})
# What "looks" must look at or towards to be an action ("her eyes look bright" is appearance).
LOOK_TARGETS = frozenset(
    {"left", "right", "up", "down", "upward", "upwards", "downward", "downwards", "forward", "forwards", "ahead"}
    | {"away", "at", "around", "aside", "sideways"}
)
# Words after which the opposite action reads wrong ("eyes open wider" -> "eyes close wider").
_NO_FLIP = frozenset({"wide", "widely", "wider", "more", "further", "even", "again", "bigger", "larger", "slowly"})
DIRECTION_OPPOSITES = {
    "left": "right",
    "right": "left",
    "up": "down",
    "down": "up",
    "upward": "downward",
    "downward": "upward",
    "upwards": "downwards",
    "downwards": "upwards",
}
# Word (or phrase) -> a synonym that keeps the meaning wherever the word occurs in these sentences.
SYNONYMS: dict[str, str] = {
    "slightly": "a little",
    "eyebrows": "brows",
    "raises": "lifts",
    "lifts": "raises",
    "closes": "shuts",
    "quickly": "rapidly",
    "gently": "softly",
    "upward": "up",
    "upwards": "up",
    "downward": "down",
    "downwards": "down",
    "to the left": "toward the left",
    "to the right": "toward the right",
    "looks": "gazes",
}
PERSONS = {"man": ("he", "his"), "woman": ("she", "her"), "boy": ("he", "his"), "girl": ("she", "her")}
PARTS = frozenset(
    {"eyes", "eye", "eyebrows", "eyebrow", "brows", "mouth", "lips", "lip", "head", "gaze", "eyelids", "eyelid"}
    | {"cheeks", "jaw", "chin", "forehead", "nose"}
)
MAX_WORDS = 9
_CLAUSE_BREAK = re.compile(r"[.;:!?\n,]|\band\b|\bthen\b|\bwhile\b|\bas\b|\bbefore\b|\bafter\b|\bwith\b")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NEGATION = frozenset({"not", "no", "never", "without", "doesn't", "don't", "isn't", "nor"})
_PRONOUNS = frozenset({"he", "she", "his", "her", "him", "they", "their", "it", "its"})
_PERSON = re.compile(r"\b(man|woman|boy|girl)\b")


@dataclass(frozen=True)
class EventSentence:
    """One facial action, told as a sentence: ``part`` (None: the person) does ``action`` + ``rest``.

    ``rest`` may hold the person's possessive as ``{his}``, filled in by :meth:`render`.
    """

    part: str | None
    action: str
    rest: str
    source: str  # the clause of the real caption it was cut from

    @property
    def cls(self) -> str:
        """The action's class (a paraphrased action such as ``gazes`` is its own class)."""
        return ACTIONS.get(self.action, (self.action, None))[0]

    def render(self, person: str, *, pronoun: bool = False) -> str:
        """The sentence for ``person`` ("man"), or with the pronoun ("He ...") when ``pronoun``."""
        subject, possessive = PERSONS[person]
        if self.part is None:
            head = subject.capitalize() if pronoun else f"The {person}"
            verb = self.action
        else:
            head = f"{possessive.capitalize() if pronoun else f'The {person}s'} {self.part}"
            head = head.replace(f"The {person}s", f"The {person}'s")
            verb = _bare(self.action) if self.part.endswith("s") else self.action
        rest = self.rest.replace("{his}", possessive)
        return f"{head} {verb}{' ' + rest if rest else ''}."


def _bare(action: str) -> str:
    """ "opens" -> "open", "relaxes" -> "relax": the verb after a plural part ("his eyes open")."""
    if action.endswith(("sses", "ches", "shes", "xes")):
        return action[:-2]
    return action[:-1] if action.endswith("s") else action


def _third_person(word: str) -> str:
    """ "open" -> "opens", "relax" -> "relaxes": the inverse of :func:`_bare`."""
    return word + ("es" if word.endswith(("ss", "ch", "sh", "x")) else "s")


def _is_action(word: str) -> bool:
    return word in ACTIONS or _third_person(word) in ACTIONS


def person_of(caption: str) -> str | None:
    """The person a caption is about (man, woman, boy, girl), named by its first such noun."""
    match = _PERSON.search(caption.lower())
    return match.group(1) if match else None


def event_sentences(caption: str) -> list[EventSentence]:
    """The caption's clauses that each carry exactly one action of :data:`ACTIONS`, in narration order."""
    person = person_of(caption)
    if person is None:
        return []
    subject, possessive = PERSONS[person]
    found: list[EventSentence] = []
    for clause in _CLAUSE_BREAK.split(caption.lower()):
        words = _WORD.findall(clause)
        if not words or len(words) > MAX_WORDS or _NEGATION & set(words):
            continue
        if words[:2] == ["the", person]:
            words = words[2:]  # "the man opens ..." is "he opens ..."
        elif words[:2] == ["the", f"{person}'s"]:
            words = [possessive, *words[2:]]  # "the man's eyes ..." is "his eyes ..."
        elif words[0] == subject:
            words = words[1:]
        part = None
        if len(words) >= 2 and words[0] == possessive and words[1] in PARTS:
            part, words = words[1], words[2:]
        if not words or not (words[0] in ACTIONS or (part and part.endswith("s") and _is_action(words[0]))):
            continue
        action = words[0] if words[0] in ACTIONS else _third_person(words[0])
        rest = words[1:]
        if any(_is_action(w) for w in rest):
            continue  # a second action
        if any(w in _PRONOUNS - {possessive} or w in PERSONS for w in rest):
            continue  # "it", or another person: the sentence would not stand alone
        if any(w.endswith("ing") for w in rest) or any(w == "to" and nxt != "the" for w, nxt in pairwise(rest)):
            continue  # "to reveal teeth", "revealing teeth": a second action
        if part is None and action in NEEDS_OBJECT and not PARTS & set(rest):
            continue  # "the woman lowers": its object was cut off
        if ACTIONS[action][0] == "look" and not LOOK_TARGETS & set(rest):
            continue  # "her eyes look bright": appearance, not a glance
        found.append(
            EventSentence(part, action, " ".join("{his}" if w == possessive else w for w in rest), clause.strip())
        )
    return found


def flippable(event: EventSentence) -> bool:
    """Whether the event has an opposite that reads right: an opposite action, or one final direction."""
    words = event.rest.split()
    if _NO_FLIP & set(words):
        return False
    if ACTIONS[event.action][1] is not None:
        return True
    return event.action in MOTIONS and _direction_count(event.rest) == 1 and words[-1] in DIRECTION_OPPOSITES


def flip(event: EventSentence) -> EventSentence:
    """The opposite action (with its directions turned too: "lifts up" -> "lowers down"), or, for an
    action without one, the opposite of its one direction."""
    if not flippable(event):
        raise ValueError(f"{event.source!r} has no opposite that reads right")
    rest = " ".join(DIRECTION_OPPOSITES.get(w, w) for w in event.rest.split())
    opposite = ACTIONS[event.action][1]
    return replace(event, action=opposite or event.action, rest=rest)


def _direction_count(rest: str) -> int:
    return sum(w in DIRECTION_OPPOSITES for w in rest.split())


def paraphrase(event: EventSentence) -> tuple[EventSentence, int]:
    """The event told another way; and how many changes were made.

    Two rules, each safe wherever it applies: the voice turns round for an action that takes a part
    as object ("his head tilts" <-> "he tilts his head"), and every :data:`SYNONYMS` swap is made
    (each place once).
    """
    part, rest, changes = event.part, event.rest, 0
    words = rest.split()
    if part is not None and event.action in NEEDS_OBJECT:
        part, rest, changes = None, " ".join(["{his}", event.part or "", *words]), 1
    elif (
        part is None and event.action in NEEDS_OBJECT and len(words) >= 2 and words[0] == "{his}" and words[1] in PARTS
    ):
        part, rest, changes = words[1], " ".join(words[2:]), 1
    action = SYNONYMS.get(event.action, event.action)
    new_part = SYNONYMS.get(part, part) if part else None
    changes += int(action != event.action) + int(new_part != part)
    rest, count = _REST_SYNONYMS.subn(lambda m: SYNONYMS[m.group(1)], rest)
    return replace(event, part=new_part, action=action, rest=rest), changes + count


_REST_SYNONYMS = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in sorted(SYNONYMS, key=len, reverse=True) if w not in ACTIONS) + r")\b"
)
