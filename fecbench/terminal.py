"""What the ``fecbench`` command prints: the consoles and the tables of adapters and scores.

Kept apart from :mod:`fecbench.cli`, which only parses options, calls the API and picks exit codes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from fecbench.display import format_metric

if TYPE_CHECKING:
    from fecbench.compare import Comparison
    from fecbench.data.check import SourceReport
    from fecbench.runner.outputs import RunResult

out = Console()
err = Console(stderr=True)


def _print_section(title: str, lines: list[str]) -> None:
    """A heading and its indented lines under a listing (commands to paste: printed as plain text); nothing if empty."""
    if lines:
        out.print(title)
        for line in lines:
            out.print(f"  {line}", soft_wrap=True, highlight=False, markup=False)


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
        table.columns[1].width = min(natural[1], 19)  # "fecbench 0.2.0.dev0"
        table.columns[3].width = 12
        table.columns[2].width = max(12, content - 12 - table.columns[0].width - table.columns[1].width)
    hints, own_env = [], []
    for row in rows:
        if row.get("runs") == "own-env":  # its dependencies live in its own environment, not in this one
            own_env.append(f"{row['name']}: {row['env_create']}")
            dependencies = "[yellow]own env[/yellow]"
        else:
            dependencies = _dependencies_cell(row, hints)
        provider = f"{row['provider']} {row['provider_version']}"
        table.add_row(row["name"], provider, row["default_checkpoint"] or "-", dependencies)
    out.print(table)
    _print_section("To install what is missing:", hints)
    _print_section("Run in an environment of their own (create it, then pass the --model-env it prints):", own_env)
    out.print("More: fecbench models --verbose (aliases, frames, summaries), --json", highlight=False)


def print_model_details(rows: list[dict[str, Any]]) -> None:
    """A block per adapter with every field, for reading rather than scanning."""
    for row in rows:
        if row.get("runs") == "own-env":
            repo, commit = row["environment"]["repo"], row["environment"]["commit"][:12]
            runs_in = f"its own environment ({repo} @ {commit}): {row['env_create']}"
        else:
            runs_in = "fecbench's process (or any environment with --model-env)"
        fields = [("checkpoint", row["default_checkpoint"] or "-"), ("frames", str(row["default_frames"]))]
        _print_details(row, fields, [f"  runs in:    {runs_in}"])


def print_judge_table(rows: list[dict[str, Any]]) -> None:
    """One row per judge: where it comes from, what it answers, whether it can load; install hints below."""
    table = Table("name", "provider", "tasks", "default model", "dependencies")
    for column in table.columns:
        column.overflow = "fold"
    hints = []
    for row in rows:
        dependencies = _dependencies_cell(row, hints)
        provider = f"{row['provider']} {row['provider_version']}"
        table.add_row(row["name"], provider, ", ".join(row["tasks"]), row["default_model"] or "-", dependencies)
    out.print(table)
    _print_section("To install what is missing:", hints)
    out.print("More: fecbench judges --verbose (aliases, requirements, summaries), --json", highlight=False)


def print_judge_details(rows: list[dict[str, Any]]) -> None:
    """A block per judge with every field."""
    for row in rows:
        _print_details(row, [("tasks", ", ".join(row["tasks"])), ("model", row["default_model"] or "-")], [])


def _dependencies_cell(row: dict[str, Any], hints: list[str]) -> str:
    """A listing row's dependencies cell; what is missing adds its install hint to ``hints``."""
    if not row["missing"]:
        return "[green]ok[/green]"
    hints.append(f"{row['name']}: {row['install_hint'] or 'install ' + ', '.join(row['missing'])}")
    return "[red]missing " + ", ".join(row["missing"]) + "[/red]"


def _print_details(row: dict[str, Any], fields: list[tuple[str, str]], more: list[str]) -> None:
    """One plugin's block: name, provider, the kind's own ``fields``, requirements, factory, ``more``, summary."""
    aliases = f" (also: {', '.join(row['aliases'])})" if row["aliases"] else ""
    needs = ", ".join(row["requires"]) or "nothing"
    state = f"missing {', '.join(row['missing'])}; {row['install_hint']}" if row["missing"] else "installed"
    lines = [
        f"{row['name']}{aliases}",
        f"  provider:   {row['provider']} {row['provider_version']}",
        *(f"  {label + ':':<11} {value}" for label, value in fields),
        f"  needs:      {needs} ({state})",
        f"  factory:    {row['factory']}",
        *more,
    ]
    if row["summary"]:
        lines.append(f"  {row['summary']}")
    for line in lines:
        out.print(line, soft_wrap=True, highlight=False, markup=False)


CHECK_EDITS = ("drop", "flip", "reorder", "paraphrase", "foreign")


def print_judge_check(result: dict[str, Any]) -> None:
    """The judge check in three narrow tables: accuracy per task, AutoDQ/TEM error, both per edit."""
    judge, suite = result["judge"], result["suite"]

    def interval(ci: list[float] | None, signed: bool = False) -> str:
        if not ci:
            return "-"
        fmt = "{:+.3f}" if signed else "{:.3f}"
        return f"[{fmt.format(ci[0])}, {fmt.format(ci[1])}]"

    def cell(value: float | None, signed: bool = False) -> str:
        return "-" if value is None else (f"{value:+.3f}" if signed else f"{value:.3f}")

    def table(title: str, *columns: str) -> Table:
        made = Table(title=title)
        for i, name in enumerate(columns):
            made.add_column(name, justify="left" if i == 0 else "right", no_wrap=True)
        return made

    tasks = table(
        f"judge check: {judge['name']} ({judge['backend']} {judge['model']}, {judge['prompt_version']} "
        f"{judge['prompts_sha256'][:12]})",
        *("task", "accuracy", "95% CI", "items", "failed"),
    )
    for task, entry in result["tasks"].items():
        failed = f"[red]{entry['failed']}[/red]" if entry["failed"] else "0"
        tasks.add_row(task, cell(entry["accuracy"]), interval(entry["ci95"]), str(entry["items"]), failed)
    errors = table(
        "AutoDQ and TEM from caption texts", *("metric", "known", "judged", "error", "95% CI", "mean |error|")
    )
    by_edit = table("by edit: accuracy, and metric error", "", *CHECK_EDITS)
    for task, entry in result["tasks"].items():
        by_edit.add_row(task, *(cell(entry["by_edit"].get(edit)) for edit in CHECK_EDITS))
    for metric, entry in result["metrics"].items():
        errors.add_row(
            metric,
            cell(entry["known"]),
            cell(entry["judged"]),
            cell(entry["error"], signed=True),
            interval(entry["ci95"], signed=True),
            cell(entry["abs_error"]),
        )
        by_edit.add_row(f"{metric} error", *(cell(entry["by_edit"].get(edit), signed=True) for edit in CHECK_EDITS))
    for made in (tasks, errors, by_edit):
        out.print(made)
    origin = "FEC-Bench test.json" if suite.get("fec_bench") else suite.get("annotations", "annotations")
    cases = ", ".join(f"{count} {edit}" for edit, count in suite["by_edit"].items())
    out.print(
        f"suite: {suite['cases']} cases ({cases}) from {suite['captions']} reference captions of {origin}, "
        f"seed {suite['seed']}; {result['failed_cases']} cases with a judge failure; {result['seconds']:.1f} s",
        highlight=False,
        markup=False,
    )
    if result.get("file"):
        out.print(
            f"saved: {result['file']} (scoring with this judge cites it)", soft_wrap=True, highlight=False, markup=False
        )


def report_failures(result: RunResult, retry: str = "") -> bool:
    """The failed clips of a run by cause, then the metrics with failures; True when there is either (exit 1)."""
    if result.n_failed:
        err.print(f"[red]{result.n_failed} of {result.n_clips} clips failed:[/red]")
        for kind, count in result.failures.items():
            err.print(f"  {count} x {kind}")
        if retry:
            err.print(f"details per clip: {result.run_dir / 'predictions.jsonl'}; {retry}")
    return bool(report_metric_failures(result.scores)) or bool(result.n_failed)


def report_score_failures(scores: dict[str, Any]) -> bool:
    """Clips without a prediction and metrics with failures, printed; True when there is either (exit 1)."""
    if scores.get("n_failed"):
        err.print(f"[red]{scores['n_failed']} of {scores['n_total']} clips have no prediction to score:[/red]")
        for kind, count in (scores.get("failures") or {}).items():
            err.print(f"  {count} x {kind}", highlight=False, markup=False)
    return bool(report_metric_failures(scores)) or bool(scores.get("n_failed"))


def report_metric_failures(scores: dict[str, Any] | None) -> dict[str, int]:
    """Metrics that could not score some clips with a prediction (judge failures), printed: name -> clips.

    The judge's failed tasks are printed by :func:`print_scores`; a non-empty result means exit status 1.
    """
    if not scores:
        return {}
    without_prediction = int(scores.get("n_failed", 0))
    failing = {
        name: int(metric.get("n_failed", 0)) - without_prediction
        for name, metric in scores.get("metrics", {}).items()
        if not metric.get("unsupported") and int(metric.get("n_failed", 0)) > without_prediction
    }
    if failing:
        _print_metric_failures(scores, failing)
    return failing


def _print_metric_failures(scores: dict[str, Any], failing: dict[str, int]) -> None:
    scored = int(scores.get("n", 0))
    parts = ", ".join(f"{name} {count} of {scored}" for name, count in failing.items())
    err.print(f"[red]metrics with failures (clips not scored):[/red] {parts}", highlight=False)
    err.print("  scoring again (fecbench score RUN_DIR) retries only these: good verdicts are cached", highlight=False)


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
        # at the metric's scale, as `compare` and the site write it (CIDEr-D 8.1e-26 reads 0.000)
        value = "-" if metric["value"] is None else format_metric(name, metric["value"])
        low, high = metric["ci95"] or (None, None)
        interval = "-" if low is None else f"[{format_metric(name, low)}, {format_metric(name, high)}]"
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
        check = judge.get("check")
        if check:
            accuracy = ", ".join(f"{task} {value:.3f}" for task, value in check["accuracy"].items())
            errors = ", ".join(f"{name} {value:+.3f}" for name, value in check["error"].items() if value is not None)
            out.print(
                f"judge check ({check['checked_at'][:10]}, {check['suite']['cases']} cases): accuracy {accuracy}; "
                f"error {errors}",
                highlight=False,
                markup=False,
            )
        if judge.get("clips_failed"):
            failures = ", ".join(f"{task}: {n}" for task, n in judge["clips_failed"].items())
            err.print(f"judge failures (clips): {failures}; see clip_scores.jsonl", highlight=False, markup=False)
    else:
        out.print("no judge: AutoDQ, TEM and the Video-ChatGPT scores not computed", highlight=False)


def print_data_check(reports: list[SourceReport]) -> None:
    """Per source: clips, found, missing, unreadable, refused (if any), usable; then a few examples of each problem."""
    refused = any(r.refused for r in reports)
    table = Table("source", "clips", "found", "missing", "unreadable", *(["refused"] if refused else []), "usable")
    for r in reports:
        counts = [r.clips, r.found, r.missing, r.unreadable, *([r.refused] if refused else []), r.ok]
        table.add_row(r.source, *map(str, counts))
    out.print(table)
    for r in reports:
        for example in r.missing_examples:
            out.print(f"  missing    {r.source}: {example}")
        for example in r.unreadable_examples:
            out.print(f"  unreadable {r.source}: {example}")
        for example in r.refused_examples:
            out.print(f"  refused    {r.source}: {example}", highlight=False, markup=False)


def print_comparison(result: Comparison, *, sources: bool = True) -> None:
    """B - A per metric (and per source) with the paired interval and the sign's share, then the clips that moved."""
    out.print(f"A: {result.a}  ({result.a_run_id})", highlight=False, markup=False)
    out.print(f"B: {result.b}  ({result.b_run_id})", highlight=False, markup=False)
    out.print(f"track: {result.track}", highlight=False, markup=False)
    only = f"; only in A: {result.only_a}, only in B: {result.only_b}" if result.only_a or result.only_b else ""
    out.print(
        f"{result.shared} shared clips{only}; paired bootstrap, {result.resamples} resamples, seed {result.seed}",
        highlight=False,
        markup=False,
    )
    shown = [d for d in result.differences if sources or d.source == "all"]
    by_source = any(d.source != "all" for d in shown)
    table = Table(title=f"B - A ({result.level:.0%} paired intervals)")
    table.add_column("metric")
    if by_source:
        table.add_column("source")
    for name in ("n", "A", "B", "B - A"):
        table.add_column(name, justify="right")
    table.add_column("interval", justify="right", no_wrap=True)
    table.add_column("sign holds", justify="right", no_wrap=True)
    for d in shown:
        interval = "-" if d.ci_low is None else f"[{format_metric(d.metric, d.ci_low, signed=True)}, "
        interval += "" if d.ci_high is None else f"{format_metric(d.metric, d.ci_high, signed=True)}]"
        style = "bold" if d.distinguishable else ""
        cells = [d.metric if d.source == "all" else ""] + ([d.source] if by_source else [])
        table.add_row(
            *cells,
            str(d.n),
            format_metric(d.metric, d.a),
            format_metric(d.metric, d.b),
            format_metric(d.metric, d.diff, signed=True),
            interval,
            "-" if d.sign_share is None else f"{d.sign_share:.1%}",
            style=style,
        )
    out.print(table)
    out.print("bold: the interval excludes 0 (not a tie)", highlight=False, markup=False)
    if result.moved:
        out.print(f"clips that moved most ({result.moved[0].metric} per clip):", highlight=False, markup=False)
    for clip in result.moved:
        score = f"{format_metric(clip.metric, clip.a)} -> {format_metric(clip.metric, clip.b)}"
        lines = [f"  clip {clip.id} ({clip.source}): {score} ({format_metric(clip.metric, clip.delta, signed=True)})"]
        for label, text in (("reference", clip.reference), ("A", clip.prediction_a), ("B", clip.prediction_b)):
            lines.append(f"    {label}: " + text.strip().replace("\n", "\n" + " " * (len(label) + 6)))
        for line in lines:
            out.print(line, soft_wrap=True, highlight=False, markup=False)
