"""A real OpenAI-compatible chat-completions server on 127.0.0.1, scriptable per request, for tests.

No remote endpoint can be reached from the test machines, so judges and API adapters are tested
against this server over loopback HTTP, through the official ``openai`` client or any HTTP code.
It speaks the protocol's non-streaming subset: ``POST /v1/chat/completions`` (answer with ``id``,
``object``, ``created``, ``model``, ``choices`` and ``usage``; errors as ``{"error": {...}}``) and
``GET /v1/models``. Messages may hold any content, string or parts (``text``, ``image_url``,
``video_url``...); each request is recorded whole.

What each request gets is decided by ``handler(request) -> Reply | str`` (a str is a good answer);
:meth:`ChatServer.script` queues replies that are used first, one per request, in arrival order.
:class:`ChatRequest` carries ``attempt``: how many requests so far had the same first user turn,
so a handler can answer garbage to the first tries of every item and well to the last.

    with running_chat_server(lambda req: '{"events": []}') as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k")
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ChatRequest:
    """One request as the server saw it."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    attempt: int
    received: float

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


@dataclass(frozen=True)
class Reply:
    """What to answer one request: ``content`` (HTTP 200) or an error ``status``, after ``delay`` seconds."""

    content: str | None = None
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""
    finish_reason: str = "stop"


def ok(content: str, delay: float = 0.0) -> Reply:
    return Reply(content=content, delay=delay)


def garbage(text: str = "I am not sure what you mean. Could you rephrase the question?") -> Reply:
    return Reply(content=text)


def fenced(content: str) -> Reply:
    """The answer in a ```json fence with prose around it, as chatty models write it."""
    return Reply(content=f"Sure! Here is the JSON you asked for:\n```json\n{content}\n```\nLet me know if that helps.")


def slow(seconds: float, content: str = "{}") -> Reply:
    """An answer that comes only after ``seconds`` (past a client's timeout, it never arrives)."""
    return Reply(content=content, delay=seconds)


def status(code: int, retry_after: float | None = None, message: str = "") -> Reply:
    """An HTTP error; ``retry_after`` sets the ``Retry-After`` header (seconds)."""
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    return Reply(status=code, headers=headers, error=message or f"scripted error {code}")


Handler = Callable[[ChatRequest], "Reply | str"]


class ChatServer:
    """The server and its bookkeeping; start it with :func:`running_chat_server`."""

    def __init__(
        self, handler: Handler | None = None, *, api_key: str | None = None, model: str = "test-model"
    ) -> None:
        self.handler = handler or (lambda request: "{}")
        self.api_key = api_key
        self.model = model
        self.requests: list[ChatRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._queue: deque[Reply | str] = deque()
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._ids = 0
        self._http = _Server(("127.0.0.1", 0), _RequestHandler)
        self._http.chat = self
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._http.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def chat_requests(self) -> list[ChatRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def count(self) -> int:
        return len(self.chat_requests)

    def script(self, *replies: Reply | str) -> None:
        """Queue replies for the next requests, used before the handler is asked."""
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._queue.clear()
            self._attempts.clear()
            self.max_in_flight = 0

    def start(self) -> ChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    # -- called from the HTTP threads ------------------------------------------------------

    def _record(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> ChatRequest:
        with self._lock:
            key = ""
            for message in body.get("messages", []) if isinstance(body, dict) else []:
                if message.get("role") == "user":
                    key = json.dumps(message.get("content"), sort_keys=True)
                    break
            self._attempts[key] = self._attempts.get(key, 0) + 1
            request = ChatRequest(path, body, headers, self._attempts[key], time.monotonic())
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return request

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _reply_for(self, request: ChatRequest) -> Reply:
        with self._lock:
            scripted = self._queue.popleft() if self._queue else None
        reply = scripted if scripted is not None else self.handler(request)
        return Reply(content=reply) if isinstance(reply, str) else reply

    def _completion(self, request: ChatRequest, reply: Reply) -> dict[str, Any]:
        with self._lock:
            self._ids += 1
            number = self._ids
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    chat: ChatServer


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
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to deliver

    def _authorised(self) -> bool:
        key = self.server.chat.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}" or self.headers.get("api-key") == key:
            return True
        self._send(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
        return False

    def do_GET(self) -> None:
        chat = self.server.chat
        if not self._authorised():
            return
        if self.path.rstrip("/").endswith("/models"):
            model = {"id": chat.model, "object": "model", "created": 0, "owned_by": "fecbench-tests"}
            self._send(200, {"object": "list", "data": [model]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        chat = self.server.chat
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self._authorised():
            return
        path = self.path.split("?")[0]
        if not path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or body.get("stream"):
            self._send(
                400, {"error": {"message": "need messages (streaming unsupported)", "type": "invalid_request_error"}}
            )
            return
        request = chat._record(path, body, {k.lower(): v for k, v in self.headers.items()})
        try:
            try:
                reply = chat._reply_for(request)
            except Exception as exc:  # a broken test handler: say so instead of dropping the connection
                reply = status(500, message=f"test handler raised {type(exc).__name__}: {exc}")
            if reply.delay:
                time.sleep(reply.delay)
            if reply.status != 200:
                error = {"message": reply.error, "type": "server_error" if reply.status >= 500 else "scripted"}
                self._send(reply.status, {"error": error}, reply.headers)
            else:
                self._send(200, chat._completion(request, reply), reply.headers)
        finally:
            chat._done()


@contextmanager
def running_chat_server(
    handler: Handler | None = None, *, api_key: str | None = None, model: str = "test-model"
) -> Iterator[ChatServer]:
    """A started :class:`ChatServer`, stopped on exit."""
    server = ChatServer(handler, api_key=api_key, model=model).start()
    try:
        yield server
    finally:
        server.stop()
