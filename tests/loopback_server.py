"""What every scriptable test server on 127.0.0.1 shares, whatever API protocol it speaks.

Remote model APIs cannot be reached from the test machines, so adapters and judges are tested
against real HTTP servers on loopback (``chat_server.py`` speaks OpenAI chat completions,
``anthropic_server.py`` the Anthropic Messages API). Both need the same machinery, kept here once:
the server thread, each request recorded whole, requests in flight counted (the most at once, and
their time-weighted mean over the busy span from the first request to the last answer), and
replies decided by ``handler(request) -> Reply | str`` (a str is a good answer) after the ones
queued with :meth:`LoopbackServer.script`. A :class:`Reply` can be delayed, an HTTP error (429 with
``Retry-After``, 500...) or a good answer of any text (garbage, a fenced JSON...).

A protocol module subclasses :class:`LoopbackServer` (how a request is recorded, what a good answer
looks like) and :class:`LoopbackHandler` (routes, keys, validation, error bodies) and nothing else.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Self, TypeVar

RequestT = TypeVar("RequestT", bound="RecordedRequest")


@dataclass(frozen=True)
class Reply:
    """What to answer one request: ``content`` (HTTP 200) or an error ``status``, after ``delay`` seconds.

    ``body`` sends those bytes as they are instead of the protocol's JSON (a broken proxy's HTML page,
    a truncated answer), with ``status`` and the ``Content-Type`` in ``headers``.
    """

    content: str | None = None
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""
    finish_reason: str = "stop"
    body: bytes | None = None


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


def raw(body: bytes, content_type: str = "application/json", code: int = 200) -> Reply:
    """A response whose body is sent byte for byte, whatever the protocol expects."""
    return Reply(status=code, body=body, headers={"Content-Type": content_type})


def status(code: int, retry_after: float | None = None, message: str = "") -> Reply:
    """An HTTP error; ``retry_after`` sets the ``Retry-After`` header (seconds)."""
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    return Reply(status=code, headers=headers, error=message or f"scripted error {code}")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it: what each protocol's request class starts from."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    received: float

    def first_user_content(self) -> Any:
        """The ``content`` of the first user message (a string or a list of parts), or None."""
        for message in self.body.get("messages", []):
            if message.get("role") == "user":
                return message.get("content")
        return None


class LoopbackServer(Generic[RequestT]):
    """The server thread and its bookkeeping; use it in a ``with`` block (started on entry, stopped on exit).

    Subclasses set :attr:`request_handler` and write :meth:`_new_request` and :meth:`_answer`.
    """

    request_handler: type[LoopbackHandler]

    def __init__(self, handler: Callable[[RequestT], Reply | str], *, api_key: str | None = None) -> None:
        self.handler = handler
        self.api_key = api_key
        self.requests: list[RequestT] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._in_flight_area = 0.0  # the integral of in_flight over time
        self._busy_from: float | None = None
        self._changed = 0.0
        self._area_at_last_arrival = 0.0
        self._last_arrival = 0.0
        self._queue: deque[Reply | str] = deque()
        self._lock = threading.Lock()
        self._ids = 0
        self.scheme = "http"
        self._http = _HTTPServer(("127.0.0.1", 0), self.request_handler)
        self._http.owner = self
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._http.server_address[1]

    def script(self, *replies: Reply | str) -> None:
        """Queue replies for the next requests, used before the handler is asked."""
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        """Forget the requests seen, the replies still queued and the most in flight."""
        with self._lock:
            self.requests.clear()
            self._queue.clear()
            self.max_in_flight = 0
            self._in_flight_area, self._busy_from = 0.0, None

    @property
    def mean_in_flight(self) -> float:
        """Requests in flight on average (time-weighted) from the first request's arrival to the last answer."""
        with self._lock:
            if self._busy_from is None or self._changed <= self._busy_from:
                return 0.0
            return self._in_flight_area / (self._changed - self._busy_from)

    @property
    def mean_in_flight_until_last_request(self) -> float:
        """The same mean up to the last request's arrival: how full a client kept the server until its work ran out."""
        with self._lock:
            if self._busy_from is None or self._last_arrival <= self._busy_from:
                return 0.0
            return self._area_at_last_arrival / (self._last_arrival - self._busy_from)

    def use_tls(self, context: ssl.SSLContext) -> None:
        """Serve HTTPS with ``context`` (before :meth:`start`)."""
        self._http.socket = context.wrap_socket(self._http.socket, server_side=True)
        self.scheme = "https"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- for subclasses ---------------------------------------------------------------------

    def _new_request(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> RequestT:
        """The recorded form of one request (called with the lock held)."""
        raise NotImplementedError

    def _answer(self, request: RequestT, reply: Reply, number: int) -> dict[str, Any]:
        """The JSON body of a good answer; ``number`` counts the answers from 1 (for ids)."""
        raise NotImplementedError

    # -- called from the HTTP threads ---------------------------------------------------------

    def _record(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> RequestT:
        with self._lock:
            request = self._new_request(path, body, headers)
            self.requests.append(request)
            self._in_flight_changes(+1)
            self._area_at_last_arrival, self._last_arrival = self._in_flight_area, self._changed
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return request

    def _done(self) -> None:
        with self._lock:
            self._in_flight_changes(-1)

    def _in_flight_changes(self, step: int) -> None:
        """Add up in-flight time before the count changes (called with the lock held)."""
        now = time.monotonic()
        if self._busy_from is None:
            self._busy_from = self._changed = now
        self._in_flight_area += self.in_flight * (now - self._changed)
        self._changed = now
        self.in_flight += step

    def _reply_for(self, request: RequestT) -> Reply:
        with self._lock:
            scripted = self._queue.popleft() if self._queue else None
        reply = scripted if scripted is not None else self.handler(request)
        return Reply(content=reply) if isinstance(reply, str) else reply

    def _next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024  # 128 clients connecting at once must not be reset by a short backlog
    owner: LoopbackServer[Any]


#: What :meth:`LoopbackHandler._json_body` returns when the body was refused (JSON ``null`` is a body).
REFUSED = object()


class LoopbackHandler(BaseHTTPRequestHandler):
    """One HTTP exchange; subclasses write ``do_POST`` (routes, keys, checks) and :meth:`_error`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as real servers do: else headers and body stall 40 ms on delayed ACKs
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _error(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        """Send the protocol's error body for ``code``."""
        raise NotImplementedError

    def _extra_headers(self, payload: dict[str, Any]) -> dict[str, str]:
        """Headers the protocol adds to every response."""
        return {}

    def _send(
        self, code: int, payload: dict[str, Any], headers: dict[str, str] | None = None, data: bytes | None = None
    ) -> None:
        data = json.dumps(payload).encode() if data is None else data
        headers = {"Content-Type": "application/json", **self._extra_headers(payload), **(headers or {})}
        try:
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to deliver

    def _read_raw(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _json_body(self, raw: bytes, refusal: str) -> Any:
        """The parsed body, or :data:`REFUSED` after answering 400 with ``refusal``."""
        try:
            return json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._error(400, refusal)
            return REFUSED

    def _serve(self, path: str, body: dict[str, Any]) -> None:
        """Record a valid request, then answer it as scripted: delayed, an error, or a good answer."""
        owner = self.server.owner
        request = owner._record(path, body, {k.lower(): v for k, v in self.headers.items()})
        try:
            try:
                reply = owner._reply_for(request)
            except Exception as exc:  # a broken test handler: say so instead of dropping the connection
                reply = status(500, message=f"test handler raised {type(exc).__name__}: {exc}")
            if reply.delay:
                time.sleep(reply.delay)
            if reply.body is not None:
                self._send(reply.status, {}, reply.headers, data=reply.body)
            elif reply.status != 200:
                self._error(reply.status, reply.error or f"scripted error {reply.status}", reply.headers)
            else:
                self._send(200, owner._answer(request, reply, owner._next_id()), reply.headers)
        finally:
            owner._done()
