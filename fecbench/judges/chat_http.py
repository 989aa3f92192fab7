"""Chat-completion requests at hundreds a second: the openai client prepares them, aiohttp sends them.

A scoring job at ``--concurrency 128`` against a 200 ms endpoint sends about 640 requests a second
from one event loop, and on a small machine the CPU time per request decides whether the endpoint
stays full. Measured on the development machine (2 cores, loopback server, the same requests at
128 in flight): ``AsyncOpenAI.post`` cost 1.1 ms of CPU a request over the client's own httpx2
transport and 0.95 ms over its aiohttp transport, of which 0.7 ms is the client's per-request
Python work (options, URL, headers, the httpx2 request and response objects); aiohttp alone costs
0.25 ms. A whole scoring job went from 1.25 ms to 0.56 ms a request (``bench/judge_throughput.py``).

So the openai client still decides *what* is sent, once per job: :func:`prepare_chat_request` lets it
make a request on a transport that keeps the request instead of sending it (``httpx2.MockTransport``,
public API), and takes its URL (Azure's deployment path and ``api-version`` included) and headers
(authentication, the client's identification). :class:`ChatSender` then sends that request with
each body through one aiohttp session, and turns what can go wrong on the way into
:class:`~fecbench.judges.chat.NoAnswer` (timeouts, refused or broken connections), which the
scheduler retries and its breaker counts. What the answer means is the judge's business.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fecbench.errors import ConfigError
from fecbench.judges.chat import NoAnswer

#: Headers of the prepared request that belong to one request, or that aiohttp sets itself.
PER_REQUEST_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "x-stainless-retry-count", "x-stainless-read-timeout"}
)


@dataclass(frozen=True)
class PreparedRequest:
    """Where a chat completion goes and the headers it carries, as the openai client made them."""

    url: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class HttpAnswer:
    """One HTTP response, read whole."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def prepare_chat_request(make_client: Callable[[Any], Any], model: str) -> PreparedRequest:
    """The request the openai client would send for ``/chat/completions`` with ``model``.

    ``make_client(http_client)`` builds the (blocking) ``OpenAI`` or ``AzureOpenAI`` client with the
    judge's settings on the given ``httpx2.Client``; the request it makes is kept, not sent."""
    import httpx2

    kept: list[Any] = []

    def keep(request: Any) -> Any:
        kept.append(request)
        return httpx2.Response(200, json={})

    with httpx2.Client(transport=httpx2.MockTransport(keep)) as http_client:
        client = make_client(http_client)
        client.post("/chat/completions", body={"model": model}, cast_to=httpx2.Response)
    request = kept[0]
    url = str(request.url)
    if request.url.scheme not in ("http", "https"):
        raise ConfigError(f"the judge endpoint {url!r} is not an http:// or https:// URL; check base_url")
    headers = {name: value for name, value in request.headers.items() if name.lower() not in PER_REQUEST_HEADERS}
    return PreparedRequest(url, headers)


def untrusted_certificate(endpoint: str, error: BaseException) -> str:
    """The message for an endpoint whose TLS certificate is not trusted here."""
    return (
        f"the judge endpoint {endpoint} has a TLS certificate this machine does not trust ({error}); "
        "point SSL_CERT_FILE (or SSL_CERT_DIR) at the certificate authority that signed it"
    )


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, minus
    ``NO_PROXY``), the variables the openai client's own requests follow."""
    parts = urllib.parse.urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


class ChatSender:
    """POSTs bodies to one prepared request through one aiohttp session (opened inside the event loop)."""

    def __init__(
        self, prepared: PreparedRequest, *, endpoint: str, timeout: float, connect_timeout: float, ssl: Any
    ) -> None:
        self.prepared = prepared
        self.endpoint = endpoint
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.ssl = ssl
        self._session: Any = None
        self._proxy: str | None = None

    async def open(self) -> None:
        import aiohttp

        # No cap on connections: the scheduler's senders bound the requests in flight, each keeps one.
        connector = aiohttp.TCPConnector(limit=0, ssl=self.ssl)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout, sock_read=self.timeout)
        # Not trust_env: it looks the proxy and ~/.netrc up again on a thread for every request (a tenth
        # of a request's CPU time); the proxy is looked up once here instead, for the one URL there is.
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False)
        self._proxy = environment_proxy(self.prepared.url)

    async def post(self, body: Mapping[str, Any]) -> HttpAnswer:
        """Send one body; a timeout or a connection that fails or breaks is :class:`NoAnswer`."""
        import aiohttp

        if self._session is None:
            raise RuntimeError("ChatSender.post before open()")
        data = json.dumps(body).encode()
        try:
            async with self._session.post(
                self.prepared.url, data=data, headers=self.prepared.headers, proxy=self._proxy
            ) as response:
                return HttpAnswer(response.status, response.headers, await response.read())
        except aiohttp.ClientConnectorCertificateError as exc:  # retrying cannot help
            raise ConfigError(untrusted_certificate(self.endpoint, exc.certificate_error)) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise NoAnswer(f"cannot reach {self.endpoint}: no connection within {self.connect_timeout:g} s") from exc
        except TimeoutError as exc:  # the read timeout: aiohttp's SocketTimeoutError is a TimeoutError
            raise NoAnswer(f"no answer within {self.timeout:g} s") from exc
        except aiohttp.ClientConnectorError as exc:  # refused, unknown host, unreachable network
            raise NoAnswer(f"cannot reach {self.endpoint}: {exc.__class__.__name__}: {exc}") from exc
        except aiohttp.ClientError as exc:  # dropped mid-answer, a response that is not valid HTTP
            raise NoAnswer(f"broken exchange with {self.endpoint}: {exc.__class__.__name__}: {exc}") from exc

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
