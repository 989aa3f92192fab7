"""Reading a JSON verdict out of an LLM's answer, tolerantly, then checking it against its task.

Models wrap JSON in code fences, explain themselves before or after it, think aloud in
``<think>`` blocks, or leave a trailing comma. :func:`parse_answer` accepts all of that, and raises
:class:`AnswerError` (with a message fit to show the model in a retry) when no valid verdict is there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from fecbench.judges.base import InvalidVerdict, validate_output


class AnswerError(ValueError):
    """An answer that holds no JSON object, or one that does not fit its task; worth a retry."""


_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def _candidates(text: str) -> Iterator[str]:
    """Pieces of ``text`` that may be the JSON object, most likely first."""
    yield text
    for match in _FENCE.finditer(text):
        yield match.group(1).strip()


def _objects_in(text: str) -> Iterator[Any]:
    """Every JSON value that decodes at a ``{`` of ``text``, scanning left to right."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        yield value
        start = text.find("{", end)


def extract_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in ``text``: the whole text, a fenced block, or an object inside prose."""
    if text is None or not str(text).strip():
        raise AnswerError("the answer is empty")
    cleaned = _THINK.sub("", str(text)).strip()
    pieces = list(_candidates(cleaned))
    for lenient in (False, True):
        for piece in pieces:
            body = _TRAILING_COMMA.sub(r"\1", piece) if lenient else piece
            try:
                value = json.loads(body)
            except json.JSONDecodeError:
                value = next((v for v in _objects_in(body) if isinstance(v, dict)), None)
            if isinstance(value, dict):
                return value
    raise AnswerError("the answer holds no JSON object")


def parse_answer(task: str, inputs: Mapping[str, Any], text: str) -> dict[str, Any]:
    """The validated verdict of ``task`` found in ``text``; :class:`AnswerError` if there is none."""
    value = extract_json_object(text)
    try:
        return validate_output(task, dict(inputs), value)
    except InvalidVerdict as exc:
        raise AnswerError(f"the JSON object does not fit the task: {exc}") from exc
