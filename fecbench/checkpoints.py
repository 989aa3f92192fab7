"""Where a model's weights come from: a local folder, or the Hugging Face Hub, checked in seconds before any work.

transformers fetches a hub checkpoint file by file, and each request is retried with backoff: with
no network, a hub that refuses, or a typo in the name, a run used to spend minutes retrying before
it failed. :func:`resolve_checkpoint` answers first, with one request and no retries:

* a local folder (an existing directory, or a name that is a path: ``/``, ``./``, ``../``, ``~``)
  is used as it is; a path that does not exist is an error;
* with ``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE=1``) a hub id is looked up in the local
  Hugging Face cache only;
* otherwise one HEAD request for the checkpoint's ``config.json`` (timeout ``HF_HUB_ETAG_TIMEOUT``,
  10 s unless set) on ``HF_ENDPOINT`` tells whether the hub has it. A name or revision the hub does
  not have, or a gated repository, is an error naming it. When the hub cannot be reached, a cached
  copy is used (its folder is returned, so transformers does not go to the network again), else it
  is an error saying what to do.

Every hub-loading adapter calls it (the transformers adapters, ``facetrack-mm``, ``vllm``), and
``fecbench run`` calls it through :func:`fecbench.plugins.preflight` before the run folder is made.
huggingface_hub is imported only when a hub id is checked.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from fecbench.errors import ConfigError

log = logging.getLogger(__name__)

#: The file every transformers checkpoint has at its root.
PROBE_FILE = "config.json"

_checked: dict[tuple[str, str | None, str, bool], str] = {}
_checked_lock = threading.Lock()


class CheckpointError(ConfigError):
    """A checkpoint that cannot be used: missing folder, unknown hub id or revision, hub unreachable and not cached."""


def is_local_path(name: str) -> bool:
    """Whether ``name`` names a folder rather than a hub id (an existing directory, or written as a path)."""
    return name.startswith(("/", "./", "../", "~", ".\\", "..\\")) or os.path.isdir(os.path.expanduser(name))


def resolve_checkpoint(name: str, *, model: str, revision: str | None = None) -> str:
    """What to pass to ``from_pretrained``: the local folder, the hub id, or the cached copy's folder.

    ``model`` names the adapter in messages. Raises :class:`CheckpointError` with what to do.
    """
    name = str(name)
    if is_local_path(name):
        folder = os.path.expanduser(name)
        if not os.path.isdir(folder):
            raise CheckpointError(f"{model}: checkpoint directory {name!r} does not exist")
        return folder
    from huggingface_hub import constants

    key = (name, revision, constants.ENDPOINT, constants.HF_HUB_OFFLINE)
    with _checked_lock:
        if key in _checked:
            return _checked[key]
    source = _resolve_hub(name, model=model, revision=revision)
    with _checked_lock:
        _checked[key] = source
    return source


def _resolve_hub(name: str, *, model: str, revision: str | None) -> str:
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.utils import validate_repo_id

    at = f"{name}@{revision}" if revision else name
    local_hint = f"pass --model-args pretrained=/path/to/{name.rsplit('/', 1)[-1]} (a downloaded copy)"
    try:
        validate_repo_id(name)
    except HFValidationError as exc:
        raise CheckpointError(
            f"{model}: checkpoint {name!r} is neither an existing folder nor a Hugging Face hub id ({exc})"
        ) from exc
    cached = _cached_folder(name, revision)
    if constants.HF_HUB_OFFLINE:
        if cached is None:
            raise CheckpointError(
                f"{model}: checkpoint {at!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set; "
                f"download it where the hub is reachable (hf download {name}) or {local_hint}"
            )
        return name  # transformers reads the cache itself in offline mode
    endpoint = constants.ENDPOINT
    try:
        get_hf_file_metadata(hf_hub_url(name, PROBE_FILE, revision=revision), timeout=constants.HF_HUB_ETAG_TIMEOUT)
    except GatedRepoError as exc:
        raise CheckpointError(
            f"{model}: checkpoint {name!r} is gated on {endpoint}: accept its terms on its page, then log in "
            f"(hf auth login, or HF_TOKEN=...), or {local_hint}"
        ) from exc
    except RepositoryNotFoundError as exc:
        raise CheckpointError(
            f"{model}: checkpoint {name!r} was not found on {endpoint}: check the exact hub id (a private "
            f"repository needs hf auth login), or {local_hint}"
        ) from exc
    except RevisionNotFoundError as exc:
        raise CheckpointError(
            f"{model}: revision {revision!r} of checkpoint {name!r} was not found on {endpoint}"
        ) from exc
    except RemoteEntryNotFoundError as exc:
        raise CheckpointError(
            f"{model}: {endpoint} has {name!r} but no {PROBE_FILE} in it, so it is not a transformers checkpoint"
        ) from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status is not None and 400 <= status < 500 and status != 429:
            refused = "was not found" if status == 404 else f"was refused (HTTP {status})"
            raise CheckpointError(
                f"{model}: checkpoint {at!r} {refused} on {endpoint}: check the exact hub id (a private or gated "
                f"repository needs hf auth login or HF_TOKEN), or {local_hint}"
            ) from exc
        return _unreachable(model, at, endpoint, cached, exc, local_hint)
    except _transport_errors() as exc:
        return _unreachable(model, at, endpoint, cached, exc, local_hint)
    return name


def _unreachable(model: str, at: str, endpoint: str, cached: str | None, exc: Exception, local_hint: str) -> str:
    """The cached copy when the hub cannot answer, else the error saying what to do."""
    if cached is not None:
        log.warning("%s: the hub at %s cannot be reached (%s); using the cached copy of %s", model, endpoint, exc, at)
        return cached
    raise CheckpointError(
        f"{model}: cannot fetch checkpoint {at!r}: the Hugging Face hub at {endpoint} cannot be reached "
        f"({_reason(exc)}) and the checkpoint is not in the local cache; {local_hint}, or set HF_HUB_OFFLINE=1 "
        "to use only the local cache (HF_ENDPOINT names a mirror)"
    ) from exc


def _cached_folder(name: str, revision: str | None) -> str | None:
    """The cached snapshot folder of ``name`` when its ``config.json`` is in the local cache, else None."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(name, PROBE_FILE, revision=revision)
    return str(Path(found).parent) if isinstance(found, str) else None


def _transport_errors() -> tuple[type[Exception], ...]:
    """OSError and the HTTP clients' transport errors: the hub could not be reached."""
    return (OSError, *_http_errors())


def _http_errors() -> tuple[type[Exception], ...]:
    """The transport errors (connection, timeout) of the HTTP clients huggingface_hub may use."""
    import importlib

    found = []
    for module_name in ("httpx2", "httpx", "requests"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        error = getattr(module, "TransportError", None) or getattr(module, "RequestException", None)
        if isinstance(error, type) and issubclass(error, Exception):
            found.append(error)
    return tuple(found)


def _reason(exc: BaseException) -> str:
    """The first line of an exception's message, or its type."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
