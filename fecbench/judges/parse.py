"""Reading a JSON verdict out of an LLM's answer, tolerantly, then checking it against its task.

Models wrap JSON in code fences, explain themselves before or after it, think aloud in
``<think>`` blocks, leave a trailing comma, or write a Python dict (single quotes, ``None``).
:func:`parse_answer` accepts all of that, and raises :class:`AnswerError` (with a message fit to
show the model in a retry) when no valid verdict is there.

Which object is the verdict, when an answer holds several: every top-level object is read in text
order, objects that echo the prompt's own template (placeholders in angle brackets such as
``"<event 1>"``) are set aside, and of those that fit the task the **last** one wins. Models that
show an example first ("for instance {...}; so my answer is {...}") put the answer last; a verdict
followed by a restated example is rarer and would also be cut short by the prompt's "answer with
only this JSON object".
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from fecbench.judges.base import InvalidVerdict, validate_output


class AnswerError(ValueError):
    """An answer that holds no JSON object, or one that does not fit its task; worth a retry."""


_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PLACEHOLDER = re.compile(r"^\s*<[^<>]*>\s*$")
_PY_CONSTANTS = {"null": "None", "true": "True", "false": "False"}
_JSON_WORD = re.compile(r"\b(null|true|false)\b")
MAX_LITERAL_CHARS = 100_000  # ast.literal_eval is safe on any text, but its cost grows with size


def _matching_brace(text: str, start: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``start``, skipping braces inside quoted strings."""
    depth, quote, i = 0, None, start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _decode(piece: str) -> Any:
    """``piece`` as JSON, as JSON without trailing commas, or as a Python literal; None when none fits."""
    for body in (piece, _TRAILING_COMMA.sub(r"\1", piece)):
        try:
            return json.loads(body)
        except json.JSONDecodeError:
            pass
    if len(piece) > MAX_LITERAL_CHARS:
        return None
    for body in (piece, _JSON_WORD.sub(lambda m: _PY_CONSTANTS[m.group(1)], piece)):
        try:
            return ast.literal_eval(body)  # literals only: no names, calls or attributes are evaluated
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    return None


def json_objects(text: str) -> Iterator[dict[str, Any]]:
    """Every top-level object (JSON or a Python dict literal) in ``text``, left to right.

    An object nested in another is part of it, not a candidate of its own; a ``{`` that opens no
    readable object is skipped and the scan goes on inside it.
    """
    if text.startswith("{") and text.endswith("}"):  # the usual answer: one object and nothing else
        try:
            whole = json.loads(text)
        except json.JSONDecodeError:
            pass
        else:
            if isinstance(whole, dict):
                yield whole
                return
    start = text.find("{")
    while start != -1:
        end = _matching_brace(text, start)
        value = _decode(text[start : end + 1]) if end is not None else None
        if isinstance(value, dict):
            yield value
            start = text.find("{", end + 1)  # type: ignore[operator]
        else:
            start = text.find("{", start + 1)


def is_template_echo(value: Any) -> bool:
    """Whether a value holds a prompt placeholder (``"<event 1>"``) rather than an answer."""
    if isinstance(value, str):
        return bool(_PLACEHOLDER.match(value))
    if isinstance(value, Mapping):
        return any(is_template_echo(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_template_echo(v) for v in value)
    return False


def _clean(text: str | None) -> str:
    if text is None or not str(text).strip():
        raise AnswerError("the answer is empty")
    return _THINK.sub("", str(text)).strip()


def extract_json_object(text: str) -> dict[str, Any]:
    """The last top-level object in ``text`` that is not the prompt's template echoed back."""
    objects = list(json_objects(_clean(text)))
    answers = [value for value in objects if not is_template_echo(value)]
    if answers:
        return answers[-1]
    if objects:
        raise AnswerError("the answer repeats the prompt's template (placeholders in <angle brackets>), not a verdict")
    raise AnswerError("the answer holds no JSON object")


def parse_answer(task: str, inputs: Mapping[str, Any], text: str) -> dict[str, Any]:
    """The validated verdict of ``task`` found in ``text`` (the last one that fits); :class:`AnswerError` if none."""
    objects = list(json_objects(_clean(text)))
    answers = [value for value in objects if not is_template_echo(value)]
    if not answers:
        if objects:
            raise AnswerError(
                "the answer repeats the prompt's template (placeholders in <angle brackets>), not a verdict"
            )
        raise AnswerError("the answer holds no JSON object")
    problem = ""
    for value in reversed(answers):
        try:
            return validate_output(task, dict(inputs), value)
        except InvalidVerdict as exc:
            problem = problem or str(exc)  # the last object's problem is the one worth telling the model
    raise AnswerError(f"the JSON object does not fit the task: {problem}")
