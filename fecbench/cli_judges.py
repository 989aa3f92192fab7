"""The judge commands of ``fecbench``: ``fecbench judges`` (the listing) and ``fecbench judge check``.

Kept beside :mod:`fecbench.cli` (which registers them) so that module stays small; like it, this
module only parses options, calls :mod:`fecbench.api` and prints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from fecbench.terminal import print_judge_check, print_judge_details, print_judge_table

judge_app = typer.Typer(help="Judges: check one against known answers (list them with `fecbench judges`).")


def judges(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also show aliases, requirements, factories and summaries.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON, one object per judge.")] = False,
) -> None:
    """List every installed judge: provider, the tasks it answers, default model, missing dependencies."""
    from fecbench import api

    rows = api.judge_listing()
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif verbose:
        print_judge_details(rows)
    else:
        print_judge_table(rows)


@judge_app.command("check")
def judge_check(
    judge: Annotated[str, typer.Option("--judge", help="The judge to check (see `fecbench judges`).")] = "lexical",
    judge_args: Annotated[str | None, typer.Option("--judge-args", help="k=v,k2=v2 passed to the judge.")] = None,
    annotations: Annotated[
        Path | None,
        typer.Option("--annotations", help="Annotations whose reference captions build the suite. Default: FEC-Bench."),
    ] = None,
    n: Annotated[int, typer.Option("--n", help="Reference captions to build cases from (five edits each).")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the caption choice, the edits and the bootstrap.")] = 0,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="Reuse and keep judge verdicts in the verdict cache.")
    ] = True,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="Judge requests in flight at once (server judges).")
    ] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap resamples for the 95% intervals.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON.")] = False,
) -> None:
    """Check a judge against known answers built from real reference captions.

    Dropped, flipped, reordered, paraphrased and foreign events: accuracy per task, AutoDQ and TEM
    error, with intervals. The result is saved per judge identity; scoring with that judge cites it.
    """
    from fecbench import api
    from fecbench.judges.registry import parse_judge_args

    result = api.check_judge(
        judge,
        parse_judge_args(judge_args),
        annotations=annotations,
        n=n,
        seed=seed,
        cache=cache,
        concurrency=concurrency,
        bootstrap=bootstrap,
    )
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        print_judge_check(result)
