"""``fecbench leaderboard serve``: preview a built site over HTTP, as a static host would serve it.

Only the standard library's ``http.server``, bound to 127.0.0.1 by default: a preview, not a
production server.
"""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from fecbench.errors import ConfigError


def make_server(site_dir: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server for ``site_dir`` (not started; port 0 picks a free one)."""
    if not (site_dir / "index.html").is_file():
        raise ConfigError(
            f"{site_dir}: no index.html; build the site first (fecbench leaderboard build ... --out {site_dir})"
        )
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site_dir))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port") from exc
