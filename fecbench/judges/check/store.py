"""Where a judge's check result is kept, and the short form that scores and records carry.

One JSON file per judge identity (backend, model, prompt version, prompt hash) beside the verdict
cache: ``<cache dir>/judge-checks/<sha256 of the identity key>.json``. A later check of the same
judge replaces it; a changed prompt or rule set is another identity, so its old check never
vouches for it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from fecbench.judges.base import JudgeIdentity
from fecbench.paths import cache_dir

CHECKS_DIR = "judge-checks"


def check_path(identity: JudgeIdentity, root: str | Path | None = None) -> Path:
    """The check file of one judge identity."""
    digest = hashlib.sha256(identity.key.encode("utf-8")).hexdigest()
    return Path(root if root is not None else cache_dir() / CHECKS_DIR) / f"{digest}.json"


def write_check(result: dict[str, Any], identity: JudgeIdentity, root: str | Path | None = None) -> Path:
    """Save a check result (atomically: a reader never sees half a file); returns its path."""
    path = check_path(identity, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def read_check(identity: JudgeIdentity, root: str | Path | None = None) -> dict[str, Any] | None:
    """The saved check of this exact judge identity, or None (none saved, unreadable, or another judge's)."""
    path = check_path(identity, root)
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    judge = result.get("judge") if isinstance(result, dict) else None
    if not isinstance(judge, dict) or {k: judge.get(k) for k in identity.as_dict()} != identity.as_dict():
        return None
    return result


def check_summary(result: dict[str, Any], path: Path | None = None) -> dict[str, Any]:
    """What ``scores.json`` and a leaderboard record say about the judge's check: accuracies and errors."""
    return {
        "check_version": result["check_version"],
        "checked_at": result["checked_at"],
        "suite": {
            key: result["suite"].get(key) for key in ("annotations_sha256", "fec_bench", "captions", "cases", "seed")
        },
        "accuracy": {task: entry["accuracy"] for task, entry in result["tasks"].items()},
        "accuracy_ci95": {task: entry["ci95"] for task, entry in result["tasks"].items()},
        "error": {name: entry["error"] for name, entry in result["metrics"].items()},
        "error_ci95": {name: entry["ci95"] for name, entry in result["metrics"].items()},
        "file": str(path) if path is not None else None,
    }


def saved_check_summary(identity: JudgeIdentity) -> dict[str, Any] | None:
    """The summary of this judge identity's saved check, or None when it was never checked."""
    result = read_check(identity)
    return None if result is None else check_summary(result, check_path(identity))
