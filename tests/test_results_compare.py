"""Results as data (fecbench.results, leaderboard export) and paired comparisons (fecbench compare), on real runs.

The run folders are real: FEC-Bench captions of all seven sources, predictions made from them,
scored by fecbench's scorer with the tests' ``keyword`` judge or the offline ``lexical`` judge
(the helpers of ``test_leaderboard.py``). Every number the built site shows is checked against the
frame, cell by cell.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_PLUGINS, fec_bench_test_json_path
from fecbench_leaderboard.records import RecordError, RunRecord, dump_record, load_record
from fecbench_leaderboard.runfolder import make_record
from test_leaderboard import RESULTS, fec_clips, make_run, neighbour, reorder, standard_runs
from typer.testing import CliRunner

import fecbench
from fecbench import api
from fecbench.cli import app
from fecbench.compare import compare_records
from fecbench.display import format_metric
from fecbench.errors import ConfigError
from fecbench.metrics.ngram import score_ngram
from fecbench.results import COLUMNS

TERSE = "The person smiles and then blinks."


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """strong, weak (one standard track, keyword judge), norate (another judge), close (strong, one clip changed)."""
    root = tmp_path_factory.mktemp("results")
    from fecbench.plugins import plugin_manager

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FECBENCH_CACHE_DIR", str(root / "cache"))
        mp.setenv("FECBENCH_OFFLINE", "1")
        mp.syspath_prepend(str(TEST_PLUGINS))
        mp.setenv("FECBENCH_PLUGINS", "fecbench_test_judges")
        plugin_manager.cache_clear()
        clips = fec_clips(fec_bench_test_json_path())
        found = standard_runs(root / "runs", clips)
        found["close"] = make_run(
            root / "runs",
            "close",
            clips,
            lambda i, c: None if i == 1 else (c["caption"] if i == 5 else reorder(c["caption"])),
        )
        found["lexical"] = make_run(root / "runs", "lexical", clips, neighbour(clips), judge="lexical")
        # a terse caption: CIDEr-D about 1e-25 (its length penalty), which pages once printed as 8.381e-26
        found["terse"] = make_run(root / "runs", "terse", clips, lambda i, c: TERSE)
        yield found
    plugin_manager.cache_clear()


# ---------------------------------------------------------------- the frame


def test_the_frame_has_its_declared_columns_and_one_row_per_run_metric_source(runs: dict[str, Path]) -> None:
    table = fecbench.results.load([runs["strong"], runs["weak"]])
    assert list(table.columns) == list(COLUMNS)
    assert {c: str(t) for c, t in table.dtypes.items()} == COLUMNS
    measured = table[table["kind"] == "measured"]
    assert not measured.duplicated(["run_id", "metric", "source"]).any()
    record = make_record(runs["strong"])
    mine = measured[measured["run_id"] == record.run_id]
    overall = mine[mine["source"] == "all"].set_index("metric")
    assert set(overall.index) == set(record.metrics)
    for key, metric in record.metrics.items():
        row = overall.loc[key]
        if metric.value is None:
            assert pd.isna(row["value"]) and row["unsupported"] == metric.unsupported
        else:
            assert row["value"] == metric.value and (row["ci_low"], row["ci_high"]) == tuple(metric.ci95)
        assert (row["n"], row["n_failed"], row["metric_version"]) == (metric.n, metric.n_failed, metric.version)
    dfew = next(s for s in record.per_source if s.source == "DFEW")
    tem = mine[(mine["source"] == "DFEW") & (mine["metric"] == "tem")].iloc[0]
    assert tem["value"] == dfew.metrics["tem"].value and tem["clips"] == dfew.clips
    assert set(mine["source"]) == {"all", *(s.source for s in record.per_source)}
    # the authors' reported rows, figures as printed, no interval; tracks and runs are plain columns
    reported = table[table["kind"] == "reported"]
    facetrack = reported[(reported["name"] == "FaceTrack-MM") & (reported["metric"] == "cider")]
    assert list(facetrack["figure"]) == ["0.418"] and facetrack["ci_low"].isna().all()
    assert measured["track_id"].nunique() == 1 and measured["standard"].all()
    assert not fecbench.results.load([runs["strong"]], reported=False)["kind"].eq("reported").any()


def test_export_writes_the_frame_as_csv_parquet_and_json(runs: dict[str, Path], tmp_path: Path) -> None:
    table = api.results_table([runs["strong"], runs["norate"]])
    runner = CliRunner()
    for fmt in ("csv", "json", "parquet"):
        out = tmp_path / f"results.{fmt}"
        done = runner.invoke(
            app, ["leaderboard", "export", str(runs["strong"]), str(runs["norate"]), "--format", fmt, "--out", str(out)]
        )
        assert done.exit_code == 0, done.output
        if fmt == "csv":
            back = pd.read_csv(out, dtype={k: v for k, v in COLUMNS.items() if v == "string"}).astype(COLUMNS)
        elif fmt == "json":
            rows = json.loads(out.read_text())
            assert rows[0]["source"] == "all" and any(r["ci_low"] is None for r in rows)
            back = pd.DataFrame(rows, columns=list(COLUMNS)).astype(COLUMNS)
        else:
            back = pd.read_parquet(out)
        pd.testing.assert_frame_equal(back, table, check_exact=False, rtol=1e-12)
    done = runner.invoke(app, ["leaderboard", "export", str(runs["strong"]), "--format", "xlsx", "--out", "x"])
    assert done.exit_code != 0 and "--format must be one of csv, parquet, json" in str(done.exception)


class Tables(HTMLParser):
    """Every table cell with its attributes and text, table by table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[dict[str, str | None], list[list[tuple[dict[str, str | None], str]]]]] = []
        self.cell: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append((dict(attrs), []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th") and self.tables:
            self.cell = []
            self.tables[-1][1][-1].append((dict(attrs), ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            attrs, _ = self.tables[-1][1][-1][-1]
            self.tables[-1][1][-1][-1] = (attrs, "".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)


def parse(path: Path) -> Tables:
    parser = Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_number_on_the_site_is_the_frames(runs: dict[str, Path], tmp_path: Path) -> None:
    inputs = [runs["strong"], runs["weak"], runs["close"], runs["terse"], runs["norate"], runs["lexical"]]
    index = api.build_leaderboard(inputs, tmp_path / "site")
    table = fecbench.results.load(inputs)
    overall = table[(table["kind"] == "measured") & (table["source"] == "all")].set_index(["name", "metric"])
    checked = 0
    for attrs, rows in parse(index).tables:
        if "ranking" not in (attrs.get("class") or ""):
            continue
        header = [a.get("data-metric") for a, _ in rows[0]]
        for row in rows[1:]:
            name = row[1][1]
            for (cell, text), metric in zip(row, header, strict=True):
                if metric is None:
                    continue
                expected = overall.loc[(name, metric)]
                assert float(cell["data-sort"]) == expected["value"], (name, metric)
                low, high = format_metric(metric, expected["ci_low"]), format_metric(metric, expected["ci_high"])
                assert text == f"{format_metric(metric, expected['value'])}[{low}, {high}]", (name, metric, text)
                checked += 1
    assert checked >= 4 * 6
    assert 0 < overall.loc[("terse (org/terse-7b)", "cider")]["value"] < 1e-10  # tiny, and on the page as 0.000
    # a run page: the metric table and the per-source table
    page = next((tmp_path / "site" / "runs").glob("strong*.html"))
    name = "strong (org/strong-7b)"
    mine = table[table["name"] == name]
    labels = {fecbench_label(k): k for k in mine["metric"].unique()}
    tables = {a.get("class"): rows for a, rows in parse(page).tables}
    for row in tables["metrics"][1:]:
        metric = labels[row[0][1]]
        value = mine[(mine["source"] == "all") & (mine["metric"] == metric)]["value"].iloc[0]
        if pd.isna(value):
            assert row[1][1] == "–"
        else:
            assert float(row[1][0]["data-sort"]) == value
    header = [text for _, text in tables["sources"][0]]
    for row in tables["sources"][1:]:
        source = row[0][1]
        for (cell, _), label in zip(row[4:], header[4:], strict=True):
            value = mine[(mine["source"] == source) & (mine["metric"] == labels[label])]["value"].iloc[0]
            assert float(cell["data-sort"]) == value, (source, label)
            checked += 1
    assert checked > 50
    # never scientific notation anywhere on any page
    for html in (tmp_path / "site").rglob("*.html"):
        text = " ".join(parse(html).text)
        assert not re.search(r"\de[-+]\d", text), html


def fecbench_label(key: str) -> str:
    from fecbench_leaderboard.catalog import info

    return info(key).label


def test_the_lexical_judge_is_marked_and_never_drawn_beside_the_papers_event_metrics(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    api.build_leaderboard([runs["lexical"], runs["strong"]], tmp_path / "site")
    index = (tmp_path / "site" / "index.html").read_text()
    assert index.count('class="lexical-note"') == 1 and "not comparable with scores made by an LLM judge" in index
    page = next((tmp_path / "site" / "runs").glob("lexical*.html")).read_text()
    assert "offline lexical judge" in page
    charts = (tmp_path / "site" / "charts.html").read_text()
    lexical = charts[charts.index("lexical judge rules-v1") :]
    lexical = lexical[: lexical.find("<section", 10)]
    tem_chart = lexical[lexical.index("<h3>TEM</h3>") :]
    assert "FaceTrack-MM" not in tem_chart[: tem_chart.index("</svg>")]
    rouge_chart = lexical[lexical.index("<h3>ROUGE-L</h3>") :]
    assert "FaceTrack-MM" in rouge_chart[: rouge_chart.index("</svg>")]  # the paper's ROUGE-L is comparable


def test_measured_runs_come_before_the_collapsed_reported_rows(runs: dict[str, Path], tmp_path: Path) -> None:
    dfew = [c for c in fec_clips(fec_bench_test_json_path()) if c["video"].startswith("DFEW/")]
    subset = make_run(tmp_path, "subset", dfew, neighbour(dfew), judge=None, full=False, sources=["DFEW"])
    html = api.build_leaderboard([runs["strong"], subset], tmp_path / "site").read_text()
    assert html.index('id="standard"') < html.index('id="other"') < html.index('id="reported"')
    assert html.index("<details") < html.index("FaceTrack-MM")


# ---------------------------------------------------------------- paired comparison


def test_compare_is_a_paired_bootstrap_of_each_corpus_formula(runs: dict[str, Path]) -> None:
    a, b = make_record(runs["weak"]), make_record(runs["strong"])
    result = compare_records(a, b)
    shared = sorted({c.id for c in a.clips} & {c.id for c in b.clips})
    assert result.shared == len(shared) == 20 and (result.only_a, result.only_b) == (1, 0)
    by_a, by_b = {c.id: c for c in a.clips}, {c.id: c for c in b.clips}
    # CIDEr-D: the corpus formula on the shared clips (idf from their references), not a mean of per-clip values
    cider = result.overall("cider")
    own = [
        score_ngram({i: by_a[i].reference for i in shared}, {i: s[i].prediction for i in shared}, bootstrap=0)
        for s in (by_a, by_b)
    ]
    assert cider.a == pytest.approx(own[0]["cider"]["value"]) and cider.b == pytest.approx(own[1]["cider"]["value"])
    assert cider.diff == pytest.approx(cider.b - cider.a)
    # TEM: F1 of the means, and the paired interval recomputed by hand with the same resamples
    tem = result.overall("tem")
    ra, pa = (np.array([by_a[i].scores[f"tem_{s}"] for i in shared]) for s in ("recall", "precision"))
    rb, pb = (np.array([by_b[i].scores[f"tem_{s}"] for i in shared]) for s in ("recall", "precision"))

    def f1(r: np.ndarray, p: np.ndarray) -> float:
        return 2 * r.mean() * p.mean() / (r.mean() + p.mean())

    assert tem.diff == pytest.approx(f1(rb, pb) - f1(ra, pa))
    rng = np.random.default_rng(a.bootstrap.seed)
    diffs = []
    for _ in range(a.bootstrap.resamples):
        idx = rng.integers(0, len(shared), size=len(shared))
        diffs.append(f1(rb[idx], pb[idx]) - f1(ra[idx], pa[idx]))
    assert (tem.ci_low, tem.ci_high) == pytest.approx(tuple(np.percentile(diffs, [2.5, 97.5])))
    assert tem.sign_share == pytest.approx(np.mean(np.sign(diffs) == np.sign(tem.diff)))
    # the strong run is clearly better on TEM: the paired interval excludes 0
    assert tem.diff > 0 and tem.distinguishable and tem.sign_share > 0.95
    # per source, on that source's shared clips; the clips that moved most, with both captions
    sources = {d.source for d in result.differences if d.metric == "tem"}
    assert sources == {"all", "CAER_mp4", "RAVDESS", "DFEW", "MER24", "MAFW", "AFEW-VA", "FERV39k"}
    moved = result.moved[0]
    assert moved.metric == "tem" and abs(moved.delta) == max(abs(m.delta) for m in result.moved)
    assert moved.reference == by_a[moved.id].reference and moved.prediction_b == by_b[moved.id].prediction


def test_a_run_against_itself_differs_by_exactly_nothing(runs: dict[str, Path]) -> None:
    record = make_record(runs["strong"])
    result = compare_records(record, record)
    assert all(d.diff == 0 and d.ci_low == 0 and d.ci_high == 0 for d in result.differences)
    assert not any(d.distinguishable for d in result.differences) and result.moved == []


def test_runs_on_different_tracks_are_refused_naming_the_difference(runs: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match=r"different tracks.*\n  judge: A .*test-keyword\|.* vs B .*keyword-norate"):
        api.compare(runs["strong"], runs["norate"])


def test_compare_command_prints_a_table_and_json(runs: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["compare", str(runs["weak"]), str(runs["strong"]), "--bootstrap", "200"])
    assert done.exit_code == 0, done.output
    assert "B - A" in done.output and "sign holds" in done.output and "clips that moved most" in done.output
    done = runner.invoke(app, ["compare", str(runs["weak"]), str(runs["strong"]), "--json", "--bootstrap", "200"])
    data = json.loads(done.output)
    assert data["resamples"] == 200 and data["shared"] == 20
    tem = next(d for d in data["differences"] if d["metric"] == "tem" and d["source"] == "all")
    assert tem["ci_low"] > 0 and 0 <= tem["sign_share"] <= 1
    # a record file works as well as a run folder; one without clip-level scores says what to do
    record = tmp_path / "weak.json"
    record.write_text(dump_record(make_record(runs["weak"])))
    assert api.compare(record, runs["strong"], resamples=50).overall("tem").diff == pytest.approx(tem["diff"])
    bare = api.record_run(runs["weak"], tmp_path / "bare.json", clips=False)
    assert json.loads(bare.read_text())["clips"] == []
    with pytest.raises(ConfigError, match="carries no clip-level scores"):
        api.compare(bare, runs["strong"])


def test_ties_and_compare_pages_on_the_site(runs: dict[str, Path], tmp_path: Path) -> None:
    site = tmp_path / "site"
    api.build_leaderboard([runs["strong"], runs["weak"], runs["close"]], site)
    html = (site / "index.html").read_text()
    # strong and close differ in one clip: tied (paired interval contains 0); weak is clearly below
    assert html.count('<span class="tie"> ≈</span>') == 1 and "paired 95% interval of the TEM difference" in html
    pages = sorted((site / "compare").glob("*.html"))
    assert len(pages) == 3  # every pair of a small track
    page = next(p for p in pages if p.name.startswith("strong") and "--vs--weak" in p.name).read_text()
    assert "B − A" in page and "Clips that moved most" in page and "sign holds" in page
    # records without clip-level scores fall back to overlapping intervals, and say so
    plain = []
    for name in ("strong", "weak", "close"):
        data = json.loads(dump_record(make_record(runs[name])))
        data.pop("clips")
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data))
        plain.append(path)
    html = api.build_leaderboard(plain, tmp_path / "old").read_text()
    assert "intervals overlap (records without clip-level scores)" in html
    assert not list((tmp_path / "old" / "compare").glob("*.html"))


def test_records_without_the_new_fields_still_load(tmp_path: Path) -> None:
    """record_version 1 stays readable: clips and thumbnails are additive."""
    old = load_record(RESULTS / "runs" / "baseline-offline-demo.json")
    assert isinstance(old, RunRecord) and old.clips == []
    data: dict[str, Any] = json.loads((RESULTS / "runs" / "baseline-offline-demo.json").read_text())
    data["examples"]["worst"][0]["thumbnail"] = "PHN2Zz48L3N2Zz4="  # base64 of "<svg></svg>": not a JPEG
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(RecordError, match=r"examples\.worst\[0\]: .*thumbnail: not a JPEG"):
        load_record(bad)


def test_without_pandas_or_pyarrow_the_message_says_what_to_install(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fecbench.errors import MissingDependencyError

    table = fecbench.results.load([runs["strong"]], reported=False)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # an import of it now raises ImportError
    with pytest.raises(
        MissingDependencyError, match=r"--format parquet needs pyarrow: pip install 'fecbench\[analysis\]'"
    ):
        fecbench.results.export(table, tmp_path / "r.parquet", "parquet")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"need pandas: pip install 'fecbench\[analysis\]'"):
        fecbench.results.load([runs["strong"]])


def test_small_tracks_get_every_pair_larger_ones_adjacent_ranks(runs: dict[str, Path]) -> None:
    from fecbench_leaderboard.comparepages import ALL_PAIRS_UP_TO, _pairs

    record = make_record(runs["weak"])
    copies = [record.model_copy(update={"name": f"run {k}"}) for k in range(ALL_PAIRS_UP_TO + 1)]
    assert len(_pairs(copies[:ALL_PAIRS_UP_TO])) == ALL_PAIRS_UP_TO * (ALL_PAIRS_UP_TO - 1) // 2
    pairs = _pairs(copies)
    assert [(a.name, b.name) for a, b in pairs] == [(f"run {k}", f"run {k + 1}") for k in range(ALL_PAIRS_UP_TO)]
    no_clips = record.model_copy(update={"clips": []})
    assert _pairs([record, no_clips]) == []  # a record without clip-level scores cannot be paired
