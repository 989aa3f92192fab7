"""The commands that read results: ``fecbench compare`` and ``fecbench leaderboard export``.

Part of the command line (:mod:`fecbench.cli` registers them): they parse options, call
:mod:`fecbench.api` and print; nothing heavier than typer is imported until a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fecbench.terminal import out, print_comparison


def register_results_commands(app: typer.Typer, leaderboard_app: typer.Typer) -> None:
    app.command()(compare)
    leaderboard_app.command("export")(leaderboard_export)


def compare(
    run_a: Annotated[Path, typer.Argument(help="Run A: a scored run folder or a run record.")],
    run_b: Annotated[Path, typer.Argument(help="Run B, on the same track as A.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    sources: Annotated[bool, typer.Option(help="Also compare per source dataset.")] = True,
    bootstrap: Annotated[
        int | None, typer.Option("--bootstrap", help="Paired resamples (default: A's scoring setting).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Bootstrap seed (default: A's scoring setting).")] = None,
    moved: Annotated[int, typer.Option(help="Clips that moved most to show.")] = 5,
) -> None:
    """Compare two runs of one track clip by clip: B - A with paired bootstrap intervals."""
    import json

    from fecbench import api

    result = api.compare(run_a, run_b, resamples=bootstrap, seed=seed, moved=moved)
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        print_comparison(result, sources=sources)


def leaderboard_export(
    paths: Annotated[
        list[Path], typer.Argument(help="Result records, folders of records (e.g. results/) or scored run folders.")
    ],
    out_path: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet (needs pyarrow) or json.")] = "csv",
    reported: Annotated[
        bool, typer.Option("--reported/--no-reported", help="Include the authors' reported figures.")
    ] = True,
) -> None:
    """Write the results table the site is built from: one row per run x metric x source (pandas)."""
    from fecbench import api

    path = api.export_results(list(paths), out_path, fmt, reported=reported)
    out.print(f"results: {path}", highlight=False, markup=False)
