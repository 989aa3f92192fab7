"""The ``fecbench`` command: parse options, call :mod:`fecbench.api`, print, choose the exit code.

Exit codes: 0 all clips succeeded; 1 the job finished but some clips failed (or, for
``data check``, some clips are missing or unreadable); 2 the job could not run (bad option, input
or missing dependency); 130 interrupted (finished clips are kept).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fecbench.display import format_score
from fecbench.errors import FecbenchError

app = typer.Typer(
    help="Evaluate video MLLMs on FEC-Bench (facial expression captioning).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Inspect benchmark data.", no_args_is_help=True)
leaderboard_app = typer.Typer(help="Build leaderboard pages from run folders.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(leaderboard_app, name="leaderboard")

out = Console()
err = Console(stderr=True)

AnnotationsOpt = Annotated[
    Path | None,
    typer.Option("--annotations", help="Annotation file (test.json schema, JSON list or JSONL). Default: FEC-Bench."),
]
VideoRootOpt = Annotated[
    list[str] | None,
    typer.Option("--video-root", help="Folder holding the source folders, or SOURCE=DIR for one source. Repeatable."),
]
SourcesOpt = Annotated[
    str | None, typer.Option("--sources", help="Comma-separated source datasets to restrict to, e.g. DFEW,RAVDESS.")
]


def _sources(value: str | None) -> list[str] | None:
    return [s.strip() for s in value.split(",") if s.strip()] if value else None


@app.command()
def run(
    model: Annotated[str, typer.Option("--model", "-m", help="Adapter name (see `fecbench models`).")],
    model_args: Annotated[str | None, typer.Option("--model-args", help="k=v,k2=v2 passed to the adapter.")] = None,
    annotations: AnnotationsOpt = None,
    video_root: VideoRootOpt = None,
    sources: SourcesOpt = None,
    frames: Annotated[int | None, typer.Option(help="Frames sampled per clip (default: the adapter's).")] = None,
    max_side: Annotated[int, typer.Option(help="Longer side of sampled frames is scaled down to this.")] = 448,
    limit: Annotated[int | None, typer.Option(help="Only the first N clips (quick looks).")] = None,
    batch_size: Annotated[int, typer.Option(help="Clips per model call.")] = 1,
    output: Annotated[Path | None, typer.Option(help="Run folder (default: runs/<model>-<set>-<spec hash>).")] = None,
    prompt: Annotated[str | None, typer.Option(help="Instruction (default: the benchmark authors').")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Generation length limit.")] = 512,
    seed: Annotated[int, typer.Option(help="Seed for sampled decoding and bootstrap.")] = 0,
    frame_cache: Annotated[bool, typer.Option(help="Reuse decoded frames from the on-disk cache.")] = True,
    decode_workers: Annotated[int, typer.Option(help="Background decoding threads.")] = 2,
    score: Annotated[bool, typer.Option(help="Score the run when it finishes.")] = True,
) -> None:
    """Run a model over the benchmark; the same command resumes an interrupted run."""
    from fecbench import api
    from fecbench.plugins import parse_model_args

    try:
        result = api.run(
            model,
            model_args=parse_model_args(model_args),
            annotations=annotations,
            video_roots=video_root or [],
            sources=_sources(sources),
            frames=frames,
            max_side=max_side,
            limit=limit,
            batch_size=batch_size,
            output=output,
            prompt=prompt,
            max_new_tokens=max_new_tokens,
            seed=seed,
            frame_cache=frame_cache,
            decode_workers=decode_workers,
            progress=True,
            score=score,
        )
    except KeyboardInterrupt:
        err.print("interrupted: finished clips are saved; run the same command again to resume")
        raise typer.Exit(130) from None
    resumed = result.n_clips - result.n_run_now
    out.print(f"run folder: {result.run_dir}")
    if resumed:
        out.print(f"resumed: {resumed} clips were already finished, {result.n_run_now} run now")
    if result.scores:
        _print_scores(result.scores)
    if result.n_failed:
        err.print(f"[red]{result.n_failed} of {result.n_clips} clips failed:[/red]")
        for kind, count in result.failures.items():
            err.print(f"  {count} x {kind}")
        err.print(f"details per clip: {result.run_dir / 'predictions.jsonl'}; rerun the same command to retry them")
        raise typer.Exit(1)


@app.command()
def score(run_dir: Annotated[Path, typer.Argument(help="A run folder.")]) -> None:
    """Re-score a run folder from its predictions, without running the model."""
    from fecbench import api

    scores = api.score(run_dir)
    _print_scores(scores)


@app.command()
def models() -> None:
    """List every installed adapter, where it comes from, and whether its dependencies are installed."""
    from fecbench import api

    table = Table("name", "provider", "default checkpoint", "frames", "dependencies", "summary")
    hints = []
    for entry in api.list_models():
        missing = entry.missing_requirements()
        name = entry.spec.name + (f" ({', '.join(entry.spec.aliases)})" if entry.spec.aliases else "")
        if missing:
            hints.append(f"{entry.spec.name}: {entry.spec.install_hint or 'install ' + ', '.join(missing)}")
        table.add_row(
            name,
            f"{entry.provider} {entry.provider_version}",
            entry.spec.default_checkpoint or "-",
            str(entry.spec.default_frames),
            "[red]missing " + ", ".join(missing) + "[/red]" if missing else "[green]ok[/green]",
            entry.spec.summary,
        )
    out.print(table)
    if hints:
        out.print("To install what is missing:")
        for hint in hints:
            out.print(f"  {hint}", soft_wrap=True, highlight=False)


@data_app.command("check")
def data_check(
    annotations: AnnotationsOpt = None,
    video_root: VideoRootOpt = None,
    sources: SourcesOpt = None,
) -> None:
    """Per source dataset: clips found, missing and unreadable under the video roots."""
    from fecbench import api

    reports = api.check_data(annotations, video_root or [], _sources(sources))
    table = Table("source", "clips", "found", "missing", "unreadable", "usable")
    for r in reports:
        table.add_row(r.source, str(r.clips), str(r.found), str(r.missing), str(r.unreadable), str(r.ok))
    out.print(table)
    for r in reports:
        for example in r.missing_examples:
            out.print(f"  missing    {r.source}: {example}")
        for example in r.unreadable_examples:
            out.print(f"  unreadable {r.source}: {example}")
    total_bad = sum(r.missing + r.unreadable for r in reports)
    if total_bad:
        err.print(f"{total_bad} clips are missing or unreadable; a run can be restricted with --sources")
        raise typer.Exit(1)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write annotations.json and videos/ into.")],
    clips: Annotated[int, typer.Option(help="Number of clips.")] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the expression scripts.")] = 0,
) -> None:
    """Write the offline demo set: a real face with scripted expressions, captions in FEC-Bench style."""
    from fecbench import api

    path = api.make_demo(out_dir, clips=clips, seed=seed)
    out.print(f"demo set: {path} ({clips} clips, videos under {Path(out_dir) / 'videos'})")


@leaderboard_app.command("build")
def leaderboard_build(
    run_dirs: Annotated[list[Path], typer.Argument(help="Scored run folders.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Site folder to write.")],
) -> None:
    """Render a static leaderboard page from run folders."""
    from fecbench import api

    index = api.build_leaderboard(list(run_dirs), out_dir)
    out.print(f"leaderboard: {index}")


def _print_scores(scores: dict[str, Any]) -> None:
    label = f" [yellow]{scores['subset']}[/yellow]" if scores.get("subset") else ""
    table = Table(title=f"{scores['model']}{label}: n={scores['n']}, failed={scores['n_failed']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    for name, metric in scores["metrics"].items():
        low, high = metric["ci95"] or (float("nan"), float("nan"))
        interval = f"[{format_score(low)}, {format_score(high)}]"
        table.add_row(f"{name} ({metric['version']})", format_score(metric["value"]), interval)
    out.print(table)


def main() -> None:
    """Entry point: user errors print one clear message (no traceback) and exit non-zero."""
    try:
        app()
    except FecbenchError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
