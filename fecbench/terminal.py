"""What the ``fecbench`` command prints: the consoles and the tables of adapters and scores.

Kept apart from :mod:`fecbench.cli`, which only parses options, calls the API and picks exit codes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from fecbench.display import format_score

if TYPE_CHECKING:
    from fecbench.data.check import SourceReport

out = Console()
err = Console(stderr=True)


def print_model_table(rows: list[dict[str, Any]]) -> None:
    """One row per adapter, narrow enough for an 80-column terminal; install hints below, unwrapped to copy."""
    table = Table("name", "provider", "default checkpoint", "dependencies")
    for column in table.columns:
        column.overflow = "fold"  # checkpoint ids have no spaces: fold them rather than cut them
    cells = [
        (row["name"], f"{row['provider']} {row['provider_version']}", row["default_checkpoint"] or "-") for row in rows
    ]
    natural = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(("name", "provider", "checkpoint"))]
    content = out.width - 13  # what is left after 5 borders and 8 cells of padding
    if sum(natural) + 16 > content:  # a narrow terminal: wrap the other columns first, keep checkpoint ids whole
        table.columns[0].width = min(natural[0], 17)
        table.columns[1].width = min(natural[1], 14)  # "fecbench 0.1.0"
        table.columns[3].width = 12
        table.columns[2].width = max(12, content - 12 - table.columns[0].width - table.columns[1].width)
    hints, own_env = [], []
    for row in rows:
        if row.get("runs") == "own-env":  # its dependencies live in its own environment, not in this one
            own_env.append(f"{row['name']}: {row['env_create']}")
            dependencies = "[yellow]own env[/yellow]"
        elif row["missing"]:
            hints.append(f"{row['name']}: {row['install_hint'] or 'install ' + ', '.join(row['missing'])}")
            dependencies = "[red]missing " + ", ".join(row["missing"]) + "[/red]"
        else:
            dependencies = "[green]ok[/green]"
        provider = f"{row['provider']} {row['provider_version']}"
        table.add_row(row["name"], provider, row["default_checkpoint"] or "-", dependencies)
    out.print(table)
    if hints:
        out.print("To install what is missing:")
        for hint in hints:
            out.print(f"  {hint}", soft_wrap=True, highlight=False, markup=False)
    if own_env:
        out.print("Run in an environment of their own (create it, then pass the --model-env it prints):")
        for line in own_env:
            out.print(f"  {line}", soft_wrap=True, highlight=False, markup=False)
    out.print("More: fecbench models --verbose (aliases, frames, summaries), --json", highlight=False)


def print_model_details(rows: list[dict[str, Any]]) -> None:
    """A block per adapter with every field, for reading rather than scanning."""
    for row in rows:
        aliases = f" (also: {', '.join(row['aliases'])})" if row["aliases"] else ""
        needs = ", ".join(row["requires"]) or "nothing"
        state = f"missing {', '.join(row['missing'])}; {row['install_hint']}" if row["missing"] else "installed"
        lines = [
            f"{row['name']}{aliases}",
            f"  provider:   {row['provider']} {row['provider_version']}",
            f"  checkpoint: {row['default_checkpoint'] or '-'}",
            f"  frames:     {row['default_frames']}",
            f"  needs:      {needs} ({state})",
            f"  factory:    {row['factory']}",
        ]
        if row.get("runs") == "own-env":
            repo, commit = row["environment"]["repo"], row["environment"]["commit"][:12]
            lines.append(f"  runs in:    its own environment ({repo} @ {commit}): {row['env_create']}")
        else:
            lines.append("  runs in:    fecbench's process (or any environment with --model-env)")
        if row["summary"]:
            lines.append(f"  {row['summary']}")
        for line in lines:
            out.print(line, soft_wrap=True, highlight=False, markup=False)


def print_scores(scores: dict[str, Any]) -> None:
    """Every metric with its interval, n and failures, then the judge that scored them."""
    label = f" [yellow]{scores['subset']}[/yellow]" if scores.get("subset") else ""
    table = Table(title=f"{scores['model']}{label}: n={scores['n']}, failed={scores['n_failed']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("n", justify="right")
    table.add_column("failed", justify="right")
    unsupported: dict[str, list[str]] = {}
    for name, metric in scores["metrics"].items():
        row_label = f"{name} ({metric['version']})"
        if metric.get("unsupported"):
            unsupported.setdefault(metric["unsupported"], []).append(name)
            table.add_row(row_label, "-", "unsupported", "-", "-")
            continue
        value = "-" if metric["value"] is None else format_score(metric["value"])
        low, high = metric["ci95"] or (None, None)
        interval = "-" if low is None else f"[{format_score(low)}, {format_score(high)}]"
        failed = metric.get("n_failed", scores["n_failed"])
        table.add_row(row_label, value, interval, str(metric["n"]), f"[red]{failed}[/red]" if failed else "0")
    out.print(table)
    for reason, names in unsupported.items():
        out.print(f"unsupported ({', '.join(names)}): {reason}", highlight=False, markup=False)
    judge = scores.get("judge")
    if judge:
        calls = sum(task.get("judge_calls", 0) for task in judge["stats"].values())
        hits = sum(task.get("cache_hits", 0) for task in judge["stats"].values())
        out.print(
            f"judge {judge['name']}: {judge['backend']} {judge['model']}, prompts {judge['prompt_version']} "
            f"({judge['prompts_sha256'][:12]}); judge calls: {calls}, cache hits: {hits}",
            highlight=False,
            markup=False,
        )
        if judge.get("clips_failed"):
            failures = ", ".join(f"{task}: {n}" for task, n in judge["clips_failed"].items())
            err.print(f"judge failures (clips): {failures}; see clip_scores.jsonl", highlight=False, markup=False)
    else:
        out.print("no judge: AutoDQ, TEM and the Video-ChatGPT scores not computed", highlight=False)


def print_data_check(reports: list[SourceReport]) -> None:
    """Per source: clips, found, missing, unreadable, usable; then a few example paths of each problem."""
    table = Table("source", "clips", "found", "missing", "unreadable", "usable")
    for r in reports:
        table.add_row(r.source, str(r.clips), str(r.found), str(r.missing), str(r.unreadable), str(r.ok))
    out.print(table)
    for r in reports:
        for example in r.missing_examples:
            out.print(f"  missing    {r.source}: {example}")
        for example in r.unreadable_examples:
            out.print(f"  unreadable {r.source}: {example}")
