"""A real Anthropic Messages API server on 127.0.0.1, scriptable per request, for tests.

Claude cannot be reached from the test machines, so the Claude adapter is tested against this
server over loopback HTTP through the official ``anthropic`` client. It speaks the non-streaming
subset of the protocol: ``POST /v1/messages`` with the key (``x-api-key``, or ``Authorization:
Bearer`` as anthropic>=2 sends it) and the ``anthropic-version`` header, answered with a
``message`` object (``id``, ``type``, ``role``, ``model``, ``content`` blocks, ``stop_reason``,
``stop_sequence``, ``usage``) or an error
``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}`` with the status
the API uses for it (400, 401, 429, 500, 529...). Each request is recorded whole.

Replies are scripted as for the chat-completions test server (``chat_server.py``; the machinery
both share, :class:`Reply` and its helpers included, is ``loopback_server.py``):
``handler(request) -> Reply | str`` answers each request, and :meth:`MessagesServer.script`
queues replies used first. A reply with ``content=None`` is
answered with no content blocks at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loopback_server import REFUSED, LoopbackHandler, LoopbackServer, RecordedRequest, Reply

#: The error ``type`` the Messages API gives with each status.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class MessagesRequest(RecordedRequest):
    """One request as the server saw it."""

    @property
    def content(self) -> list[dict[str, Any]]:
        """The content blocks of the first user message (a string content becomes one text block)."""
        content = self.first_user_content()
        return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])

    def blocks(self, kind: str) -> list[dict[str, Any]]:
        return [b for b in self.content if isinstance(b, dict) and b.get("type") == kind]

    @property
    def text(self) -> str:
        return "\n".join(b.get("text", "") for b in self.blocks("text"))


Handler = Callable[[MessagesRequest], "Reply | str"]


class _MessagesHandler(LoopbackHandler):
    def _extra_headers(self, payload: dict[str, Any]) -> dict[str, str]:
        return {"request-id": f"req_test_{id(payload):x}"}

    def _error(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        kind = ERROR_TYPES.get(code, "api_error" if code >= 500 else "invalid_request_error")
        payload = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_test_error"}
        self._send(code, payload, headers)

    def do_POST(self) -> None:
        api_key = self.server.owner.api_key
        raw = self._read_raw()
        if self.path.split("?")[0].rstrip("/") != "/v1/messages":
            self._error(404, f"no route {self.path}")
            return
        if api_key is not None and api_key not in (
            self.headers.get("x-api-key"),
            (self.headers.get("Authorization") or "").removeprefix("Bearer "),
        ):
            self._error(401, "invalid x-api-key")
            return
        if not self.headers.get("anthropic-version"):
            self._error(400, "anthropic-version: header is required")
            return
        body = self._json_body(raw, "request body is not valid JSON")
        if body is REFUSED:
            return
        problem = _invalid(body)
        if problem:
            self._error(400, problem)
            return
        self._serve(self.path, body)


class MessagesServer(LoopbackServer[MessagesRequest]):
    """The server and its bookkeeping; start it with :func:`running_messages_server`."""

    request_handler = _MessagesHandler

    def __init__(self, handler: Handler | None = None, *, api_key: str | None = None) -> None:
        super().__init__(handler or (lambda request: "ok"), api_key=api_key)

    @property
    def base_url(self) -> str:
        """What the ``anthropic`` client takes as ``base_url`` (it appends ``/v1/messages``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def _new_request(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> MessagesRequest:
        return MessagesRequest(path, body, headers, time.monotonic())

    def _answer(self, request: MessagesRequest, reply: Reply, number: int) -> dict[str, Any]:
        text = reply.content
        blocks = [] if text is None else [{"type": "text", "text": text}]
        stop = {"stop": "end_turn", "length": "max_tokens"}.get(reply.finish_reason, reply.finish_reason)
        return {
            "id": f"msg_test_{number:06d}",
            "type": "message",
            "role": "assistant",
            "model": request.body.get("model"),
            "content": blocks,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": len(request.text.split()), "output_tokens": len((text or "").split())},
        }


def _invalid(body: Any) -> str:
    """What the API would refuse in this body (the checks the adapter's requests must pass), or ''."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        return "max_tokens: Field required"
    if body.get("stream"):
        return "stream: not supported by this test server"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required"
    for i, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        if isinstance(content, str):
            continue
        for j, block in enumerate(content or []):
            kind = block.get("type")
            if kind == "image":
                source = block.get("source") or {}
                if source.get("type") != "base64" or source.get("media_type") not in (
                    "image/jpeg",
                    "image/png",
                    "image/gif",
                    "image/webp",
                ):
                    return f"messages.{i}.content.{j}.image.source: invalid source"
            elif kind != "text":
                return f"messages.{i}.content.{j}: unknown block type {kind!r}"
    return ""


def running_messages_server(handler: Handler | None = None, *, api_key: str | None = None) -> MessagesServer:
    """A :class:`MessagesServer` for a ``with`` block: started on entry, stopped on exit."""
    return MessagesServer(handler, api_key=api_key)
