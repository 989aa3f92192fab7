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

from fecbench.cli_env import env_app
from fecbench.errors import FecbenchError
from fecbench.terminal import err, out, print_data_check, print_model_details, print_model_table, print_scores

app = typer.Typer(
    help="Evaluate video MLLMs on FEC-Bench (facial expression captioning).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Inspect benchmark data.", no_args_is_help=True)
leaderboard_app = typer.Typer(help="Result records and the static leaderboard site.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(leaderboard_app, name="leaderboard")
app.add_typer(env_app, name="env")

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
JudgeOpt = Annotated[
    str | None, typer.Option("--judge", help="Judge for AutoDQ, TEM and the Video-ChatGPT scores. Default: lexical.")
]
JudgeArgsOpt = Annotated[str | None, typer.Option("--judge-args", help="k=v,k2=v2 passed to the judge.")]
NoJudgeOpt = Annotated[bool, typer.Option("--no-judge", help="CIDEr-D and ROUGE-L only, no judge.")]
JudgeCacheOpt = Annotated[bool, typer.Option(help="Reuse and keep judge verdicts in the verdict cache.")]
ConcurrencyOpt = Annotated[
    int | None, typer.Option("--concurrency", help="Judge requests in flight at once (server judges).")
]
BootstrapOpt = Annotated[int, typer.Option("--bootstrap", help="Bootstrap resamples for the 95% intervals (0: none).")]


def _judge_options(judge: str | None, judge_args: str | None, no_judge: bool) -> tuple[str | None, dict[str, Any]]:
    """The judge name (None with --no-judge) and its parsed arguments."""
    from fecbench.errors import ConfigError
    from fecbench.judges.registry import parse_judge_args
    from fecbench.scoring import DEFAULT_JUDGE

    if no_judge and (judge or judge_args):
        raise ConfigError("--no-judge cannot be combined with --judge or --judge-args")
    return (None if no_judge else judge or DEFAULT_JUDGE), parse_judge_args(judge_args)


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
    batch_size: Annotated[
        str, typer.Option(help="Clips per model call, or auto: the largest that fits, backing off on out-of-memory.")
    ] = "1",
    output: Annotated[Path | None, typer.Option(help="Run folder (default: runs/<model>-<set>-<spec hash>).")] = None,
    prompt: Annotated[str | None, typer.Option(help="Instruction (default: the benchmark authors').")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Generation length limit.")] = 512,
    seed: Annotated[int, typer.Option(help="Seed for sampled decoding and bootstrap.")] = 0,
    frame_cache: Annotated[bool, typer.Option(help="Reuse decoded frames from the on-disk cache.")] = True,
    decode_workers: Annotated[
        int, typer.Option(help="Background decoding workers (processes on Linux, threads elsewhere).")
    ] = 2,
    score: Annotated[bool, typer.Option(help="Score the run when it finishes.")] = True,
    judge: JudgeOpt = None,
    judge_args: JudgeArgsOpt = None,
    no_judge: NoJudgeOpt = False,
    judge_cache: JudgeCacheOpt = True,
    concurrency: ConcurrencyOpt = None,
    bootstrap: BootstrapOpt = 1000,
    shard: Annotated[
        str | None,
        typer.Option(help="i/n: run only shard i (0-based) of n of the selected clips; join with `fecbench merge`."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Model replicas run data-parallel on Ray (default with --ray: one per GPU or GPU group)."),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Run on Ray: local (a private instance here; the default with --workers), auto (the cluster this "
            "node joined with `ray start`) or a cluster address (HOST:6379, ray://HOST:10001).",
        ),
    ] = None,
    gpus_per_worker: Annotated[
        float | None,
        typer.Option(help="GPUs per replica, e.g. a tensor-parallel group (default: 1 if the cluster has GPUs)."),
    ] = None,
    cpus_per_worker: Annotated[float, typer.Option(help="CPUs reserved per replica on Ray.")] = 1.0,
    model_env: Annotated[
        Path | None, typer.Option(help="Run the adapter in this Python environment (a venv or a python): env create.")
    ] = None,
) -> None:
    """Run a model over the benchmark; the same command resumes an interrupted run."""
    from fecbench import api
    from fecbench.plugins import parse_model_args

    judge_name, parsed_judge_args = _judge_options(judge, judge_args, no_judge)
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
            judge=judge_name,
            judge_args=parsed_judge_args,
            judge_cache=judge_cache,
            concurrency=concurrency,
            bootstrap=bootstrap,
            shard=shard,
            workers=workers,
            ray=ray,
            gpus_per_worker=gpus_per_worker,
            cpus_per_worker=cpus_per_worker,
            model_env=model_env,
        )
    except KeyboardInterrupt:
        err.print("interrupted: finished clips are saved; run the same command again to resume")
        raise typer.Exit(130) from None
    resumed = result.n_clips - result.n_run_now
    out.print(f"run folder: {result.run_dir}")
    if resumed:
        out.print(f"resumed: {resumed} clips were already finished, {result.n_run_now} run now")
    if result.scores:
        print_scores(result.scores)
    if result.n_failed:
        err.print(f"[red]{result.n_failed} of {result.n_clips} clips failed:[/red]")
        for kind, count in result.failures.items():
            err.print(f"  {count} x {kind}")
        err.print(f"details per clip: {result.run_dir / 'predictions.jsonl'}; rerun the same command to retry them")
        raise typer.Exit(1)


@app.command()
def merge(
    shard_dirs: Annotated[list[Path], typer.Argument(help="The run folders of --shard 0/n ... --shard n-1/n.")],
    output: Annotated[Path, typer.Option("--output", help="Run folder to write (must not exist or be empty).")],
    score: Annotated[bool, typer.Option(help="Score the merged run.")] = True,
    judge: JudgeOpt = None,
    judge_args: JudgeArgsOpt = None,
    no_judge: NoJudgeOpt = False,
    judge_cache: JudgeCacheOpt = True,
    concurrency: ConcurrencyOpt = None,
    bootstrap: BootstrapOpt = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
) -> None:
    """Join the shard run folders of one run into the run folder an unsharded run would have written, and score it."""
    from fecbench import api

    judge_name, parsed_judge_args = _judge_options(judge, judge_args, no_judge)
    result = api.merge(
        list(shard_dirs),
        output,
        score=score,
        judge=judge_name,
        judge_args=parsed_judge_args,
        judge_cache=judge_cache,
        concurrency=concurrency,
        bootstrap=bootstrap,
        seed=seed,
    )
    out.print(f"run folder: {result.run_dir} ({result.n_clips} clips from {len(shard_dirs)} shards)")
    if result.scores:
        print_scores(result.scores)
    if result.n_failed:
        err.print(f"[red]{result.n_failed} of {result.n_clips} clips failed:[/red]")
        for kind, count in result.failures.items():
            err.print(f"  {count} x {kind}")
        raise typer.Exit(1)


@app.command()
def score(
    path: Annotated[Path, typer.Argument(help="A run folder, or a predictions file made elsewhere.")],
    annotations: AnnotationsOpt = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run folder for a predictions file (default: runs/external-...).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Model name for a predictions file.")] = None,
    judge: JudgeOpt = None,
    judge_args: JudgeArgsOpt = None,
    no_judge: NoJudgeOpt = False,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="Reuse and keep judge verdicts in the verdict cache.")
    ] = True,
    concurrency: ConcurrencyOpt = None,
    bootstrap: BootstrapOpt = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
) -> None:
    """Score a run folder without running the model, or a predictions file (JSONL of {id, prediction},
    or the FEC-Bench authors' [{video_path, instruction, output}] list) against --annotations."""
    from fecbench import api

    judge_name, parsed_judge_args = _judge_options(judge, judge_args, no_judge)
    options: dict[str, Any] = {"annotations": annotations, "out": out_dir, "name": name}
    if path.is_file():
        path = api.import_predictions(path, **options)
        out.print(f"run folder: {path}")
        options = {}
    scores = api.score(
        path,
        **options,
        judge=judge_name,
        judge_args=parsed_judge_args,
        cache=cache,
        concurrency=concurrency,
        bootstrap=bootstrap,
        seed=seed,
    )
    print_scores(scores)


@app.command()
def models(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also show aliases, frame counts, requirements and summaries.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON, one object per adapter.")] = False,
) -> None:
    """List every installed adapter, where it comes from, and whether its dependencies are installed."""
    import json

    from fecbench import api

    rows = api.model_listing()
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif verbose:
        print_model_details(rows)
    else:
        print_model_table(rows)


@app.command("new-adapter")
def new_adapter(
    name: Annotated[str, typer.Argument(help="The adapter's name, as users will type it after --model.")],
    directory: Annotated[Path, typer.Option("--dir", help="Where to create the package folder.")] = Path("."),
) -> None:
    """Write a ready adapter plugin package (pyproject, adapter, conformance test) to fill in."""
    from fecbench import api

    root, files = api.new_adapter(name, directory)
    lines = [f"created {root}:", *(f"  {path.relative_to(root)}" for path in files), "next:"]
    lines += [
        f"  cd {root} && pip install -e .   # then `fecbench models` lists {name}",
        "  pytest tests                    # fecbench's conformance checks",
        f"  fecbench run --model {name} --video-root /data/fec",
    ]
    for line in lines:
        out.print(line, soft_wrap=True, highlight=False, markup=False)


@data_app.command("check")
def data_check(
    annotations: AnnotationsOpt = None,
    video_root: VideoRootOpt = None,
    sources: SourcesOpt = None,
) -> None:
    """Per source dataset: clips found, missing and unreadable under the video roots."""
    from fecbench import api

    reports = api.check_data(annotations, video_root or [], _sources(sources))
    print_data_check(reports)
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
    paths: Annotated[
        list[Path], typer.Argument(help="Result records, folders of records (e.g. results/) or scored run folders.")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Site folder to write.")],
    reported: Annotated[
        bool, typer.Option("--reported/--no-reported", help="Show the authors' reported figures beside the runs.")
    ] = True,
) -> None:
    """Render the static leaderboard site (index, one page per run, charts, metric definitions)."""
    from fecbench import api

    index = api.build_leaderboard(list(paths), out_dir, reported=reported)
    out.print(f"leaderboard: {index}", highlight=False, markup=False)


@leaderboard_app.command("record")
def leaderboard_record(
    run_dir: Annotated[Path, typer.Argument(help="A scored run folder.")],
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Record file to write. Default: results/runs/<name>-<run id>.json.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="How the run is named on the pages.")] = None,
    examples: Annotated[int, typer.Option(help="Worst and best clips kept for the run's page (each).")] = 3,
    notes: Annotated[str, typer.Option(help="Free text shown on the run's page (hardware, caveats).")] = "",
) -> None:
    """Turn a scored run folder into a result record to add to results/ by pull request."""
    from fecbench import api

    path = api.record_run(run_dir, out_path, name=name, examples=examples, notes=notes)
    out.print(f"record: {path}", highlight=False, markup=False)


@leaderboard_app.command("serve")
def leaderboard_serve(
    site_dir: Annotated[Path, typer.Argument(help="A built site folder.")] = Path("site"),
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
) -> None:
    """Preview a built site over HTTP, as a static host serves it (Ctrl-C stops)."""
    from fecbench import api

    server = api.leaderboard_server(site_dir, host=host, port=port)
    bound_host, bound_port = server.server_address[:2]
    out.print(f"serving {site_dir} at http://{bound_host}:{bound_port}/ (Ctrl-C stops)", highlight=False, markup=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main() -> None:
    """Entry point: user errors print one clear message (no traceback) and exit non-zero."""
    try:
        app()
    except FecbenchError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(exc.exit_code)
    finally:
        import gc

        # The command is done. Freezing the heap spares the interpreter's last garbage collections,
        # which walk every object torch and transformers created: about 1 s of a model run's exit
        # here. Objects are still released at exit; files are closed and results written by now.
        gc.freeze()


if __name__ == "__main__":
    main()
