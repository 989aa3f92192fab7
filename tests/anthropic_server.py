"""A real Anthropic Messages API server on 127.0.0.1, scriptable per request, for tests.

Claude cannot be reached from the test machines, so the Claude adapter is tested against this
server over loopback HTTP through the official ``anthropic`` client. It speaks the non-streaming
subset of the protocol: ``POST /v1/messages`` with the key (``x-api-key``, or ``Authorization:
Bearer`` as anthropic>=2 sends it) and the ``anthropic-version`` header, answered with a
``message`` object (``id``, ``type``, ``role``, ``model``, ``content`` blocks, ``stop_reason``,
``stop_sequence``, ``usage``) or an error
``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}`` with the status
the API uses for it (400, 401, 429, 500, 529...). Each request is recorded whole.

Replies are scripted as for the chat-completions test server (``chat_server.py``, whose
:class:`Reply` and helpers are reused): ``handler(request) -> Reply | str`` answers each request,
and :meth:`MessagesServer.script` queues replies used first. A reply with ``content=None`` is
answered with no content blocks at all.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chat_server import Reply

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
class MessagesRequest:
    """One request as the server saw it."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    received: float

    @property
    def content(self) -> list[dict[str, Any]]:
        """The content blocks of the first user message (a string content becomes one text block)."""
        for message in self.body.get("messages", []):
            if message.get("role") == "user":
                content = message.get("content")
                return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
        return []

    def blocks(self, kind: str) -> list[dict[str, Any]]:
        return [b for b in self.content if isinstance(b, dict) and b.get("type") == kind]

    @property
    def text(self) -> str:
        return "\n".join(b.get("text", "") for b in self.blocks("text"))


Handler = Callable[[MessagesRequest], "Reply | str"]


class MessagesServer:
    """The server and its bookkeeping; start it with :func:`running_messages_server`."""

    def __init__(self, handler: Handler | None = None, *, api_key: str | None = None) -> None:
        self.handler = handler or (lambda request: "ok")
        self.api_key = api_key
        self.requests: list[MessagesRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._queue: deque[Reply | str] = deque()
        self._lock = threading.Lock()
        self._ids = 0
        self._http = _Server(("127.0.0.1", 0), _RequestHandler)
        self._http.messages = self
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        """What the ``anthropic`` client takes as ``base_url`` (it appends ``/v1/messages``)."""
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def script(self, *replies: Reply | str) -> None:
        with self._lock:
            self._queue.extend(replies)

    def start(self) -> MessagesServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    # -- called from the HTTP threads ------------------------------------------------------

    def _record(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> MessagesRequest:
        with self._lock:
            request = MessagesRequest(path, body, headers, time.monotonic())
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return request

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _reply_for(self, request: MessagesRequest) -> Reply:
        with self._lock:
            scripted = self._queue.popleft() if self._queue else None
        reply = scripted if scripted is not None else self.handler(request)
        return Reply(content=reply) if isinstance(reply, str) else reply

    def _message(self, request: MessagesRequest, reply: Reply) -> dict[str, Any]:
        with self._lock:
            self._ids += 1
            number = self._ids
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    messages: MessagesServer


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, code: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("request-id", f"req_test_{id(payload):x}")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to deliver

    def _error(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        kind = ERROR_TYPES.get(code, "api_error" if code >= 500 else "invalid_request_error")
        payload = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_test_error"}
        self._send(code, payload, headers)

    def do_POST(self) -> None:
        server = self.server.messages
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?")[0].rstrip("/") != "/v1/messages":
            self._error(404, f"no route {self.path}")
            return
        if server.api_key is not None and server.api_key not in (
            self.headers.get("x-api-key"),
            (self.headers.get("Authorization") or "").removeprefix("Bearer "),
        ):
            self._error(401, "invalid x-api-key")
            return
        if not self.headers.get("anthropic-version"):
            self._error(400, "anthropic-version: header is required")
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._error(400, "request body is not valid JSON")
            return
        problem = _invalid(body)
        if problem:
            self._error(400, problem)
            return
        request = server._record(self.path, body, {k.lower(): v for k, v in self.headers.items()})
        try:
            reply = server._reply_for(request)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.status != 200:
                self._error(reply.status, reply.error or f"scripted error {reply.status}", reply.headers)
            else:
                self._send(200, server._message(request, reply), reply.headers)
        finally:
            server._done()


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


@contextmanager
def running_messages_server(handler: Handler | None = None, *, api_key: str | None = None) -> Iterator[MessagesServer]:
    """A started :class:`MessagesServer`, stopped on exit."""
    server = MessagesServer(handler, api_key=api_key).start()
    try:
        yield server
    finally:
        server.stop()
