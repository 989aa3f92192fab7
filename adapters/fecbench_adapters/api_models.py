"""The API models of the paper's table: GPT-4o and Claude 3.5 Sonnet, through their official clients.

Neither API takes video, so each clip is sent the way the vendors document for video: its sampled
frames as JPEG images, in order, after a sentence that says they are frames of one video and gives
their times, followed by the benchmark's prompt. Decoding is greedy (temperature 0) unless the run
says otherwise, and ``--max-new-tokens`` is the request's ``max_tokens``. Frame size is the run's
``--max-side`` (448 px by default); the frames are not resized again here.

Default snapshots: the paper names neither. ``gpt-4o-2024-08-06`` is the snapshot the ``gpt-4o``
alias pointed to from October 2024, the period of the paper's experiments (first posted January
2025); ``claude-3-5-sonnet-20240620`` is the first Claude 3.5 Sonnet. Pass ``model=...`` for another.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench.errors import ConfigError, MissingDependencyError
from fecbench_adapters.openai_server import API_INSTALL_HINT, OpenAIChatAdapter, check_quality, image_part
from fecbench_adapters.remote_chat import (
    RemoteChatAdapter,
    check_frames,
    frames_note,
    http_transient,
    jpeg_base64,
    public_url,
    resolve_api_key,
)

GPT4O_SNAPSHOT = "gpt-4o-2024-08-06"
CLAUDE_SNAPSHOT = "claude-3-5-sonnet-20240620"
OPENAI_DETAILS = ("auto", "low", "high")
#: The Messages API refuses a request with more images than this.
CLAUDE_MAX_IMAGES = 100


class GPT4oAdapter(OpenAIChatAdapter):
    """GPT-4o through the official ``openai`` client (chat completions, frames as images).

    Model arguments (``--model-args``):

    * ``model``: the model or snapshot (default ``gpt-4o-2024-08-06``).
    * ``api_key``: else the environment variable named by ``api_key_env`` (default ``OPENAI_API_KEY``).
      Never written to run.json.
    * ``base_url``: API root (default ``https://api.openai.com/v1``); point it at a proxy or a test server.
    * ``detail``: image detail, ``auto`` (default, the API's own), ``low`` or ``high``.
    * ``jpeg_quality``: 1-100 (default 90).
    * ``max_concurrency``: requests in flight at once (default 8); the batch size bounds it too.
    * ``max_retries`` (5), ``backoff`` (1 s, doubled per try), ``max_backoff`` (60 s), ``timeout`` (120 s).
    """

    name = "gpt-4o"

    def __init__(
        self,
        model: str = GPT4O_SNAPSHOT,
        *,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        base_url: str = "https://api.openai.com/v1",
        detail: str = "auto",
        jpeg_quality: int = 90,
        max_concurrency: int = 8,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        timeout: float = 120.0,
    ) -> None:
        if detail not in OPENAI_DETAILS:
            raise ConfigError(f"--model-args: {self.name}: detail={detail!r} is not one of {', '.join(OPENAI_DETAILS)}")
        if not model:
            raise ConfigError(f"--model-args: {self.name}: model must name a model, e.g. {GPT4O_SNAPSHOT}")
        self.detail = detail
        super().__init__(
            model=model,
            base_url=base_url,
            api_key=resolve_api_key(self.name, api_key, api_key_env, required=True),
            jpeg_quality=jpeg_quality,
            max_concurrency=max_concurrency,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            timeout=timeout,
        )

    def content(self, request: VideoRequest) -> list[dict[str, Any]]:
        frames = check_frames(request)
        images = [image_part(jpeg_base64(f, self.jpeg_quality), self.detail) for f in frames]
        return [{"type": "text", "text": frames_note(request)}, *images, {"type": "text", "text": request.prompt}]

    def describe_request(self) -> dict[str, Any]:
        return {**super().describe_request(), "detail": self.detail, "frames_as": "images"}


class ClaudeAdapter(RemoteChatAdapter):
    """Claude through the official ``anthropic`` client (Messages API, frames as base64 JPEG images).

    Model arguments (``--model-args``):

    * ``model``: the model or snapshot (default ``claude-3-5-sonnet-20240620``).
    * ``api_key``: else the environment variable named by ``api_key_env`` (default ``ANTHROPIC_API_KEY``).
      Never written to run.json.
    * ``base_url``: API root (default ``https://api.anthropic.com``).
    * ``jpeg_quality``: 1-100 (default 90).
    * ``send_temperature``: send the run's temperature (0: greedy) with each request (default true).
      Claude 3.5 takes it; the ``anthropic`` client no longer types it, and a newer model that
      refuses sampling settings needs ``send_temperature=false``.
    * ``max_concurrency``: requests in flight at once (default 8); the batch size bounds it too.
    * ``max_retries`` (5), ``backoff`` (1 s, doubled per try), ``max_backoff`` (60 s), ``timeout`` (120 s).
    """

    name = "claude-3.5-sonnet"
    client_package: ClassVar[str] = "anthropic"

    def __init__(
        self,
        model: str = CLAUDE_SNAPSHOT,
        *,
        api_key: str | None = None,
        api_key_env: str = "ANTHROPIC_API_KEY",
        base_url: str = "https://api.anthropic.com",
        jpeg_quality: int = 90,
        send_temperature: bool = True,
        max_concurrency: int = 8,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        timeout: float = 120.0,
    ) -> None:
        if not model:
            raise ConfigError(f"--model-args: {self.name}: model must name a model, e.g. {CLAUDE_SNAPSHOT}")
        if not isinstance(send_temperature, bool):
            raise ConfigError(f"--model-args: {self.name}: send_temperature={send_temperature!r} must be true or false")
        self.send_temperature = send_temperature
        key = resolve_api_key(self.name, api_key, api_key_env, required=True)
        super().__init__(
            api_key=key,
            max_concurrency=max_concurrency,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            timeout=timeout,
        )
        self.model = str(model)
        self.base_url = str(base_url)
        self.jpeg_quality = check_quality(self.name, jpeg_quality)
        try:
            import anthropic
        except ImportError as exc:
            raise MissingDependencyError(f"the anthropic client is not installed: {API_INSTALL_HINT}") from exc
        self._connection_errors = (anthropic.APIConnectionError,)
        # The client's own retries are off: RemoteChatAdapter's policy (with Retry-After) applies instead.
        self.client = anthropic.Anthropic(api_key=key, base_url=self.base_url, max_retries=0, timeout=self.timeout)

    def content(self, request: VideoRequest) -> list[dict[str, Any]]:
        frames = check_frames(request)
        if len(frames) > CLAUDE_MAX_IMAGES:
            raise ValueError(
                f"clip {request.clip_id!r}: {len(frames)} frames, but the Messages API takes at most "
                f"{CLAUDE_MAX_IMAGES} images per request; use --frames {CLAUDE_MAX_IMAGES} or fewer"
            )
        images = [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/jpeg", "data": jpeg_base64(f, self.jpeg_quality)},
            }
            for f in frames
        ]
        return [{"type": "text", "text": frames_note(request)}, *images, {"type": "text", "text": request.prompt}]

    def ask(self, request: VideoRequest, config: GenerationConfig) -> str:
        # Recent anthropic clients (1.17, 2.14) have no ``temperature`` parameter (newer models take no
        # sampling settings); Claude 3.5 takes it, so it travels as an extra body field unless send_temperature=false.
        extra = {"temperature": config.temperature} if self.send_temperature else None
        response = self.client.messages.create(
            model=self.model,
            max_tokens=config.max_new_tokens,
            messages=[{"role": "user", "content": self.content(request)}],
            extra_body=extra,
        )
        texts = [
            block.text for block in getattr(response, "content", None) or [] if getattr(block, "type", "") == "text"
        ]
        if not texts:
            raise ValueError(f"the response holds no text (stop_reason={getattr(response, 'stop_reason', None)!r})")
        return "".join(texts).strip()

    def transient(self, exc: BaseException) -> tuple[bool, float | None]:
        return http_transient(exc, self._connection_errors)

    def describe_request(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "base_url": public_url(self.base_url),
            "jpeg_quality": self.jpeg_quality,
            "frames_as": "images",
            "send_temperature": self.send_temperature,
        }

    def close(self) -> None:
        self.client.close()
