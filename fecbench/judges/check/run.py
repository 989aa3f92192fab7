"""Putting the known-answer suite to a judge and scoring its answers.

Two kinds of question are asked, both through the :class:`~fecbench.judges.engine.JudgeEngine`
(verdict cache, validation), exactly as scoring asks them:

- *per task*, with the known events as inputs, so each task is judged on its own: ``extract`` on
  every caption (right when it finds as many events as the caption has sentences), ``classify``
  on each side's events against the other caption (right label per event), ``align`` on the two
  event lists (right reference and relation per predicted event);
- *end to end*, the way scoring computes AutoDQ and TEM from caption texts alone (the judge's own
  events, then classify and align), compared with the values the suite knows.

Accuracies are shares of items over all cases; AutoDQ and TEM errors are judged minus known corpus
values (F1 of mean recall and mean precision). 95% intervals are percentile bootstraps over cases
(:mod:`fecbench.metrics.bootstrap`). A judge failure counts as a wrong answer for its task and
leaves its case out of the end-to-end errors (counted in ``failed``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fecbench.judges.base import JudgeFailure
from fecbench.judges.check.suite import EDITS, Case, Suite
from fecbench.metrics.bootstrap import bootstrap_interval
from fecbench.metrics.events import autodq_clip, corpus_f, tem_clip

if TYPE_CHECKING:
    from fecbench.judges.engine import JudgeEngine

CHECK_VERSION = 1
TASK_NAMES = ("extract", "classify", "align")
METRIC_NAMES = ("autodq", "tem")


def run_check(
    engine: JudgeEngine, suite: Suite, *, judge_name: str, bootstrap: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """The check result (a JSON-ready dict) of ``engine``'s judge on ``suite``."""
    cases = suite.cases
    if not cases:
        raise ValueError("the judge check suite is empty: no caption had three single-event sentences")
    started = time.time()
    tallies = {task: np.zeros((len(cases), 2)) for task in TASK_NAMES}  # per case: right, asked
    failures = dict.fromkeys(TASK_NAMES, 0)
    _extract_tally(engine, cases, tallies["extract"], failures)
    _classify_tally(engine, cases, tallies["classify"], failures)
    _align_tally(engine, cases, tallies["align"], failures)
    judged, failed = _end_to_end(engine, cases)

    edits = np.array([case.edit for case in cases])
    tasks = {
        task: _accuracy_entry(tallies[task], edits, failures[task], bootstrap=bootstrap, seed=seed)
        for task in TASK_NAMES
    }
    metrics = {name: _error_entry(cases, judged, name, edits, bootstrap=bootstrap, seed=seed) for name in METRIC_NAMES}
    return {
        "check_version": CHECK_VERSION,
        "judge": {"name": judge_name, **engine.identity.as_dict()},
        "suite": {
            **suite.source,
            "captions": suite.captions,
            "cases": len(cases),
            "by_edit": {edit: int((edits == edit).sum()) for edit in EDITS},
            "seed": suite.seed,
            "sha256": suite.sha256,
        },
        "bootstrap": {"resamples": bootstrap, "seed": seed, "level": 0.95},
        "tasks": tasks,
        "metrics": metrics,
        "failed_cases": failed,
        "stats": engine.stats,
        "seconds": round(time.time() - started, 3),
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _extract_tally(engine: JudgeEngine, cases: Sequence[Case], tally: np.ndarray, failures: dict[str, int]) -> None:
    """Right when the events found number the caption's sentences (each carries exactly one)."""
    texts = {case.reference_text: len(case.reference) for case in cases}
    texts.update({case.prediction_text: len(case.prediction) for case in cases})
    answers = dict(zip(texts, engine.run("extract", [{"text": t} for t in texts]), strict=True))
    failures["extract"] = sum(isinstance(a, JudgeFailure) for a in answers.values())
    for i, case in enumerate(cases):
        for text, expected in (
            (case.reference_text, len(case.reference)),
            (case.prediction_text, len(case.prediction)),
        ):
            answer = answers[text]
            tally[i] += (not isinstance(answer, JudgeFailure) and len(answer["events"]) == expected, 1)


def _classify_tally(engine: JudgeEngine, cases: Sequence[Case], tally: np.ndarray, failures: dict[str, int]) -> None:
    items, expected, owner = [], [], []
    for i, case in enumerate(cases):
        items += [
            {"events": case.reference, "text": case.prediction_text},
            {"events": case.prediction, "text": case.reference_text},
        ]
        expected += [case.reference_labels, case.prediction_labels]
        owner += [i, i]
    for i, labels, answer in zip(owner, expected, engine.run("classify", items), strict=True):
        if isinstance(answer, JudgeFailure):
            failures["classify"] += 1
            tally[i] += (0, len(labels))
        else:
            tally[i] += (sum(a == b for a, b in zip(answer["labels"], labels, strict=True)), len(labels))


def _align_tally(engine: JudgeEngine, cases: Sequence[Case], tally: np.ndarray, failures: dict[str, int]) -> None:
    items = [{"reference_events": c.reference, "predicted_events": c.prediction} for c in cases]
    for i, (case, answer) in enumerate(zip(cases, engine.run("align", items), strict=True)):
        if isinstance(answer, JudgeFailure):
            failures["align"] += 1
            tally[i] += (0, len(case.alignment))
        else:
            right = sum(a == b for a, b in zip(answer["alignment"], case.alignment, strict=True))
            tally[i] += (right, len(case.alignment))


def _end_to_end(engine: JudgeEngine, cases: Sequence[Case]) -> tuple[list[dict[str, Any] | None], int]:
    """Per case, the judged AutoDQ and TEM recall/precision from the texts alone (None: a judge failure)."""
    texts = list(dict.fromkeys(t for c in cases for t in (c.reference_text, c.prediction_text)))
    extracted = dict(zip(texts, engine.run("extract", [{"text": t} for t in texts]), strict=True))
    events: dict[int, tuple[list[str], list[str]]] = {}
    for i, case in enumerate(cases):
        ref, pred = extracted[case.reference_text], extracted[case.prediction_text]
        if not isinstance(ref, JudgeFailure) and not isinstance(pred, JudgeFailure):
            events[i] = (ref["events"], pred["events"])
    classify_items, where = [], []
    for i, (ref_events, pred_events) in events.items():
        for side, side_events, other in (("ref", ref_events, cases[i].prediction_text), ("pred", pred_events, None)):
            if side_events:
                classify_items.append({"events": side_events, "text": other or cases[i].reference_text})
                where.append((i, side))
    labels: dict[tuple[int, str], Any] = dict(
        zip(where, engine.run("classify", classify_items) if classify_items else [], strict=True)
    )
    need = [i for i, (ref, pred) in events.items() if ref and pred]
    aligned = dict(
        zip(
            need,
            engine.run("align", [{"reference_events": events[i][0], "predicted_events": events[i][1]} for i in need])
            if need
            else [],
            strict=True,
        )
    )
    judged: list[dict[str, Any] | None] = [None] * len(cases)
    for i, (ref_events, pred_events) in events.items():
        ref_labels = labels.get((i, "ref"), {"labels": []})
        pred_labels = labels.get((i, "pred"), {"labels": []})
        alignment = aligned.get(i, {"alignment": [{"reference": None, "relation": "neutral"} for _ in pred_events]})
        if any(isinstance(x, JudgeFailure) for x in (ref_labels, pred_labels, alignment)):
            continue
        judged[i] = {
            "autodq": autodq_clip(ref_labels["labels"], pred_labels["labels"]),
            "tem": tem_clip(len(ref_events), alignment["alignment"]),
        }
    return judged, sum(j is None for j in judged)


def _interval(statistic: Callable[[np.ndarray], float], n: int, bootstrap: int, seed: int) -> list[float] | None:
    if bootstrap < 1 or n < 1:
        return None
    low, high = bootstrap_interval(statistic, n, B=bootstrap, seed=seed)
    return [low, high]


def _accuracy_entry(tally: np.ndarray, edits: np.ndarray, failed: int, *, bootstrap: int, seed: int) -> dict[str, Any]:
    def accuracy(idx: np.ndarray) -> float:
        right, asked = tally[idx].sum(axis=0)
        return float(right / asked) if asked else float("nan")

    everything = np.arange(len(tally))
    return {
        "accuracy": accuracy(everything),
        "ci95": _interval(accuracy, len(tally), bootstrap, seed),
        "items": int(tally[:, 1].sum()),
        "failed": failed,
        "by_edit": {edit: accuracy(np.flatnonzero(edits == edit)) for edit in EDITS if (edits == edit).any()},
    }


def _error_entry(
    cases: Sequence[Case],
    judged: list[dict[str, Any] | None],
    name: str,
    edits: np.ndarray,
    *,
    bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """Judged minus known corpus value of ``name`` over the cases the judge answered, with its interval."""
    ok = [i for i, j in enumerate(judged) if j is not None]
    if not ok:
        return {"known": None, "judged": None, "error": None, "ci95": None, "abs_error": None, "n": 0, "by_edit": {}}
    known = np.array([[cases[i].known()[name]["recall"], cases[i].known()[name]["precision"]] for i in ok])
    got = np.array([[judged[i][name]["recall"], judged[i][name]["precision"]] for i in ok])  # type: ignore[index]
    kinds = edits[ok]

    def error(idx: np.ndarray) -> float:
        return corpus_f(got[idx, 0], got[idx, 1]) - corpus_f(known[idx, 0], known[idx, 1])

    everything = np.arange(len(ok))
    return {
        "known": corpus_f(known[:, 0], known[:, 1]),
        "judged": corpus_f(got[:, 0], got[:, 1]),
        "error": error(everything),
        "ci95": _interval(error, len(ok), bootstrap, seed),
        "abs_error": float(np.abs(got - known).mean()),  # per case, per side
        "n": len(ok),
        "by_edit": {edit: error(np.flatnonzero(kinds == edit)) for edit in EDITS if (kinds == edit).any()},
    }
