"""Which HTTP errors are worth another try, and what a 429 or 503 asks a client to wait; shared by the
remote model adapters and the judges."""

from __future__ import annotations

import email.utils
import time
from typing import Any

#: HTTP statuses worth another try besides any server error: request timeout, conflict, rate limit.
RETRY_STATUSES = frozenset({408, 409, 429})


def is_transient_status(status: int) -> bool:
    """Whether a response with ``status`` is worth asking again (``RETRY_STATUSES`` and every 5xx)."""
    return status in RETRY_STATUSES or status >= 500


def retry_after_seconds(headers: Any) -> float | None:
    """The wait a response asks for: ``retry-after-ms``, or ``Retry-After`` in seconds or as an HTTP date.

    None when the response names no usable wait (the caller then backs off as usual).
    """
    if headers is None:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
