"""The benchmark data commands: ``fecbench data check`` and ``fecbench demo``.

Split from :mod:`fecbench.cli` (which registers them); like it, they only parse options, call
:mod:`fecbench.api` and print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fecbench.cli_options import AllowAbsoluteOpt, AnnotationsOpt, SourcesOpt, VideoRootOpt, source_list
from fecbench.terminal import err, out, print_data_check

data_app = typer.Typer(help="Inspect benchmark data.", no_args_is_help=True)


@data_app.command("check")
def data_check(
    annotations: AnnotationsOpt = None,
    video_root: VideoRootOpt = None,
    sources: SourcesOpt = None,
    allow_absolute: AllowAbsoluteOpt = False,
) -> None:
    """Per source dataset: clips found, missing and unreadable under the video roots."""
    from fecbench import api

    reports = api.check_data(annotations, video_root or [], source_list(sources), allow_absolute_videos=allow_absolute)
    print_data_check(reports)
    total_bad = sum(r.missing + r.unreadable + r.refused for r in reports)
    if total_bad:
        err.print(f"{total_bad} clips are missing, unreadable or refused; a run can be restricted with --sources")
        raise typer.Exit(1)


def demo(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write annotations.json and videos/ into.")],
    clips: Annotated[int, typer.Option(help="Number of clips.")] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the expression scripts.")] = 0,
) -> None:
    """Write the offline demo set: a real face with scripted expressions, captions in FEC-Bench style."""
    from fecbench import api

    path = api.make_demo(out_dir, clips=clips, seed=seed)
    out.print(f"demo set: {path} ({clips} clips, videos under {Path(out_dir) / 'videos'})")
