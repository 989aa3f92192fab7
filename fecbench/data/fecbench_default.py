"""FEC-Bench's own annotations, used when the user passes no ``--annotations``.

``test.json`` is public (Hugging Face dataset ``StarJiaxing/DFEC``). We keep one verified copy in
the cache; without network we say exactly what to pass instead, rather than failing obscurely.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from fecbench.errors import ConfigError
from fecbench.paths import cache_dir, sha256_file

FEC_BENCH_SHA256 = "7e68b7e652bb6a7c85bc6d03a9df69ce446bfeef181ada18f15a7e39712e4122"
HF_DATASET = "StarJiaxing/DFEC"
HF_FILE = "test.json"
DOWNLOAD_TIMEOUT_S = 30.0


def cached_path() -> Path:
    return cache_dir() / "annotations" / "fec-bench-test.json"


def download_url() -> str:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    return f"{endpoint}/datasets/{HF_DATASET}/resolve/main/{HF_FILE}"


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("FECBENCH_OFFLINE", "HF_HUB_OFFLINE"))


def default_annotations() -> Path:
    """Path to a verified copy of FEC-Bench's test.json, downloading it once if needed."""
    target = cached_path()
    if target.is_file() and sha256_file(target) == FEC_BENCH_SHA256:
        return target
    what_to_do = (
        f"pass --annotations /path/to/test.json (file {HF_FILE} of the Hugging Face dataset {HF_DATASET}, "
        f"sha256 {FEC_BENCH_SHA256}), or place that file at {target}"
    )
    if _offline():
        raise ConfigError(f"no cached FEC-Bench annotations and offline mode is set; {what_to_do}")
    url = download_url()
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ConfigError(f"could not download FEC-Bench annotations from {url} ({exc}); {what_to_do}") from exc
    actual = hashlib.sha256(payload).hexdigest()
    if actual != FEC_BENCH_SHA256:
        raise ConfigError(
            f"downloaded {url} but its sha256 is {actual}, not FEC-Bench's {FEC_BENCH_SHA256}; {what_to_do}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(payload)
    os.replace(partial, target)
    return target
