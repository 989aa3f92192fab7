"""Paired comparison of two runs of one track: is B better than A, by how much, and how sure is it?

For each metric, on all shared clips and on each source's shared clips: the difference B - A of
the corpus formula, a 95% paired percentile bootstrap interval (clips resampled with replacement,
the *same* resample applied to both runs, every corpus formula recomputed on it: CIDEr-D's document
frequencies, AutoDQ/TEM's F1 of the resampled means) and the share of resamples in which the
difference keeps its sign. Then the clips whose scores moved most, with both captions and the
reference. The definitions are in docs/metrics.md ("Paired comparison").

Runs are read as result records (a run folder is turned into one), whose ``clips`` hold every scored
clip's captions and per-clip values. Two runs are compared only on the same track.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fecbench.errors import ConfigError
from fecbench.metrics.bootstrap import bootstrap_values, multiplicities, percentile_interval
from fecbench.metrics.events import f_measure

if TYPE_CHECKING:
    from fecbench_leaderboard.clip_records import ClipScore
    from fecbench_leaderboard.records import RunRecord

__all__ = ["Comparison", "Difference", "MovedClip", "compare_records", "load_run", "track_differences"]

SOURCE_ALL = "all"
EVENT = ("autodq", "tem")
MOVED = 5


@dataclass
class Difference:
    """B - A on one metric and one source, over the clips both runs scored."""

    metric: str
    source: str
    n: int
    a: float
    b: float
    diff: float
    ci_low: float | None
    ci_high: float | None
    #: share of resamples whose difference has the observed sign (None without resamples, or for no difference)
    sign_share: float | None

    @property
    def distinguishable(self) -> bool:
        """Whether the interval excludes 0 (the tie rule's test)."""
        return self.ci_low is not None and self.ci_high is not None and (self.ci_low > 0 or self.ci_high < 0)


@dataclass
class MovedClip:
    id: str
    source: str
    metric: str
    a: float
    b: float
    delta: float
    reference: str
    prediction_a: str
    prediction_b: str


@dataclass
class Comparison:
    a: str
    b: str
    a_run_id: str
    b_run_id: str
    track: str
    shared: int
    only_a: int
    only_b: int
    resamples: int
    seed: int
    level: float
    differences: list[Difference] = field(default_factory=list)
    moved: list[MovedClip] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def overall(self, metric: str) -> Difference | None:
        return next((d for d in self.differences if d.metric == metric and d.source == SOURCE_ALL), None)


def load_run(path: Path) -> RunRecord:
    """A run record from a scored run folder or a record file; it must carry clip-level scores."""
    from fecbench_leaderboard.records import RunRecord, load_record
    from fecbench_leaderboard.runfolder import make_record

    from fecbench.runner.outputs import RUN_JSON

    if path.is_dir() and (path / RUN_JSON).is_file():
        record = make_record(path, examples=0)
    elif path.is_file():
        loaded = load_record(path)
        if not isinstance(loaded, RunRecord):
            raise ConfigError(f"{path}: a reported set, not a run record; compare needs two runs")
        record = loaded
    else:
        raise ConfigError(f"{path}: neither a scored run folder (no {RUN_JSON}) nor a record file")
    if not record.clips:
        raise ConfigError(
            f"{path}: the record carries no clip-level scores (it was made before fecbench kept them); "
            "compare its run folder, or make the record again with `fecbench leaderboard record`"
        )
    return record


def track_differences(a: RunRecord, b: RunRecord) -> list[str]:
    """The track settings two runs differ in, each as ``field: A ... vs B ...``; empty on one track."""
    import json

    from fecbench_leaderboard.tracks import track_settings

    sa, sb = track_settings(a), track_settings(b)
    names = {"benchmark": "benchmark (annotations sha256, subset)", "frame_protocol": "frame protocol"}
    return [
        f"{names.get(key, key)}: A {json.dumps(sa[key], sort_keys=True)} vs B {json.dumps(sb[key], sort_keys=True)}"
        for key in sa
        if sa[key] != sb[key]
    ]


def _values(clips: list[ClipScore], key: str) -> np.ndarray:
    return np.array([c.scores[key] for c in clips], dtype=float)


def _statistic(
    metric: str, a: list[ClipScore], b: list[ClipScore]
) -> Callable[[np.ndarray | None], tuple[float, float]]:
    """The corpus formula of ``metric`` on both runs for one resample (None: the clips as they are)."""
    n = len(a)
    if metric == "cider":
        from fecbench.metrics.cider import CiderStats, cider_tokens

        refs = [cider_tokens(c.reference) for c in a]
        stats = [CiderStats.from_tokens(refs, [cider_tokens(c.prediction) for c in side]) for side in (a, b)]

        def cider(idx: np.ndarray | None) -> tuple[float, float]:
            weights = None if idx is None else multiplicities(idx, n)
            return stats[0].corpus(weights), stats[1].corpus(weights)

        return cider
    if metric in EVENT:
        sides = [(_values(side, f"{metric}_recall"), _values(side, f"{metric}_precision")) for side in (a, b)]

        def f1(idx: np.ndarray | None) -> tuple[float, float]:
            pick = slice(None) if idx is None else idx
            (ra, pa), (rb, pb) = sides
            return (
                f_measure(float(ra[pick].mean()), float(pa[pick].mean())),
                f_measure(float(rb[pick].mean()), float(pb[pick].mean())),
            )

        return f1
    va, vb = _values(a, metric), _values(b, metric)

    def mean(idx: np.ndarray | None) -> tuple[float, float]:
        pick = slice(None) if idx is None else idx
        return float(va[pick].mean()), float(vb[pick].mean())

    return mean


def _needs(metric: str) -> tuple[str, ...]:
    return (f"{metric}_recall", f"{metric}_precision") if metric in EVENT else (metric,)


def paired_difference(
    metric: str, source: str, a: list[ClipScore], b: list[ClipScore], *, resamples: int, seed: int, level: float
) -> Difference:
    """B - A of ``metric`` on aligned clips (``a[i]`` and ``b[i]`` are the same clip)."""
    statistic = _statistic(metric, a, b)
    value_a, value_b = statistic(None)
    diff = value_b - value_a
    low = high = share = None
    if resamples > 0 and len(a) > 0:

        def delta(idx: np.ndarray) -> float:
            ra, rb = statistic(idx)
            return rb - ra

        values = bootstrap_values(delta, len(a), B=resamples, seed=seed)
        low, high = percentile_interval(values, level)
        share = float(np.mean(np.sign(values) == np.sign(diff))) if diff != 0 else None
    return Difference(metric, source, len(a), value_a, value_b, diff, low, high, share)


def _clip_value(clip: ClipScore, key: str) -> float | None:
    if key in EVENT:
        recall, precision = clip.scores.get(f"{key}_recall"), clip.scores.get(f"{key}_precision")
        return None if recall is None or precision is None else f_measure(recall, precision)
    return clip.scores.get(key)


def moved_clips(
    a: dict[str, ClipScore], b: dict[str, ClipScore], shared: list[str], keys: list[str], count: int = MOVED
) -> list[MovedClip]:
    """The ``count`` shared clips whose per-clip score moved most (clips that did not move are left out), on the
    first of TEM, CIDEr-D, ROUGE-L that both runs have per clip."""
    for key in ("tem", "cider", "rouge_l", *keys):
        pairs = [(i, _clip_value(a[i], key), _clip_value(b[i], key)) for i in shared]
        scored = [(i, va, vb) for i, va, vb in pairs if va is not None and vb is not None]
        if scored:
            break
    else:
        return []
    scored = [t for t in scored if t[2] != t[1]]
    scored.sort(key=lambda t: (-abs(t[2] - t[1]), t[0]))
    return [
        MovedClip(i, a[i].source, key, va, vb, vb - va, a[i].reference, a[i].prediction, b[i].prediction)
        for i, va, vb in scored[:count]
    ]


def compare_records(
    a: RunRecord,
    b: RunRecord,
    *,
    resamples: int | None = None,
    seed: int | None = None,
    level: float = 0.95,
    sources: bool = True,
    moved: int = MOVED,
) -> Comparison:
    """The paired comparison of two runs of one track (resamples and seed default to A's scoring settings)."""
    from fecbench_leaderboard.catalog import FEC_BENCH_SOURCES, ordered
    from fecbench_leaderboard.tracks import Track, benchmark_label, frames_label, judge_label, prompt_label

    differences = track_differences(a, b)
    if differences:
        raise ConfigError(
            f"{a.name} and {b.name} are on different tracks, so their scores are not comparable; they differ in:\n  "
            + "\n  ".join(differences)
        )
    resamples = resamples if resamples is not None else (a.bootstrap.resamples if a.bootstrap else 1000)
    seed = seed if seed is not None else (a.bootstrap.seed if a.bootstrap else 0)
    by_a, by_b = {c.id: c for c in a.clips}, {c.id: c for c in b.clips}
    shared = sorted(set(by_a) & set(by_b))  # sorted ids, as scoring orders clips
    keys = ordered(
        {
            k
            for k in set(a.metrics) & set(b.metrics)
            if a.metrics[k].value is not None and b.metrics[k].value is not None
        }
    )
    order = [s for s in FEC_BENCH_SOURCES if any(by_a[i].source == s for i in shared)]
    order += sorted({by_a[i].source for i in shared} - set(order))
    if len(order) < 2:
        sources = False  # one source: its rows would repeat the overall ones
    groups = [(SOURCE_ALL, shared)] + (
        [(s, [i for i in shared if by_a[i].source == s]) for s in order] if sources else []
    )
    found = []
    for key in keys:
        for source, ids in groups:
            usable = [i for i in ids if all(k in by_a[i].scores and k in by_b[i].scores for k in _needs(key))]
            if usable:
                found.append(
                    paired_difference(
                        key,
                        source,
                        [by_a[i] for i in usable],
                        [by_b[i] for i in usable],
                        resamples=resamples,
                        seed=seed,
                        level=level,
                    )
                )
    track = Track("", benchmark_label(a), frames_label(a), prompt_label(a), judge_label(a), [])
    return Comparison(
        a=a.name,
        b=b.name,
        a_run_id=a.run_id,
        b_run_id=b.run_id,
        track=track.title,
        shared=len(shared),
        only_a=len(set(by_a) - set(by_b)),
        only_b=len(set(by_b) - set(by_a)),
        resamples=resamples,
        seed=seed,
        level=level,
        differences=found,
        moved=moved_clips(by_a, by_b, shared, keys, moved) if moved > 0 else [],
    )
