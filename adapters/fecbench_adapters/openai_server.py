"""Chat-completions adapters through the official ``openai`` client: any OpenAI-compatible server.

``openai-server`` points fecbench at a server that takes video in chat requests (``vllm serve``,
SGLang, a hosted API), so a deployment of any size can be evaluated without loading a model here.
How a clip travels is chosen with ``video_mode``:

* ``mp4`` (default): one ``video_url`` content part holding a ``data:video/mp4;base64,...`` URL, the
  sampled frames encoded with PyAV at their own frame rate (so the clip keeps its duration). The
  server decodes it; vLLM takes every frame of it as long as its ``num_frames`` media setting is at
  least the run's ``--frames`` (its default is 32).
* ``jpeg-frames``: one ``video_url`` part holding ``data:video/jpeg;base64,<frame>,<frame>,...``,
  vLLM's way of taking a list of already-sampled frames as one video (vLLM only).
* ``images``: one ``image_url`` part per frame after a sentence giving their times, for servers
  and models that take images but not video.

The GPT-4o adapter (``api_models.py``) builds on :class:`OpenAIChatAdapter` here.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench.errors import ConfigError, MissingDependencyError
from fecbench_adapters.remote_chat import (
    RemoteChatAdapter,
    check_frames,
    encode_mp4,
    frames_note,
    http_transient,
    jpeg_base64,
    public_url,
    resolve_api_key,
)

API_INSTALL_HINT = "pip install 'fecbench[api]'"
VIDEO_MODES = ("mp4", "jpeg-frames", "images")


def import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:
        raise MissingDependencyError(f"the openai client is not installed: {API_INSTALL_HINT}") from exc
    return openai


def check_quality(adapter: str, jpeg_quality: Any) -> int:
    if isinstance(jpeg_quality, bool) or not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 100:
        raise ConfigError(f"--model-args: {adapter}: jpeg_quality={jpeg_quality!r} must be an integer from 1 to 100")
    return jpeg_quality


def image_part(frame_b64: str, detail: str | None) -> dict[str, Any]:
    image_url: dict[str, Any] = {"url": f"data:image/jpeg;base64,{frame_b64}"}
    if detail is not None:
        image_url["detail"] = detail
    return {"type": "image_url", "image_url": image_url}


def caption_of(response: Any) -> str:
    """The assistant's text of a chat completion; a refusal counts as the model's answer."""
    choices = getattr(response, "choices", None)
    if not choices:
        raise ValueError(f"the response holds no choices: {str(response)[:200]}")
    message = choices[0].message
    text = getattr(message, "content", None)
    if isinstance(text, str):
        return text.strip()
    refusal = getattr(message, "refusal", None)
    if isinstance(refusal, str) and refusal:
        return refusal.strip()
    raise ValueError(f"the response holds no text (finish_reason={getattr(choices[0], 'finish_reason', None)!r})")


class OpenAIChatAdapter(RemoteChatAdapter):
    """One chat-completions request per clip: the clip's content parts, then the prompt; greedy by default."""

    client_package: ClassVar[str] = "openai"

    def __init__(
        self,
        *,
        model: str,
        base_url: str,
        api_key: str | None,
        jpeg_quality: int,
        max_concurrency: int,
        max_retries: int,
        backoff: float,
        max_backoff: float,
        timeout: float,
    ) -> None:
        super().__init__(
            api_key=api_key,
            max_concurrency=max_concurrency,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            timeout=timeout,
        )
        self.jpeg_quality = check_quality(self.name, jpeg_quality)
        self.base_url = str(base_url)
        openai = import_openai()
        self._connection_errors = (openai.APIConnectionError,)
        # The client's own retries are off: RemoteChatAdapter's policy (with Retry-After) applies instead.
        self.client = openai.OpenAI(
            api_key=api_key or "EMPTY", base_url=self.base_url, max_retries=0, timeout=self.timeout
        )
        self.model = str(model) if model else self.served_model()

    def served_model(self) -> str:
        """The one model a server serves (``GET /models``), for a user who did not name it."""
        try:
            names = [m.id for m in self.client.models.list()]
        except Exception as exc:
            raise ConfigError(
                f"{self.name}: cannot list the models served at {public_url(self.base_url)} ({type(exc).__name__}: "
                f"{self._scrub(str(exc))}); pass --model-args model=NAME"
            ) from exc
        if len(names) != 1:
            raise ConfigError(
                f"{self.name}: {public_url(self.base_url)} serves {len(names)} models ({', '.join(names) or 'none'}); "
                "choose one with --model-args model=NAME"
            )
        return names[0]

    def content(self, request: VideoRequest) -> list[dict[str, Any]]:
        """The user turn's content parts for one clip (the prompt text comes last)."""
        raise NotImplementedError

    def ask(self, request: VideoRequest, config: GenerationConfig) -> str:
        response = self.client.chat.completions.create(
            model=self.model,
            messages=[{"role": "user", "content": self.content(request)}],
            temperature=config.temperature,
            max_tokens=config.max_new_tokens,
            seed=config.seed,
        )
        return caption_of(response)

    def transient(self, exc: BaseException) -> tuple[bool, float | None]:
        return http_transient(exc, self._connection_errors)

    def describe_request(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": public_url(self.base_url), "jpeg_quality": self.jpeg_quality}

    def close(self) -> None:
        self.client.close()


class OpenAIServerAdapter(OpenAIChatAdapter):
    """Any OpenAI-compatible chat server that accepts video (``vllm serve``, SGLang, hosted APIs).

    Model arguments (``--model-args``):

    * ``base_url``: the server's OpenAI API root (default ``http://localhost:8000/v1``, ``vllm serve``'s).
    * ``model``: the served model name; when not given, the server's only model (from ``GET /models``).
    * ``video_mode``: ``mp4`` (default), ``jpeg-frames`` (vLLM) or ``images`` (see the module doc).
    * ``api_key``: the server's key, else the environment variable named by ``api_key_env``, else
      ``EMPTY`` (what ``vllm serve`` without ``--api-key`` accepts). Never written to run.json.
    * ``image_detail``: ``detail`` of each image part in ``images`` mode (none by default).
    * ``jpeg_quality``: 1-100 for JPEG frames (default 90); ``crf``: H.264 quality of ``mp4`` (default 18).
    * ``max_concurrency``: requests in flight at once (default 16); the batch size bounds it too.
    * ``max_retries``, ``backoff``, ``max_backoff``, ``timeout``: retry policy and request timeout (s).
    """

    name = "openai-server"

    def __init__(
        self,
        base_url: str = "http://localhost:8000/v1",
        *,
        model: str | None = None,
        video_mode: str = "mp4",
        api_key: str | None = None,
        api_key_env: str | None = None,
        image_detail: str | None = None,
        jpeg_quality: int = 90,
        crf: int = 18,
        max_concurrency: int = 16,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        timeout: float = 300.0,
    ) -> None:
        if video_mode not in VIDEO_MODES:
            raise ConfigError(
                f"--model-args: {self.name}: video_mode={video_mode!r} is not one of {', '.join(VIDEO_MODES)}"
            )
        if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51:
            raise ConfigError(f"--model-args: {self.name}: crf={crf!r} must be an integer from 0 to 51")
        self.video_mode = video_mode
        self.image_detail = image_detail
        self.crf = crf
        super().__init__(
            model=model or "",
            base_url=base_url,
            api_key=resolve_api_key(self.name, api_key, api_key_env, required=False),
            jpeg_quality=jpeg_quality,
            max_concurrency=max_concurrency,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            timeout=timeout,
        )

    def content(self, request: VideoRequest) -> list[dict[str, Any]]:
        frames = check_frames(request)
        prompt = {"type": "text", "text": request.prompt}
        if self.video_mode == "images":
            parts = [image_part(jpeg_base64(f, self.jpeg_quality), self.image_detail) for f in frames]
            return [{"type": "text", "text": frames_note(request)}, *parts, prompt]
        if self.video_mode == "mp4":
            data = base64.b64encode(encode_mp4(frames, request.fps_sampled, crf=self.crf)).decode("ascii")
            url = f"data:video/mp4;base64,{data}"
        else:
            url = "data:video/jpeg;base64," + ",".join(jpeg_base64(f, self.jpeg_quality) for f in frames)
        return [{"type": "video_url", "video_url": {"url": url}}, prompt]

    def describe_request(self) -> dict[str, Any]:
        described = {**super().describe_request(), "video_mode": self.video_mode}
        if self.video_mode == "mp4":
            described["crf"] = self.crf
        if self.video_mode == "images":
            described["image_detail"] = self.image_detail
        return described
