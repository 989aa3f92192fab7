"""A result record's numbers are checked when it is loaded: scales, intervals, counts, types, the benchmark claimed.

Each case starts from a record committed under ``results/`` (valid as it is), breaks one thing the way a
careless or hostile pull request would, and expects the load to fail with the file and the field path named;
``leaderboard build`` then refuses it with exit 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fecbench_leaderboard.records import RecordError, load_record

from fecbench.data.fecbench_default import FEC_BENCH_SHA256

RESULTS = Path(__file__).resolve().parents[1] / "results"
RUN = RESULTS / "runs" / "baseline-offline-demo.json"
REPORTED = RESULTS / "reported" / "fec-bench-paper.json"


def fresh(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def set_failed(record: dict[str, Any], failed: int) -> None:
    """``n_failed`` raised everywhere it is counted except against the clips: only n_total disagrees."""
    record["n_failed"] = failed
    record["per_source"][0]["n_failed"] = failed
    for metric in record["metrics"].values():
        if metric["unsupported"] is None:
            metric["n_failed"] = failed


RUN_CASES: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    (
        "tem above 1",
        lambda r: r["metrics"]["tem"].update(value=7.5),
        r"metrics\.tem\.value: 7\.5 is outside TEM's scale 0 to 1",
    ),
    (
        "negative cider",
        lambda r: r["metrics"]["cider"].update(value=-0.1, ci95=[-0.2, 0.1]),
        r"metrics\.cider\.value: -0\.1 is outside CIDEr's scale 0 to 10",
    ),
    (
        "rating above 5",
        lambda r: r["per_source"][0]["metrics"]["rouge_l"].update(ci95=[0.4, 1.5]),
        r"per_source\[0\]\.metrics\.rouge_l\.ci95\[1\]: 1\.5 is outside ROUGE-L's scale",
    ),
    (
        "recall above 1",
        lambda r: r["metrics"]["autodq"].update(recall=1.2),
        r"metrics\.autodq\.recall: 1\.2 is outside",
    ),
    (
        "interval leaves out its value",
        lambda r: r["metrics"]["tem"].update(ci95=[0.1, 0.2]),
        r"metrics\.tem\.ci95: \[0\.1, 0\.2\] does not contain the value 0\.619",
    ),
    (
        "example score off scale",
        lambda r: r["examples"]["worst"][0]["scores"].update(tem_recall=3.0),
        r"examples\.worst\[0\]\.scores\.tem_recall: 3\.0 is outside",
    ),
    (
        "more failed than clips",
        lambda r: set_failed(r, 99),
        r"(?m)^  n_failed: n 12 \+ n_failed 99 is 111, not n_total 12$",
    ),
    (
        "a metric counts other clips",
        lambda r: r["metrics"]["rouge_l"].update(n=4),
        r"metrics\.rouge_l\.n_failed: n 4 \+ n_failed 0 is 4, not the clips 12",
    ),
    (
        "a source counts other clips",
        lambda r: r["per_source"][0].update(n_failed=3),
        r"per_source\[0\]\.n_failed: n 12 \+ n_failed 3 is 15, not the source's clips 12",
    ),
    (
        "sources do not add up",
        lambda r: r["per_source"].append({**r["per_source"][0], "source": "other"}),
        r"per_source: the sources' clips add up to 24, not the run's n_total 12",
    ),
    ("n_total is not the clips", lambda r: r.update(n_total=4, n=4), r"n_total: 4, but benchmark\.clips is 12"),
    (
        "failure causes do not add up",
        lambda r: r.update(failures={"model error": 2}),
        r"failures: the causes count 2 clips, but n_failed is 0",
    ),
    (
        "value without clips",
        lambda r: r["metrics"]["vcgpt_detail"].update(value=3.0),
        r"metrics\.vcgpt_detail: an unsupported metric has no value",
    ),
    (
        "no value for scored clips",
        lambda r: r["metrics"]["tem"].update(value=None, ci95=None),
        r"metrics\.tem\.value: null, but n says 12 clips were scored",
    ),
    (
        "a string for a number",
        lambda r: r["metrics"]["tem"].update(value="0.5"),
        r"metrics\.tem\.value: Input should be a valid number",
    ),
    ("a string for a count", lambda r: r.update(n="12"), r"\bn: Input should be a valid integer"),
    (
        "a boolean for a count",
        lambda r: r["per_source"][0].update(clips=True),
        r"per_source\[0\]\.clips: Input should be a valid integer",
    ),
    (
        "a string in an interval",
        lambda r: r["metrics"]["cider"].update(ci95=["0", 1]),
        r"metrics\.cider\.ci95\[0\]: Input should be a valid number",
    ),
    (
        "a string for frames",
        lambda r: r["frame_protocol"].update(num_frames="16"),
        r"frame_protocol\.num_frames: Input should be a valid integer",
    ),
    (
        "claims FEC-Bench",
        lambda r: r["benchmark"].update(fec_bench=True),
        r"benchmark\.fec_bench: claims FEC-Bench, but annotations_sha256 is 0736",
    ),
    (
        "denies FEC-Bench",
        lambda r: r["benchmark"].update(annotations_sha256=FEC_BENCH_SHA256),
        r"benchmark\.fec_bench: denies FEC-Bench",
    ),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in RUN_CASES], ids=[c[0] for c in RUN_CASES])
def test_a_broken_run_record_is_refused_naming_the_field(
    tmp_path: Path, change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    record = fresh(RUN)
    change(record)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(RecordError, match=message) as error:
        load_record(path)
    assert str(error.value).startswith(f"{path}: invalid run record")


REPORTED_CASES: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    (
        "tem printed above 1",
        lambda r: r["rows"][0]["metrics"].update(tem="7.5"),
        r"rows\[0\]\.metrics\.tem: 7\.5 is outside TEM's scale 0 to 1",
    ),
    (
        "rating printed above 5",
        lambda r: r["rows"][2]["metrics"].update(vcgpt_detail="5.10"),
        r"rows\[2\]\.metrics\.vcgpt_detail: 5\.1 is outside Detail's scale 0 to 5",
    ),
    (
        "a negative figure",
        lambda r: r["rows"][1]["metrics"].update(rouge_l="-0.2"),
        r"rows\[1\]\.metrics\.rouge_l: -0\.2 is outside",
    ),
    (
        "a number, not the printed figure",
        lambda r: r["rows"][0]["metrics"].update(tem=0.291),
        r"rows\[0\]\.metrics\.tem: Input should be a valid string",
    ),
    (
        "not a decimal",
        lambda r: r["rows"][0]["metrics"].update(tem="0.29%"),
        r"rows\[0\]\.metrics\.tem: String should match pattern",
    ),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in REPORTED_CASES], ids=[c[0] for c in REPORTED_CASES])
def test_a_broken_reported_figure_is_refused_naming_the_row(
    tmp_path: Path, change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    record = fresh(REPORTED)
    change(record)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(RecordError, match=message) as error:
        load_record(path)
    assert str(error.value).startswith(f"{path}: invalid reported record")


def test_the_committed_records_pass_as_they_are() -> None:
    for path in sorted(RESULTS.rglob("*.json")):
        load_record(path)


def test_build_refuses_a_record_off_its_scale_with_exit_2(tmp_path: Path) -> None:
    """The record that was ranked first before: TEM 7.5. The build stops before writing a page."""
    record = fresh(RUN)
    record["metrics"]["tem"].update(value=7.5, ci95=[7.0, 8.0])
    path = tmp_path / "tem-7.5.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "fecbench.cli", "leaderboard", "build", str(path), "--out", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert (
        f"{path}: invalid run record:" in done.stderr and "metrics.tem.value: 7.5 is outside TEM's scale" in done.stderr
    )
    assert not (tmp_path / "site" / "index.html").exists()
