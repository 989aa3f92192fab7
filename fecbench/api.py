"""fecbench's Python API. The CLI is a thin wrapper over these functions; tests call them directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fecbench.data.annotations import Annotations, Clip, load_annotations
from fecbench.data.check import SourceReport
from fecbench.data.fecbench_default import FEC_BENCH_SHA256, default_annotations
from fecbench.data.roots import VideoRoots
from fecbench.errors import ConfigError
from fecbench.plugins import RegisteredAdapter, get_adapter, load_adapter, unique_adapters
from fecbench.prompts import DEFAULT_INSTRUCTION
from fecbench.runner.spec import AnnotationsSpec, GenerationSpec, ModelSpec, RunSpec, SubsetSpec, installed_versions
from fecbench.video.protocol import FrameProtocol

DEFAULT_RUNS_DIR = Path("runs")


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


def run(
    model: str,
    *,
    model_args: dict[str, Any] | None = None,
    annotations: str | Path | None = None,
    video_roots: list[str] | tuple[str, ...] = (),
    sources: list[str] | None = None,
    frames: int | None = None,
    max_side: int = 448,
    limit: int | None = None,
    batch_size: int = 1,
    output: str | Path | None = None,
    prompt: str | None = None,
    max_new_tokens: int = 512,
    seed: int = 0,
    frame_cache: bool = True,
    decode_workers: int = 2,
    progress: bool = False,
    score: bool = True,
) -> RunResult:
    """Run ``model`` over the benchmark clips, resuming whatever an earlier run of the same spec finished."""
    from fecbench.runner.execute import execute_run

    entry = get_adapter(model)
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {batch_size}")
    data = resolve_annotations(annotations)
    clips = select_clips(data, sources, limit)
    roots = VideoRoots.parse(list(video_roots))
    try:
        protocol = FrameProtocol(num_frames=frames or entry.spec.default_frames, max_side=max_side)
    except ValueError as exc:
        raise ConfigError(f"--frames/--max-side: {exc}") from exc
    spec = RunSpec(
        model=ModelSpec(
            name=entry.spec.name,
            args=dict(model_args or {}),
            provider=entry.provider,
            provider_version=entry.provider_version,
            factory=entry.spec.factory,
        ),
        annotations=AnnotationsSpec(
            path=str(data.path.resolve()),
            sha256=data.sha256,
            records=len(data),
            fec_bench=data.sha256 == FEC_BENCH_SHA256,
        ),
        subset=SubsetSpec(sources=sources or None, limit=limit, clips=len(clips), full=len(clips) == len(data)),
        frame_protocol=protocol.as_dict(),
        prompt=prompt or DEFAULT_INSTRUCTION,
        generation=GenerationSpec(max_new_tokens=max_new_tokens, seed=seed),
        batch_size=batch_size,
        video_roots=roots.describe(),
        versions=installed_versions(),
    )
    run_dir = (
        Path(output) if output else DEFAULT_RUNS_DIR / f"{entry.spec.name}-{data.path.stem}-{spec.identity_hash()}"
    )
    return execute_run(
        spec,
        run_dir,
        clips,
        roots,
        protocol,
        adapter_factory=lambda: load_adapter(entry.spec.name, spec.model.args),
        frame_cache=frame_cache,
        decode_workers=decode_workers,
        progress=progress,
        score=score,
    )


def score(run_dir: str | Path, *, bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Re-score a run folder from its predictions, without running the model again."""
    from fecbench.scoring import score_run

    return score_run(run_dir, bootstrap=bootstrap, seed=seed)


def list_models() -> list[RegisteredAdapter]:
    """Every installed adapter, one entry each (aliases folded)."""
    return unique_adapters()


def check_data(
    annotations: str | Path | None = None,
    video_roots: list[str] | tuple[str, ...] = (),
    sources: list[str] | None = None,
) -> list[SourceReport]:
    """Per source dataset: clips found, missing and unreadable under the given roots."""
    from fecbench.data.check import check_data as check

    data = resolve_annotations(annotations)
    selected = select_clips(data, sources, None)
    subset = Annotations(path=data.path, sha256=data.sha256, clips=selected)
    return check(subset, VideoRoots.parse(list(video_roots)))


def make_demo(out_dir: str | Path, *, clips: int = 12, seed: int = 0) -> Path:
    """Write the offline demo set (a real face, scripted expressions) and return its annotations path."""
    from fecbench.demo import make_demo as write_demo

    return write_demo(Path(out_dir), clips=clips, seed=seed)


def build_leaderboard(run_dirs: list[str | Path], out_dir: str | Path) -> Path:
    """Render a static leaderboard page from scored run folders; returns the index page."""
    from fecbench_leaderboard.build import build_site

    return build_site([Path(d) for d in run_dirs], Path(out_dir))
