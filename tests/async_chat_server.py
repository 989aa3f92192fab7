"""An asyncio chat-completions server on 127.0.0.1 that keeps up with 128+ concurrent requests, for benchmarks.

The test server (``chat_server.py``) runs one thread per connection in the test's own process:
right for scripting replies, too costly to stand in for an endpoint that answers hundreds of
requests a second next to the client on a 2-core machine. This one is a separate process with
one event loop: it answers ``POST .../chat/completions`` with the keyword rules of
``tests/plugins/fecbench_test_judges.py`` (the same answers ``chat_server.py`` gives with
``rules_answer``) after a latency, optionally jittered, and answers a share of requests with
HTTP 429 at once (``retry-after-ms`` and ``Retry-After``, as OpenAI sends them).

``GET /stats`` reports what the server saw and what it cost: requests answered and refused, the
latency it applied (their sum is the ideal work), the most requests in flight and their
time-weighted mean over the busy span (first arrival to last answer), and its own CPU seconds.
``POST /reset`` starts the counts again. Run it as a script; it prints its port on the first line:

    python tests/async_chat_server.py --latency 0.2 [--jitter 0.1] [--rate-limited 0.02] [--seed 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "plugins")]

from chat_server import ChatRequest  # noqa: E402
from fecbench_test_judges import rules_answer  # noqa: E402

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}


class Stats:
    """What the server saw; ``in_flight`` is integrated over time for its mean."""

    def __init__(self) -> None:
        self.answered = 0
        self.refused = 0
        self.latency_sum = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.area = 0.0
        self.busy_from: float | None = None
        self.changed = 0.0
        self.cpu_from = time.process_time()

    def step(self, change: int) -> None:
        now = time.monotonic()
        if self.busy_from is None:
            self.busy_from = self.changed = now
        self.area += self.in_flight * (now - self.changed)
        self.changed = now
        self.in_flight += change
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def report(self) -> dict[str, Any]:
        span = self.changed - self.busy_from if self.busy_from is not None else 0.0
        return {
            "answered": self.answered,
            "refused_429": self.refused,
            "latency_sum_s": self.latency_sum,
            "max_in_flight": self.max_in_flight,
            "mean_in_flight": self.area / span if span > 0 else 0.0,
            "busy_span_s": span,
            "cpu_s": time.process_time() - self.cpu_from,
        }


class Server:
    def __init__(self, latency: float, jitter: float, rate_limited: float, retry_after_ms: int, seed: int) -> None:
        self.latency, self.jitter, self.rate_limited = latency, jitter, rate_limited
        self.retry_after_ms = retry_after_ms
        self.random = random.Random(seed)
        self.stats = Stats()
        self.ids = 0

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One keep-alive connection: requests one after the other, as HTTP/1.1 clients send them."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, path = request_line.split(" ")[:2]
                headers = {}
                for line in header_lines:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                status, payload, extra = await self.answer(method, path.split("?")[0], body)
                data = json.dumps(payload).encode()
                lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", "Content-Type: application/json"]
                lines += [f"Content-Length: {len(data)}", *(f"{k}: {v}" for k, v in extra.items())]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method == "GET" and path.endswith("/stats"):
            return 200, self.stats.report(), {}
        if method == "POST" and path.endswith("/reset"):
            self.stats = Stats()
            return 200, {"reset": True}, {}
        if method != "POST" or not path.rstrip("/").endswith("/chat/completions"):
            return 404, {"error": {"message": f"no route {path}", "type": "not_found"}}, {}
        request = ChatRequest(path, json.loads(body), {}, time.monotonic())
        self.stats.step(+1)
        try:
            if self.rate_limited and self.random.random() < self.rate_limited:
                self.stats.refused += 1
                headers = {"retry-after-ms": str(self.retry_after_ms), "Retry-After": "1"}
                return 429, {"error": {"message": "rate limited", "type": "rate_limit"}}, headers
            delay = self.latency + (self.random.uniform(-self.jitter, self.jitter) if self.jitter else 0.0)
            await asyncio.sleep(delay)
            content = rules_answer(request)
            self.stats.answered += 1
            self.stats.latency_sum += delay
            self.ids += 1
            return 200, _completion(self.ids, request, content), {}
        finally:
            self.stats.step(-1)


def _completion(number: int, request: ChatRequest, content: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-bench-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model or "bench-judge",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


async def serve(options: argparse.Namespace) -> None:
    server = Server(options.latency, options.jitter, options.rate_limited, options.retry_after_ms, options.seed)
    listening = await asyncio.start_server(server.connection, "127.0.0.1", options.port, backlog=4096)
    print(listening.sockets[0].getsockname()[1], flush=True)
    async with listening:
        await listening.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds before each answer")
    parser.add_argument("--jitter", type=float, default=0.0, help="latency varies uniformly by +- this much")
    parser.add_argument("--rate-limited", type=float, default=0.0, help="share of requests answered 429")
    parser.add_argument("--retry-after-ms", type=int, default=500, help="the wait a 429 asks for")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    if options.jitter > options.latency:
        parser.error("--jitter cannot exceed --latency")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(options))


if __name__ == "__main__":
    main()
