"""Parse JSON that comes from a user's file: nesting too deep for Python is malformed JSON like any other.

``json.loads`` raises :class:`RecursionError` on input such as ``'[' * 100000``; every reader of a
user's file (annotations, predictions, run folders, result records) already turns
:class:`json.JSONDecodeError` into a one-line error naming the file, so :func:`loads` reports deep
nesting as that error too, at the point where the nesting became too deep.
"""

from __future__ import annotations

import json
import sys
from typing import Any

#: Deeper than any file fecbench reads needs, and well inside Python's recursion limit.
MAX_DEPTH = 200


def loads(text: str) -> Any:
    """:func:`json.loads`, raising :class:`json.JSONDecodeError` (never ``RecursionError``) for deep nesting."""
    try:
        return json.loads(text)
    except RecursionError:
        pass
    position = _too_deep_at(text)
    raise json.JSONDecodeError(f"nested more than {MAX_DEPTH} levels deep", text, position) from None


def _too_deep_at(text: str) -> int:
    """Where brackets outside strings first nest deeper than :data:`MAX_DEPTH` (0 when that is not found)."""
    depth, in_string, escaped = 0, False, False
    limit = min(MAX_DEPTH, sys.getrecursionlimit())
    for position, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return position
        elif char in "]}":
            depth -= 1
    return 0
