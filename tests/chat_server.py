"""A real OpenAI-compatible chat-completions server on 127.0.0.1, scriptable per request, for tests.

No remote endpoint can be reached from the test machines, so judges and API adapters are tested
against this server over loopback HTTP, through the official ``openai`` client or any HTTP code.
It speaks the protocol's non-streaming subset: ``POST /v1/chat/completions`` (answer with ``id``,
``object``, ``created``, ``model``, ``choices`` and ``usage``; errors as ``{"error": {...}}``) and
``GET /v1/models``. Messages may hold any content, string or parts (``text``, ``image_url``,
``video_url``...); each request is recorded whole.

What each request gets is decided by ``handler(request) -> Reply | str`` (a str is a good answer);
:meth:`ChatServer.script` queues replies that are used first, one per request, in arrival order
(the server thread, recording and scripting are shared with ``anthropic_server.py`` in
``loopback_server.py``, whose :class:`Reply` and helpers this module re-exports).
:class:`ChatRequest` carries ``attempt``: how many requests so far had the same first user turn,
so a handler can answer garbage to the first tries of every item and well to the last.

    with running_chat_server(lambda req: '{"events": []}') as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k")
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from loopback_server import (
    REFUSED,
    LoopbackHandler,
    LoopbackServer,
    RecordedRequest,
    Reply,
    fenced,
    garbage,
    ok,
    raw,
    slow,
    status,
)

__all__ = [
    "ChatRequest",
    "ChatServer",
    "Reply",
    "fenced",
    "garbage",
    "message_text",
    "ok",
    "raw",
    "running_chat_server",
    "slow",
    "status",
]


@dataclass(frozen=True)
class ChatRequest(RecordedRequest):
    """One request as the server saw it; ``attempt`` counts the requests so far with its first user turn."""

    attempt: int = 1

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def model(self) -> str | None:
        return self.body.get("model")

    @property
    def prompt(self) -> str:
        """The text of the first user turn (text parts joined by newlines)."""
        for message in self.messages:
            if message.get("role") == "user":
                return message_text(message)
        return ""

    @property
    def last_user_text(self) -> str:
        users = [m for m in self.messages if m.get("role") == "user"]
        return message_text(users[-1]) if users else ""

    def parts(self, kind: str) -> list[dict[str, Any]]:
        """Every content part of type ``kind`` (``image_url``, ``video_url``...) over all messages."""
        found = []
        for message in self.messages:
            content = message.get("content")
            if isinstance(content, list):
                found.extend(p for p in content if isinstance(p, dict) and p.get("type") == kind)
        return found


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


Handler = Callable[[ChatRequest], "Reply | str"]


class _ChatHandler(LoopbackHandler):
    def _error(self, code: int, message: str, headers: dict[str, str] | None = None, kind: str | None = None) -> None:
        kind = kind or ("server_error" if code >= 500 else "scripted")
        self._send(code, {"error": {"message": message, "type": kind}}, headers)

    def _authorised(self) -> bool:
        key = self.server.owner.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}" or self.headers.get("api-key") == key:
            return True
        self._error(401, "Incorrect API key provided", kind="invalid_request_error")
        return False

    def do_GET(self) -> None:
        if not self._authorised():
            return
        if self.path.rstrip("/").endswith("/models"):
            model = {"id": self.server.owner.model, "object": "model", "created": 0, "owned_by": "fecbench-tests"}
            self._send(200, {"object": "list", "data": [model]})
        else:
            self._error(404, f"no route {self.path}", kind="not_found")

    def do_POST(self) -> None:
        raw = self._read_raw()
        if not self._authorised():
            return
        path = self.path.split("?")[0]
        if not path.rstrip("/").endswith("/chat/completions"):
            self._error(404, f"no route {self.path}", kind="not_found")
            return
        body = self._json_body(raw, "body is not JSON")
        if body is REFUSED:
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or body.get("stream"):
            self._error(400, "need messages (streaming unsupported)", kind="invalid_request_error")
            return
        self._serve(path, body)


class ChatServer(LoopbackServer[ChatRequest]):
    """The server and its bookkeeping; start it with :func:`running_chat_server`."""

    request_handler = _ChatHandler

    def __init__(
        self, handler: Handler | None = None, *, api_key: str | None = None, model: str = "test-model"
    ) -> None:
        super().__init__(handler or (lambda request: "{}"), api_key=api_key)
        self.model = model
        self._attempts: dict[str, int] = {}

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/v1"

    @property
    def chat_requests(self) -> list[ChatRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def count(self) -> int:
        return len(self.chat_requests)

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._attempts.clear()

    def _new_request(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> ChatRequest:
        request = ChatRequest(path, body, headers, time.monotonic())
        first = request.first_user_content()
        key = "" if first is None else json.dumps(first, sort_keys=True)
        self._attempts[key] = self._attempts.get(key, 0) + 1
        return replace(request, attempt=self._attempts[key])

    def _answer(self, request: ChatRequest, reply: Reply, number: int) -> dict[str, Any]:
        prompt_words = sum(len(message_text(m).split()) for m in request.messages)
        answer_words = len((reply.content or "").split())
        return {
            "id": f"chatcmpl-test-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model or self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_words,
                "completion_tokens": answer_words,
                "total_tokens": prompt_words + answer_words,
            },
        }


def running_chat_server(
    handler: Handler | None = None, *, api_key: str | None = None, model: str = "test-model"
) -> ChatServer:
    """A :class:`ChatServer` for a ``with`` block: started on entry, stopped on exit."""
    return ChatServer(handler, api_key=api_key, model=model)
