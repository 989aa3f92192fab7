"""``fecbench judge check``: build the known-answer suite from annotations, put it to a judge, save the result.

The suite, the scoring of answers and the saved file live in :mod:`fecbench.judges.check`; this module
joins them with the annotations (FEC-Bench's own by default) and the judge loading of
:mod:`fecbench.scoring`, at the same layer as scoring.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from fecbench.data.fecbench_default import FEC_BENCH_SHA256
from fecbench.data.selection import resolve_annotations
from fecbench.errors import ConfigError
from fecbench.judges.check.run import run_check
from fecbench.judges.check.store import write_check
from fecbench.judges.check.suite import build_suite
from fecbench.scoring import DEFAULT_JUDGE, open_judge


def check_judge(
    judge: str = DEFAULT_JUDGE,
    judge_args: dict[str, Any] | None = None,
    *,
    annotations: str | Path | None = None,
    n: int = 200,
    seed: int = 0,
    cache: bool = True,
    concurrency: int | None = None,
    bootstrap: int = 1000,
) -> dict[str, Any]:
    """Put the known-answer suite (built from ``annotations``' reference captions, FEC-Bench's by default)
    to a judge; save the result beside the verdict cache, keyed by the judge's identity, and return it.

    ``n`` captions give up to five cases each (drop, flip, reorder, paraphrase, foreign); the result
    holds per-task accuracies and AutoDQ/TEM errors with intervals, and ``file``: where it was saved,
    which scoring with the same judge then cites in ``scores.json``. See docs/judges.md.
    """
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    if bootstrap < 0:
        raise ConfigError(f"--bootstrap must be 0 or more, got {bootstrap}")
    chosen = resolve_annotations(annotations)
    suite = build_suite({clip.id: clip.caption for clip in chosen}, n, seed)
    if not suite.cases:
        raise ConfigError(f"{chosen.path}: no caption has three single-event sentences to build the judge check from")
    suite = replace(
        suite,
        source={
            "annotations": chosen.path.name,
            "annotations_sha256": chosen.sha256,
            "fec_bench": chosen.sha256 == FEC_BENCH_SHA256,
        },
    )
    loaded, engine = open_judge(judge, judge_args, cache=cache, concurrency=concurrency)
    try:
        result = run_check(engine, suite, judge_name=judge, bootstrap=bootstrap, seed=seed)
    finally:
        loaded.close()
        if engine.cache is not None:
            engine.cache.close()
    result["file"] = str(write_check(result, engine.identity))
    return result
