"""The commands that make and score run folders: ``fecbench run``, ``fecbench merge`` and ``fecbench score``.

Split from :mod:`fecbench.cli` (which registers them); like it, they only parse options, call
:mod:`fecbench.api`, print and choose the exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fecbench import terminal
from fecbench.cli_options import (
    AllowAbsoluteOpt,
    AnnotationsOpt,
    BootstrapOpt,
    ConcurrencyOpt,
    JudgeArgsOpt,
    JudgeCacheOpt,
    JudgeOpt,
    NoJudgeOpt,
    SourcesOpt,
    VideoRootOpt,
    judge_options,
    source_list,
)
from fecbench.terminal import err, out, print_scores


def run(
    model: Annotated[str, typer.Option("--model", "-m", help="Adapter name (see `fecbench models`).")],
    model_args: Annotated[str | None, typer.Option("--model-args", help="k=v,k2=v2 passed to the adapter.")] = None,
    annotations: AnnotationsOpt = None,
    video_root: VideoRootOpt = None,
    allow_absolute_videos: AllowAbsoluteOpt = False,
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
    thumbnails: Annotated[
        bool, typer.Option(help="Write a small JPEG strip of each clip's frames into the run folder (thumbs/).")
    ] = True,
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

    judge_name, parsed_judge_args = judge_options(judge, judge_args, no_judge)
    try:
        result = api.run(
            model,
            model_args=parse_model_args(model_args),
            annotations=annotations,
            video_roots=video_root or [],
            allow_absolute_videos=allow_absolute_videos,
            sources=source_list(sources),
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
            thumbnails=thumbnails,
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
    if terminal.report_failures(result, retry="rerun the same command to retry them"):
        raise typer.Exit(1)


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

    judge_name, parsed_judge_args = judge_options(judge, judge_args, no_judge)
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
    if terminal.report_failures(result):
        raise typer.Exit(1)


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

    judge_name, parsed_judge_args = judge_options(judge, judge_args, no_judge)
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
    if terminal.report_score_failures(scores):
        raise typer.Exit(1)
