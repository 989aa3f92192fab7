"""The ``openai`` judge: any endpoint that speaks OpenAI's chat-completions protocol.

That covers OpenAI itself, Azure OpenAI (``azure_endpoint=`` and ``api_version=``), and local
servers: ``vllm serve``, SGLang, llama.cpp's ``llama-server``, Ollama (``base_url=`` pointing at
their ``/v1``). The official ``openai`` client is used with its own retries off, so that
:class:`~fecbench.judges.chat.ChatJudge` and the engine's scheduler alone decide what is retried,
how long to wait and when an endpoint that does not answer stops the job.

Direct calls of :meth:`OpenAIJudge.complete` go through the blocking client's documented
``client.post(path, cast_to=httpx2.Response)``: the client builds the URL (Azure deployments
included), authenticates and turns timeouts and failed connections into its exceptions; the
response body is read here, so that a body that is not a chat completion (an HTML page with status
200, truncated JSON) is one more retryable fault. A scoring job's requests (one event loop keeps
``max_concurrency`` in flight, :mod:`fecbench.judges.scheduler`) are the request the openai client
prepares, sent by aiohttp (:mod:`fecbench.judges.chat_http`): the client's own per-request work
was three quarters of the CPU time a request cost, which is what a job at ``--concurrency 128``
on a small machine runs out of. Both paths sort HTTP errors the same way (:meth:`_status_error`).

Settings come from ``--judge-args`` first, then the environment: ``FECBENCH_JUDGE_MODEL``,
``OPENAI_BASE_URL``, ``OPENAI_API_KEY`` (Azure: ``AZURE_OPENAI_API_KEY``, ``OPENAI_API_VERSION``).
A local server needs no key; one is sent only because the protocol wants a header.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

from fecbench.errors import ConfigError, MissingDependencyError
from fecbench.http_retry import is_transient_status, retry_after_seconds
from fecbench.judges.chat import ChatJudge, Messages, NoAnswer, RequestRejected, TransientError
from fecbench.judges.chat_http import ChatSender, prepare_chat_request, untrusted_certificate
from fecbench.judges.parse import AnswerError

LOCAL_PLACEHOLDER_KEY = "EMPTY"
INSTALL_HINT = "pip install 'fecbench[openai]'"
DEFAULT_TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0  # a host that does not accept the connection is known dead sooner
MAX_BODY_SHOWN = 200


class OpenAIJudge(ChatJudge):
    """A chat model behind an OpenAI-compatible HTTP endpoint, ``max_concurrency`` requests at once."""

    backend: ClassVar[str] = "openai"

    def __init__(
        self,
        *,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        azure_endpoint: str | None = None,
        api_version: str | None = None,
        max_retries: int = 4,
        backoff: float = 1.0,
        backoff_max: float = 60.0,
        timeout: float = DEFAULT_TIMEOUT,
        max_concurrency: int = 8,
        max_unanswered: int = 8,
        temperature: float | None = 0.0,
        max_tokens: int | None = 1024,
        seed: int | None = None,
        json_mode: bool = False,
        prompt_dir: str | None = None,
    ) -> None:
        model = model or os.environ.get("FECBENCH_JUDGE_MODEL")
        if not model:
            raise ConfigError(
                "the openai judge needs a model: pass --judge-args model=NAME (for Azure: the deployment name) "
                "or set FECBENCH_JUDGE_MODEL"
            )
        super().__init__(
            model=str(model),
            max_retries=max_retries,
            backoff=backoff,
            backoff_max=backoff_max,
            timeout=timeout,
            max_concurrency=max_concurrency,
            temperature=temperature,
            max_tokens=max_tokens,
            prompt_dir=prompt_dir,
            max_unanswered=max_unanswered,
        )
        try:
            import aiohttp  # noqa: F401  (sends a scoring job's requests)
            import httpx2
            import openai
        except ImportError as exc:
            raise MissingDependencyError(
                f"the openai judge needs the openai client and aiohttp ({exc.name} is missing): {INSTALL_HINT}"
            ) from exc
        self._openai = openai
        self._httpx = httpx2
        self.seed = seed
        self.json_mode = bool(json_mode)
        if azure_endpoint:
            key = api_key or os.environ.get("AZURE_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY")
            version = api_version or os.environ.get("OPENAI_API_VERSION")
            if not key:
                raise ConfigError("the openai judge on Azure needs a key: api_key= or AZURE_OPENAI_API_KEY")
            if not version:
                raise ConfigError("the openai judge on Azure needs api_version= (or OPENAI_API_VERSION)")
            self.api = "azure"
            self.base_url = str(azure_endpoint)
            self._settings: dict[str, Any] = {
                "azure_endpoint": self.base_url,
                "api_version": str(version),
                "api_key": str(key),
            }
        else:
            self.api = "openai"
            self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
            key = api_key or os.environ.get("OPENAI_API_KEY")
            if not key and not self.base_url:
                raise ConfigError(
                    "the openai judge needs an API key for api.openai.com: set OPENAI_API_KEY or pass "
                    "--judge-args api_key=...; for a local server pass base_url=http://HOST:PORT/v1"
                )
            self._settings = {"api_key": str(key or LOCAL_PLACEHOLDER_KEY), "base_url": self.base_url}
        # Our retry loop owns retries; the client's would hide 429s and timeouts from it.
        self._settings.update(
            timeout=httpx2.Timeout(self.timeout, connect=min(CONNECT_TIMEOUT, self.timeout)), max_retries=0
        )
        self._client: Any = None  # made on first use: a scoring job only needs the sender
        self._sender: ChatSender | None = None

    def _limits(self, requests: int) -> Any:
        """Every request in flight keeps its connection (the client's default keeps 100)."""
        return self._httpx.Limits(max_connections=max(1000, requests), max_keepalive_connections=requests)

    @property
    def client(self) -> Any:
        """The blocking client (``complete``: direct use, ``solve``)."""
        if self._client is None:
            openai = self._openai
            factory = openai.AzureOpenAI if self.api == "azure" else openai.OpenAI
            http_client = openai.DefaultHttpx2Client(limits=self._limits(self.max_concurrency))
            self._client = factory(**self._settings, http_client=http_client)
        return self._client

    @property
    def endpoint(self) -> str:
        return str(self.base_url or "https://api.openai.com/v1")

    def describe(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "endpoint": self.endpoint,
            "timeout": self.timeout,
            "max_concurrency": self.max_concurrency,
            "seed": self.seed,
            "json_mode": self.json_mode,
            **super().describe(),
        }

    def complete(self, messages: Messages) -> str:
        openai = self._openai
        try:
            response = self.client.post("/chat/completions", body=self._request(messages), cast_to=self._httpx.Response)
            body = response.content
        except openai.APITimeoutError as exc:
            raise NoAnswer(f"no answer within {self.timeout:g} s") from exc
        except openai.APIConnectionError as exc:
            refused = _certificate_error(exc)
            if refused is not None:  # retrying cannot help
                raise ConfigError(untrusted_certificate(self.endpoint, refused)) from exc
            raise NoAnswer(f"cannot reach {self.endpoint}: {exc}") from exc
        except openai.APIStatusError as exc:
            raise self._status_error(exc.status_code, exc.response.headers, exc.response.content) from exc
        return self._content(response.status_code, body)

    async def start_requests(self) -> None:
        """The openai client prepares the request (URL, authentication); one aiohttp session sends them."""
        openai = self._openai
        factory = openai.AzureOpenAI if self.api == "azure" else openai.OpenAI
        prepared = prepare_chat_request(lambda http: factory(**self._settings, http_client=http), self.model)
        # the certificates the openai client trusts (the system's, or SSL_CERT_FILE / SSL_CERT_DIR); ~25 ms
        tls = self._httpx.create_ssl_context() if prepared.url.startswith("https://") else True
        connect = min(CONNECT_TIMEOUT, self.timeout)
        self._sender = ChatSender(
            prepared, endpoint=self.endpoint, timeout=self.timeout, connect_timeout=connect, ssl=tls
        )
        await self._sender.open()

    async def complete_async(self, messages: Messages) -> str:
        if self._sender is None:
            raise RuntimeError("OpenAIJudge.complete_async before start_requests()")
        answer = await self._sender.post(self._request(messages))  # NoAnswer when nothing came back
        if answer.status >= 400:
            raise self._status_error(answer.status, answer.headers, answer.body)
        return self._content(answer.status, answer.body)

    async def finish_requests(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            await sender.close()

    def _request(self, messages: Messages) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.temperature is not None:
            request["temperature"] = self.temperature
        if self.max_tokens is not None:
            request["max_tokens"] = self.max_tokens
        if self.seed is not None:
            request["seed"] = self.seed
        if self.json_mode:
            request["response_format"] = {"type": "json_object"}
        return request

    def _content(self, status: int, body: bytes) -> str:
        """The answer's text from a chat completion's JSON body; a body that is not one is a transient fault."""
        try:
            data = json.loads(body)
        except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
            shown = body[:MAX_BODY_SHOWN].decode("utf-8", "replace")
            raise TransientError(f"HTTP {status} from {self.endpoint} with a body that is not JSON: {shown!r}") from exc
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list):
            shown = json.dumps(data)[:MAX_BODY_SHOWN]
            raise TransientError(f"HTTP {status} from {self.endpoint} with JSON that is not a chat completion: {shown}")
        choice = choices[0] if choices and isinstance(choices[0], dict) else {}
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not content or not isinstance(content, str):
            raise AnswerError(f"the endpoint returned no text (finish_reason {choice.get('finish_reason')!r})")
        return content

    def _status_error(self, status: int, headers: Any, body: bytes) -> Exception:
        """Sort an HTTP error: retry it, fail the item, or stop with what the user must fix."""
        message = f"HTTP {status} from {self.endpoint}: {_error_message(body)}"
        if is_transient_status(status):
            return TransientError(message, retry_after=retry_after_seconds(headers))
        if status in (401, 403):
            return ConfigError(f"the judge endpoint refused the API key ({message}); check api_key / OPENAI_API_KEY")
        if status == 404:
            return ConfigError(f"{message}; check the judge's model={self.model!r} and base_url")
        return RequestRejected(message)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _certificate_error(exc: BaseException) -> BaseException | None:
    """The ``ssl.SSLCertVerificationError`` among the causes of a client's connection error, if any."""
    import ssl

    seen: BaseException | None = exc
    for _ in range(16):  # a chain of causes is short; this one cannot loop forever
        if seen is None or isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _error_message(body: bytes) -> str:
    """What an error response says: OpenAI's ``{"error": {"message": ...}}``, else the body's start."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"][:MAX_BODY_SHOWN]
    if isinstance(error, str):
        return error[:MAX_BODY_SHOWN]
    return body[:MAX_BODY_SHOWN].decode("utf-8", "replace").strip() or "(empty body)"
