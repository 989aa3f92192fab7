"""The fixed files of a run folder besides the store: ``run.json`` and ``predictions.jsonl``.

One folder of fixed files per run (HELM's habit): "complete" means all files are there, and
anything downstream (scoring, leaderboards, other harnesses) reads files, never the live runner.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fecbench import jsontext
from fecbench.data.roots import REFUSED
from fecbench.errors import ConfigError
from fecbench.runner.spec import RunSpec, VisualTokens
from fecbench.runner.store import ClipResult

RUN_JSON = "run.json"
PREDICTIONS = "predictions.jsonl"
SCORES = "scores.json"
CLIP_SCORES = "clip_scores.jsonl"

_UMASK = os.umask(0o022)
os.umask(_UMASK)


@dataclass
class RunResult:
    """What a finished ``run`` call reports: where, how many clips succeeded and failed, and the scores."""

    run_dir: Path
    n_clips: int
    n_ok: int
    n_failed: int
    n_run_now: int
    failures: dict[str, int] = field(default_factory=dict)
    scores: dict[str, Any] | None = None


def _write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file and a rename, so a kill never leaves a half-written file behind.

    The temporary file has a name of its own (in the same folder, so the rename stays on one file
    system): two writers never rename each other's file away.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_UMASK)  # as a plain write would create it (mkstemp makes it private)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    _write_atomically(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    _write_atomically(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def write_spec(run_dir: Path, spec: RunSpec) -> None:
    write_json(run_dir / RUN_JSON, json.loads(spec.model_dump_json()))


def read_spec(run_dir: Path) -> RunSpec:
    path = run_dir / RUN_JSON
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not a run folder (no {RUN_JSON})")
    try:
        return RunSpec.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path}: not a valid run spec: {spec_problem(exc)}") from exc


def spec_problem(exc: ValueError) -> str:
    """A run spec's validation error on one line: the first problems, each with its field."""
    if isinstance(exc, ValidationError):
        problems = [
            f"{'.'.join(map(str, e['loc'])) or '(file)'}: {e['msg']}".replace("\n", " ") for e in exc.errors()[:3]
        ]
        more = exc.error_count() - len(problems)
        return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
    return " ".join(str(exc).split())


def write_predictions(run_dir: Path, results: list[ClipResult]) -> Path:
    path = run_dir / PREDICTIONS
    fields = ("id", "video", "source", "prediction", "status", "error", "reference")
    write_jsonl(path, ({name: getattr(r, name) for name in fields} for r in results))
    return path


def read_predictions(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / PREDICTIONS
    if not path.is_file():
        raise ConfigError(f"{run_dir}: no {PREDICTIONS}; run the model first")
    records = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(jsontext.loads(line))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: line {lineno} is not valid JSON ({exc.msg})") from exc
    return records


def failure_kind(error: str) -> str:
    """Group failure messages by cause, dropping paths and details (for summaries)."""
    if error.startswith("video error: video not found"):
        return "video not found"
    if error.startswith(f"video error: {REFUSED}"):
        return REFUSED
    if error.startswith("video error: "):
        reason = error.removeprefix("video error: ").split(": ", 1)[-1]
        return "video: " + re.split(r" \(", reason, maxsplit=1)[0]
    if error.startswith("model error: "):
        return "model error: " + error.removeprefix("model error: ").split(":", 1)[0]
    return error.split(":", 1)[0]


def failure_summary(errors: list[str]) -> dict[str, int]:
    return dict(Counter(failure_kind(e) for e in errors).most_common())


def visual_token_summary(results: Iterable[ClipResult]) -> VisualTokens | None:
    """Mean and max visual tokens per clip over the finished clips that report a count; None if none does."""
    counts = [r.visual_tokens for r in results if r.status == "ok" and r.visual_tokens is not None]
    if not counts:
        return None
    return VisualTokens(mean=round(sum(counts) / len(counts), 2), max=max(counts), clips=len(counts))
