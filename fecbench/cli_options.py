"""The options several ``fecbench`` commands share (annotations, video roots, sources, the judge), and their parsing.

Part of the command line: nothing heavier than typer is imported until a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

AnnotationsOpt = Annotated[
    Path | None,
    typer.Option("--annotations", help="Annotation file (test.json schema, JSON list or JSONL). Default: FEC-Bench."),
]
VideoRootOpt = Annotated[
    list[str] | None,
    typer.Option("--video-root", help="Folder holding the source folders, or SOURCE=DIR for one source. Repeatable."),
]
AllowAbsoluteOpt = Annotated[
    bool,
    typer.Option("--allow-absolute-videos", help="Read absolute `video` paths (refused by default; docs/data.md)."),
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


def judge_options(judge: str | None, judge_args: str | None, no_judge: bool) -> tuple[str | None, dict[str, Any]]:
    """The judge name (None with --no-judge) and its parsed arguments."""
    from fecbench.errors import ConfigError
    from fecbench.judges.registry import parse_judge_args
    from fecbench.scoring import DEFAULT_JUDGE

    if no_judge and (judge or judge_args):
        raise ConfigError("--no-judge cannot be combined with --judge or --judge-args")
    return (None if no_judge else judge or DEFAULT_JUDGE), parse_judge_args(judge_args)


def source_list(value: str | None) -> list[str] | None:
    """--sources as a list (None: every source)."""
    return [s.strip() for s in value.split(",") if s.strip()] if value else None
