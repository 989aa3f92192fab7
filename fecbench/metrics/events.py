"""The judge-based metrics defined in docs/metrics.md: AutoDQ, TEM (``tem-v1``) and the Video-ChatGPT scores.

These functions only do arithmetic on judge verdicts (event lists, relation labels, alignments,
ratings); asking the judge is :mod:`fecbench.scoring`'s job. Per clip, every function returns the
numbers *and* what explains them, so a caption's score can be read off its verdicts.

AutoDQ (``autodq-v1``): recall = share of reference events labelled entailment against the whole
prediction, precision = share of predicted events labelled entailment against the whole reference; an
empty event list scores 1.0 for its side. Corpus AutoDQ = F1 of the mean recall and mean precision over
the clips scored (0 when both means are 0).

TEM (``tem-v1``): the judge aligns each predicted event p_j to a reference event r_k (or none) with a
relation; B lists k for the entailed matches in predicted order, and L is the length of the longest
strictly increasing subsequence of B (a reference event matched twice counts once, matches told out
of order do not all count). recall = L / |E_R|, precision = L / |E_P| (empty list: 1.0); corpus TEM is
F1 of the means, as AutoDQ.

When several increasing subsequences are longest, the one kept (``matched``) is the one whose predicted
events come earliest (lexicographically smallest j's); L does not depend on that choice.

Video-ChatGPT (``vcgpt-v1``): four integer ratings 0..5 per clip (correctness, detail, context,
temporal); each is reported as its mean over clips.

Intervals are 95% percentile bootstraps over clips that recompute the corpus formula (F1 of the
resampled means), with :func:`fecbench.metrics.bootstrap.bootstrap_interval`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from fecbench.metrics.bootstrap import bootstrap_interval

__all__ = [
    "AUTODQ_VERSION",
    "TEM_VERSION",
    "VCGPT_DIMENSIONS",
    "VCGPT_VERSION",
    "autodq_clip",
    "corpus_f",
    "event_metric_entry",
    "f_measure",
    "longest_increasing_matches",
    "side_score",
    "tem_clip",
    "unsupported_entry",
    "vcgpt_entries",
]

AUTODQ_VERSION = "autodq-v1"
TEM_VERSION = "tem-v1"
VCGPT_VERSION = "vcgpt-v1"
VCGPT_DIMENSIONS: tuple[str, ...] = ("correctness", "detail", "context", "temporal")
ENTAILMENT = "entailment"
CONTRADICTION = "contradiction"


def side_score(hits: int, total: int) -> float:
    """``hits / total``, and 1.0 for an empty event list (nothing to recall, nothing wrong said)."""
    return 1.0 if total == 0 else hits / total


def f_measure(recall: float, precision: float) -> float:
    """Harmonic mean of two corpus means; 0 when both are 0."""
    total = recall + precision
    return 0.0 if total == 0 else 2.0 * recall * precision / total


def corpus_f(recalls: Sequence[float] | np.ndarray, precisions: Sequence[float] | np.ndarray) -> float:
    """The corpus formula of AutoDQ and TEM: F1 of the mean per-clip recall and mean per-clip precision."""
    r, p = np.asarray(recalls, dtype=float), np.asarray(precisions, dtype=float)
    if len(r) == 0 or len(r) != len(p):
        raise ValueError(f"need equally many recalls and precisions, at least one (got {len(r)} and {len(p)})")
    return f_measure(float(r.mean()), float(p.mean()))


def autodq_clip(reference_labels: Sequence[str], prediction_labels: Sequence[str]) -> dict[str, Any]:
    """AutoDQ of one clip from the relation labels of its reference events and of its predicted events."""
    return {
        "reference_labels": list(reference_labels),
        "prediction_labels": list(prediction_labels),
        "recall": side_score(sum(label == ENTAILMENT for label in reference_labels), len(reference_labels)),
        "precision": side_score(sum(label == ENTAILMENT for label in prediction_labels), len(prediction_labels)),
    }


def longest_increasing_matches(matches: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest run of ``(j, k)`` pairs, taken in the given order, whose ``k`` strictly increase.

    ``matches`` are (predicted index, reference index) pairs in predicted order, i.e. B with its
    positions. Among longest runs, the one with the earliest predicted events is returned.
    """
    n = len(matches)
    # longest[i]: length of the longest strictly increasing run that starts at matches[i]
    longest = [1] * n
    for i in range(n - 1, -1, -1):
        for later in range(i + 1, n):
            if matches[later][1] > matches[i][1]:
                longest[i] = max(longest[i], longest[later] + 1)
    chosen: list[tuple[int, int]] = []
    need, last_k, start = max(longest, default=0), 0, 0
    while need:
        i = next(i for i in range(start, n) if longest[i] == need and matches[i][1] > last_k)
        chosen.append(matches[i])
        need, last_k, start = need - 1, matches[i][1], i + 1
    return chosen


def tem_clip(n_reference: int, alignment: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """TEM of one clip from the judge's alignment (one entry per predicted event, 1-based references).

    Besides L, recall and precision it names, 1-based: ``matched`` (the (j, k) pairs of the chosen
    increasing subsequence), ``out_of_order`` (predicted events entailing a reference event that the
    chosen subsequence leaves out), ``repeated`` (predicted events entailing a reference event that the
    subsequence already matched), ``missed`` (reference events outside the subsequence) and
    ``contradicted`` (reference events some predicted event contradicts; they never count as matches).
    """
    entries = [{"reference": entry.get("reference"), "relation": entry["relation"]} for entry in alignment]
    matches = [
        (j, int(entry["reference"]))
        for j, entry in enumerate(entries, start=1)
        if entry["relation"] == ENTAILMENT and entry["reference"] is not None
    ]
    for j, k in matches:
        if not 1 <= k <= n_reference:
            raise ValueError(f"predicted event {j} is aligned to reference {k}, outside 1..{n_reference}")
    chosen = longest_increasing_matches(matches)
    chosen_j = {j for j, _ in chosen}
    chosen_k = {k for _, k in chosen}
    left_out = [(j, k) for j, k in matches if j not in chosen_j]
    n_matched = len(chosen)
    return {
        "alignment": entries,
        "matched": [[j, k] for j, k in chosen],
        "out_of_order": [j for j, k in left_out if k not in chosen_k],
        "repeated": [j for j, k in left_out if k in chosen_k],
        "missed": [k for k in range(1, n_reference + 1) if k not in chosen_k],
        "contradicted": sorted(
            {e["reference"] for e in entries if e["relation"] == CONTRADICTION and e["reference"] is not None}
        ),
        "L": n_matched,
        "recall": side_score(n_matched, n_reference),
        "precision": side_score(n_matched, len(entries)),
    }


def _interval(statistic: Callable[[np.ndarray], float], n: int, bootstrap: int, seed: int) -> list[float] | None:
    return list(bootstrap_interval(statistic, n, B=bootstrap, seed=seed)) if bootstrap > 0 and n > 0 else None


def event_metric_entry(
    recalls: Sequence[float],
    precisions: Sequence[float],
    version: str,
    *,
    n_failed: int = 0,
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """``scores.json`` entry of AutoDQ or TEM over the clips scored (``value`` None when none was)."""
    r, p = np.asarray(recalls, dtype=float), np.asarray(precisions, dtype=float)
    n = len(r)
    if n == 0:
        empty = {"value": None, "ci95": None, "n": 0, "n_failed": n_failed, "version": version}
        return {**empty, "recall": None, "precision": None}
    return {
        "value": corpus_f(r, p),
        "ci95": _interval(lambda idx: f_measure(float(r[idx].mean()), float(p[idx].mean())), n, bootstrap, seed),
        "n": n,
        "n_failed": n_failed,
        "version": version,
        "recall": float(r.mean()),
        "precision": float(p.mean()),
    }


def vcgpt_entries(
    ratings: Sequence[Mapping[str, float]], *, n_failed: int = 0, bootstrap: int = 1000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """``scores.json`` entries of the four Video-ChatGPT dimensions: mean rating with its interval."""
    entries: dict[str, dict[str, Any]] = {}
    for dimension in VCGPT_DIMENSIONS:
        values = np.array([float(r[dimension]) for r in ratings], dtype=float)
        n = len(values)

        def mean_of(idx: np.ndarray, v: np.ndarray = values) -> float:
            return float(v[idx].mean())

        entries[dimension] = {
            "value": float(values.mean()) if n else None,
            "ci95": _interval(mean_of, n, bootstrap, seed),
            "n": n,
            "n_failed": n_failed,
            "version": VCGPT_VERSION,
        }
    return entries


def unsupported_entry(version: str, reason: str) -> dict[str, Any]:
    """``scores.json`` entry of a metric the judge cannot compute: a reason, never a number."""
    return {"value": None, "ci95": None, "n": 0, "n_failed": 0, "version": version, "unsupported": reason}
