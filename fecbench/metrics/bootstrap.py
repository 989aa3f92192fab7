"""Percentile bootstrap over clips: resample clips with replacement and recompute the corpus statistic.

A corpus-level metric is not always a mean of per-clip numbers (CIDEr-D's idf comes from the references of
the clips being scored), so the statistic receives the resampled clip indices and recomputes whatever it
needs from them; ``multiplicities`` turns those indices into per-clip counts for statistics that take a
weighted corpus (``CiderStats.corpus``). Every metric scored with the same ``seed`` and ``n`` sees the
same resamples, so intervals of different metrics are paired.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

__all__ = ["bootstrap_interval", "bootstrap_values", "multiplicities", "percentile_interval", "resamples"]


def resamples(n: int, B: int = 1000, seed: int = 0) -> Iterator[np.ndarray]:
    """``B`` arrays of ``n`` clip indices drawn uniformly with replacement (``numpy`` PCG64, seeded)."""
    if n < 1:
        raise ValueError("need at least one clip to resample")
    rng = np.random.default_rng(seed)
    for _ in range(B):
        yield rng.integers(0, n, size=n)


def multiplicities(indices: np.ndarray, n: int) -> np.ndarray:
    """How many times each of the ``n`` clips occurs in a resample."""
    return np.bincount(indices, minlength=n)


def bootstrap_values(statistic: Callable[[np.ndarray], float], n: int, *, B: int = 1000, seed: int = 0) -> np.ndarray:
    """``statistic`` of each of ``B`` resamples of ``n`` clips (the same resamples for the same ``n`` and seed)."""
    if B < 1:
        raise ValueError("B must be at least 1")
    return np.fromiter((statistic(idx) for idx in resamples(n, B, seed)), dtype=float, count=B)


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval (linear interpolation) of bootstrap values."""
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(values, [tail, 100.0 - tail])
    return float(lo), float(hi)


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float], n: int, *, B: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval (linear interpolation) of ``statistic`` over ``B`` resamples of ``n`` clips."""
    return percentile_interval(bootstrap_values(statistic, n, B=B, seed=seed), level)
