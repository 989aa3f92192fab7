"""Which clips a run covers: the annotation file (FEC-Bench's own by default) and the chosen subset.

Shared by the API and the runner's merge, so it lives below both.
"""

from __future__ import annotations

from pathlib import Path

from fecbench.data.annotations import Annotations, Clip, load_annotations
from fecbench.data.fecbench_default import default_annotations
from fecbench.errors import ConfigError


def resolve_annotations(path: str | Path | None) -> Annotations:
    """The given annotation file, or FEC-Bench's own test.json (cached or downloaded) when None."""
    return load_annotations(Path(path) if path is not None else default_annotations())


def select_clips(annotations: Annotations, sources: list[str] | None, limit: int | None) -> list[Clip]:
    """Restrict to ``sources`` (unknown names are an error) and keep the first ``limit`` clips."""
    clips = list(annotations)
    if sources:
        known = annotations.sources
        unknown = [s for s in sources if s not in known]
        if unknown:
            raise ConfigError(
                f"--sources: {', '.join(unknown)} not in {annotations.path}; its sources are: {', '.join(known)}"
            )
        wanted = set(sources)
        clips = [c for c in clips if c.source in wanted]
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"--limit must be at least 1, got {limit}")
        clips = clips[:limit]
    return clips
