"""FEC-Bench's annotations by default: downloaded once over HTTP, verified by sha256, cached; offline, a clear hint.

The Hugging Face hub cannot be reached here, so a loopback HTTP server serves the real file at the
hub's URL layout and ``HF_ENDPOINT`` points at it, as it would at a mirror.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fecbench.data import fecbench_default
from fecbench.data.fecbench_default import FEC_BENCH_SHA256, default_annotations
from fecbench.errors import ConfigError
from fecbench.paths import sha256_file


class Hub:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.requests: list[str] = []


@pytest.fixture
def hub(fec_bench_test_json: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    state = Hub(fec_bench_test_json.read_bytes())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path != "/datasets/StarJiaxing/DFEC/resolve/main/test.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(state.payload)))
            self.end_headers()
            self.wfile.write(state.payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.delenv("FECBENCH_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield state
    server.shutdown()


def test_downloads_once_verifies_and_caches(hub: Hub) -> None:
    path = default_annotations()
    assert sha256_file(path) == FEC_BENCH_SHA256
    assert default_annotations() == path
    assert hub.requests == ["/datasets/StarJiaxing/DFEC/resolve/main/test.json"]


def test_tampered_download_is_rejected(hub: Hub) -> None:
    hub.payload = hub.payload.replace(b"middle-aged man", b"young man", 1)
    with pytest.raises(ConfigError, match=r"sha256 is [0-9a-f]{64}, not FEC-Bench's .*pass --annotations"):
        default_annotations()
    assert not fecbench_default.cached_path().exists()


def test_offline_without_cache_says_what_to_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as info:
        default_annotations()
    message = str(info.value)
    assert "pass --annotations /path/to/test.json" in message and "StarJiaxing/DFEC" in message
    assert str(fecbench_default.cached_path()) in message


def test_unreachable_hub_says_what_to_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FECBENCH_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: connection refused
    with pytest.raises(ConfigError, match="could not download FEC-Bench annotations .* pass --annotations"):
        default_annotations()
