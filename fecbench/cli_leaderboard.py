"""The ``fecbench leaderboard`` commands that make records and the site: ``build``, ``check``, ``record``, ``serve``.

Split from :mod:`fecbench.cli` (which adds this group, and ``export`` from :mod:`fecbench.cli_results`, to the
``fecbench`` command); like it, they only parse options, call :mod:`fecbench.api` and print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fecbench.terminal import err, out

leaderboard_app = typer.Typer(help="Result records and the static leaderboard site.", no_args_is_help=True)


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


@leaderboard_app.command("check")
def leaderboard_check(
    paths: Annotated[list[Path], typer.Argument(help="Result records or folders of records (e.g. results/).")],
    changed_since: Annotated[
        str | None,
        typer.Option("--changed-since", help="Only the record files changed since this git revision (origin/main)."),
    ] = None,
) -> None:
    """Validate result records as the pull-request check does (schema, scales, counts, track); build nothing."""
    from fecbench import api

    checks = api.check_records(list(paths), changed_since=changed_since)
    for check in checks:
        if check.ok:
            out.print(check.summary, highlight=False, markup=False, soft_wrap=True)
        else:
            err.print(f"error: {check.error}", highlight=False, markup=False, soft_wrap=True)
    bad = sum(not c.ok for c in checks)
    since = f" changed since {changed_since}" if changed_since else ""
    if bad:
        err.print(f"{bad} of {len(checks)} record files{since} are invalid", highlight=False, markup=False)
        raise typer.Exit(2)
    if not checks:
        out.print(f"no record file{since} to check", highlight=False, markup=False)
    else:
        out.print(f"{len(checks)} record files{since} checked, all valid", highlight=False, markup=False)


@leaderboard_app.command("record")
def leaderboard_record(
    run_dir: Annotated[Path, typer.Argument(help="A scored run folder.")],
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Record file to write. Default: results/runs/<name>-<run id>.json.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="How the run is named on the pages.")] = None,
    examples: Annotated[int, typer.Option(help="Worst and best clips kept for the run's page (each).")] = 3,
    notes: Annotated[str, typer.Option(help="Free text shown on the run's page (hardware, caveats).")] = "",
    clips: Annotated[bool, typer.Option(help="Keep every clip's captions and scores (for paired comparisons).")] = True,
) -> None:
    """Turn a scored run folder into a result record to add to results/ by pull request."""
    from fecbench import api

    path = api.record_run(run_dir, out_path, name=name, examples=examples, notes=notes, clips=clips)
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
