"""What every adapter that calls a remote chat API shares: frame encoding, keys, retries, concurrency.

The clips of one batch are sent at once, at most ``max_concurrency`` requests in flight, so a run's
``--batch-size`` is the number of clips in the air. A request that fails for a transient reason (429,
408, 409, any 5xx, a timeout, a dropped connection) is retried with exponential backoff, waiting what
the server's ``Retry-After`` asks for when it sends one (up to 10 minutes); after the last try the clip's request
raises, and the runner records that clip as failed while the batch's other clips keep their
answers (see :class:`RemoteChatAdapter`). The API clients' own retries are switched off so that
this one policy applies, the same for every provider.

Nothing here imports an API client: the subclasses import theirs when constructed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from fecbench.adapter import Adapter, GenerationConfig, VideoRequest, check_frames
from fecbench.errors import ConfigError
from fecbench.http_retry import is_transient_status, retry_after_seconds

T = TypeVar("T")

#: The longest ``Retry-After`` obeyed as asked; a longer one is cut to this.
MAX_RETRY_AFTER = 600.0


class RemoteRequestError(RuntimeError):
    """A clip's request failed for good (after its retries, or at once for a non-transient error)."""


# -- frames ---------------------------------------------------------------------------------------


def encode_jpeg(frame: np.ndarray, quality: int) -> bytes:
    """One RGB frame as JPEG bytes (4:4:4, no chroma subsampling: faces are small and colour edges matter)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame, mode="RGB").save(buffer, format="JPEG", quality=quality, subsampling=0)
    return buffer.getvalue()


def jpeg_base64(frame: np.ndarray, quality: int) -> str:
    return base64.b64encode(encode_jpeg(frame, quality)).decode("ascii")


def encode_mp4(frames: np.ndarray, fps: float, *, crf: int = 18) -> bytes:
    """The frames as an H.264 mp4 at ``fps`` (the sampled frames' rate, so durations stay true).

    Odd widths or heights are padded by repeating the last column or row: yuv420p, which every
    decoder reads, needs even sides.
    """
    import av

    height, width = frames.shape[1:3]
    pad = ((0, 0), (0, height % 2), (0, width % 2), (0, 0))
    if any(p[1] for p in pad):
        frames = np.pad(frames, pad, mode="edge")
    rate = Fraction(fps).limit_denominator(1000)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf)}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def frames_note(request: VideoRequest) -> str:
    """The sentence sent before the frames, so that a model given images knows they are one clip, in order."""
    count = int(request.frames.shape[0])
    times = request.timestamps
    if len(times) == count and count > 1:
        when = ", ".join(f"{t:.2f}" for t in times)
        return f"The following {count} images are frames of one video, in order, taken at {when} seconds."
    if count == 1:
        return "The following image is a frame of a video."
    return f"The following {count} images are frames of one video, in order."


# -- keys and addresses ---------------------------------------------------------------------------


def resolve_api_key(adapter: str, api_key: str | None, api_key_env: str | None, *, required: bool) -> str | None:
    """The key from ``api_key``, else from the environment variable ``api_key_env``."""
    if api_key:
        return str(api_key)
    if api_key_env:
        value = os.environ.get(api_key_env)
        if value:
            return value
    if required:
        where = f"set {api_key_env} or " if api_key_env else ""
        raise ConfigError(
            f"{adapter}: no API key: {where}pass --model-args api_key=... (it is never written to run.json)"
        )
    return None


def public_url(url: str | None) -> str | None:
    """``url`` without any user:password part, fit to be recorded."""
    if not url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


# -- retries --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: try ``max_retries + 1`` times, waiting ``backoff * 2**n`` (jittered, at most
    ``max_backoff``) in between, or what the server's ``Retry-After`` asks for when it sends one."""

    max_retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed try number ``attempt`` (0-based); a server's ``Retry-After`` wins."""
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        ceiling = min(self.max_backoff, self.backoff * (2**attempt))
        return ceiling * (0.5 + random.random() / 2)  # jitter: concurrent clients do not retry in lockstep

    def call(
        self,
        send: Callable[[], T],
        transient: Callable[[BaseException], tuple[bool, float | None]],
        *,
        describe: Callable[[BaseException], str] = str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> T:
        """``send()`` until it succeeds, a non-transient error, or the tries run out (then raise)."""
        for attempt in range(self.max_retries + 1):
            try:
                return send()
            except Exception as exc:
                retry, retry_after = transient(exc)
                if not retry:
                    raise RemoteRequestError(describe(exc)) from exc
                if attempt == self.max_retries:
                    tries = self.max_retries + 1
                    raise RemoteRequestError(f"gave up after {tries} tries: {describe(exc)}") from exc
                sleep(self.wait(attempt, retry_after))
        raise AssertionError("unreachable")


def http_transient(exc: BaseException, connection_errors: tuple[type[BaseException], ...]) -> tuple[bool, float | None]:
    """Whether an API client's exception is worth retrying, and the wait its response asked for."""
    if isinstance(exc, connection_errors):  # timeouts and dropped connections
        return True, None
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and is_transient_status(status):
        response = getattr(exc, "response", None)
        return True, retry_after_seconds(getattr(response, "headers", None))
    return False, None


# -- the adapter base -----------------------------------------------------------------------------


def _check_positive(adapter: str, name: str, value: Any, *, integer: bool, minimum: float) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value < minimum:
        what = "an integer" if integer else "a number"
        raise ConfigError(f"--model-args: {adapter}: {name}={value!r} must be {what} of at least {minimum}")


class RemoteChatAdapter(Adapter):
    """Base of the adapters that send each clip as one chat request to a remote service.

    Subclasses implement :meth:`ask` (one clip, one request, one caption) and :meth:`transient`.
    :meth:`generate` runs a batch's requests concurrently with retries. When one clip of a batch
    fails for good, ``generate`` raises (the adapter contract), and the runner then asks again for
    each clip alone; the outcomes of that batch are kept until then, so the clips that succeeded
    are not sent (nor paid for) twice and the failed one is not retried a second round.
    """

    #: Name of the API client package, recorded with its version.
    client_package: ClassVar[str] = ""

    def __init__(
        self,
        *,
        api_key: str | None,
        max_concurrency: int,
        max_retries: int,
        backoff: float,
        max_backoff: float,
        timeout: float,
    ) -> None:
        _check_positive(self.name, "max_concurrency", max_concurrency, integer=True, minimum=1)
        _check_positive(self.name, "max_retries", max_retries, integer=True, minimum=0)
        _check_positive(self.name, "backoff", backoff, integer=False, minimum=0)
        _check_positive(self.name, "max_backoff", max_backoff, integer=False, minimum=0)
        _check_positive(self.name, "timeout", timeout, integer=False, minimum=0.001)
        self.max_concurrency = max_concurrency
        self.retry = RetryPolicy(max_retries=max_retries, backoff=float(backoff), max_backoff=float(max_backoff))
        self.timeout = float(timeout)
        self._secret = api_key
        self._outcomes: dict[str, str | BaseException] = {}

    # -- for subclasses -------------------------------------------------------------------------------

    def ask(self, request: VideoRequest, config: GenerationConfig) -> str:
        """Send one clip and return the caption; raise on any failure (retries happen around this)."""
        raise NotImplementedError

    def transient(self, exc: BaseException) -> tuple[bool, float | None]:
        """Whether ``exc`` is worth another try, and how long the server asked to wait."""
        return False, None

    def describe_request(self) -> dict[str, Any]:
        """Request settings worth recording (image detail, video mode...)."""
        return {}

    # -- the adapter interface ------------------------------------------------------------------------

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        if not requests:
            return []
        if len(requests) > 1:
            self._outcomes.clear()  # outcomes of an earlier failed batch have all been consumed by now
        keys = [self._key(r, config) for r in requests]
        pending = [(k, r) for k, r in zip(keys, requests, strict=True) if k not in self._outcomes]
        if pending:
            workers = min(self.max_concurrency, len(pending))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"fecbench-{self.name}") as pool:
                for key, outcome in zip(
                    [k for k, _ in pending], pool.map(lambda kr: self._attempt(kr[1], config), pending), strict=True
                ):
                    self._outcomes[key] = outcome
        outcomes = [self._outcomes[k] for k in keys]
        failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failed is not None:
            if len(requests) == 1:
                self._outcomes.pop(keys[0], None)
            raise failed
        for key in keys:
            self._outcomes.pop(key, None)
        return [str(o) for o in outcomes]

    def describe(self) -> dict[str, Any]:
        from importlib import metadata

        try:
            client = f"{self.client_package} {metadata.version(self.client_package)}"
        except metadata.PackageNotFoundError:
            client = self.client_package
        return {
            **self.describe_request(),
            "client": client,
            "max_concurrency": self.max_concurrency,
            "retries": {
                "max_retries": self.retry.max_retries,
                "backoff_s": self.retry.backoff,
                "max_backoff_s": self.retry.max_backoff,
            },
            "timeout_s": self.timeout,
        }

    # -- internals ------------------------------------------------------------------------------------

    def _attempt(self, request: VideoRequest, config: GenerationConfig) -> str | BaseException:
        """One clip through the retry policy; its final failure is returned, to be raised by ``generate``."""
        try:
            check_frames(request)
            return self.retry.call(lambda: self.ask(request, config), self.transient, describe=self._describe_error)
        except Exception as exc:
            return RemoteRequestError(self._scrub(str(exc))) if not isinstance(exc, RemoteRequestError) else exc

    def _describe_error(self, exc: BaseException) -> str:
        return self._scrub(f"{type(exc).__name__}: {exc}")

    def _scrub(self, text: str) -> str:
        """Never let a key reach an error message (and so the run store)."""
        return text.replace(self._secret, "<api key>") if self._secret else text

    @staticmethod
    def _key(request: VideoRequest, config: GenerationConfig) -> str:
        digest = hashlib.blake2b(digest_size=16)
        frames = request.frames
        if isinstance(frames, np.ndarray):
            digest.update(repr((frames.shape, str(frames.dtype))).encode())
            digest.update(np.ascontiguousarray(frames).data)
        digest.update(repr((request.clip_id, request.prompt, list(request.timestamps), config)).encode())
        return digest.hexdigest()
