"""Scoring with judges: the event metrics of run folders, judge failures, the verdict cache, external predictions.

The ``keyword`` judge of ``tests/plugins/fecbench_test_judges.py`` is a deterministic rule judge registered
through ``FECBENCH_PLUGINS`` like any unpackaged plugin; the end-to-end test puts the same rules behind the
loopback chat-completions server and scores through the ``openai`` judge over real HTTP.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import plugins_registered

from fecbench import api
from fecbench.errors import ConfigError, FecbenchError
from fecbench.metrics.events import corpus_f
from fecbench.runner.outputs import CLIP_SCORES, RUN_JSON

N_CLIPS = 12


@pytest.fixture
def judges(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register the test judges (and adapters) as an unpackaged plugin would be."""
    with plugins_registered(monkeypatch, "fecbench_test_adapters", "fecbench_test_judges"):
        yield


@pytest.fixture
def annotations(tmp_path: Path, fec_bench_test_json: Path) -> Path:
    """The first real FEC-Bench records (tests read the shared file, never copy it into the repository)."""
    records = json.loads(fec_bench_test_json.read_text())[:N_CLIPS]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(records))
    return path


def reversed_sentences(caption: str) -> str:
    return " ".join(reversed([s.strip() for s in re.split(r"(?<=\.)\s+", caption) if s.strip()]))


def model_predictions(annotations: Path, **overrides: str | None) -> list[dict[str, Any]]:
    """Predictions of a pretend model: exact, borrowed from another clip, reordered, or empty."""
    records = json.loads(annotations.read_text())
    out = []
    for i, record in enumerate(records):
        kind = i % 4
        caption = record["caption"]
        text = [caption, records[(i + 1) % len(records)]["caption"], reversed_sentences(caption), ""][kind]
        out.append({"id": record["id"], "prediction": overrides.get(record["id"], text)})
    return out


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_clip_scores(run_dir: Path) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in map(json.loads, (run_dir / CLIP_SCORES).read_text().splitlines())}


def score_file(tmp_path: Path, annotations: Path, rows: list[dict[str, Any]], name: str, **kwargs: Any) -> Path:
    run_dir = tmp_path / name
    api.score(write_jsonl(tmp_path / f"{name}.jsonl", rows), annotations=annotations, out=run_dir, **kwargs)
    return run_dir


# -- a run folder scored with the test judge ----------------------------------------------------------


def test_scores_hold_every_metric_with_interval_and_the_judge(judges, tmp_path: Path, annotations: Path) -> None:
    run_dir = score_file(tmp_path, annotations, model_predictions(annotations), "run", judge="keyword", bootstrap=200)
    scores = json.loads((run_dir / "scores.json").read_text())
    metrics = scores["metrics"]
    assert set(metrics) == {
        "cider",
        "rouge_l",
        "autodq",
        "tem",
        "vcgpt_correctness",
        "vcgpt_detail",
        "vcgpt_context",
        "vcgpt_temporal",
    }
    versions = {name: m["version"] for name, m in metrics.items()}
    assert versions["autodq"] == "autodq-v1" and versions["tem"] == "tem-v1" and versions["vcgpt_detail"] == "vcgpt-v1"
    for entry in metrics.values():
        assert entry["n"] == N_CLIPS and entry["n_failed"] == 0
        assert entry["ci95"][0] <= entry["value"] <= entry["ci95"][1]
    judge = scores["judge"]
    assert (judge["name"], judge["backend"], judge["model"], judge["prompt_version"]) == (
        "keyword",
        "test-keyword",
        "rules",
        "1",
    )
    assert len(judge["prompts_sha256"]) == 64 and judge["describe"] == {"rules": "keyword test judge"}
    # each distinct text is extracted once: 12 references + the non-copied predictions (the borrowed ones repeat
    # other clips' references, and the three empty predictions are one text)
    assert judge["stats"]["extract"]["judge_calls"] == N_CLIPS + 3 + 1
    assert judge["stats"]["align"]["requested"] == N_CLIPS - 3  # empty predictions need no alignment

    clips = read_clip_scores(run_dir)
    for name in ("autodq", "tem"):
        recalls = [clips[i][name]["recall"] for i in sorted(clips)]
        precisions = [clips[i][name]["precision"] for i in sorted(clips)]
        assert metrics[name]["value"] == pytest.approx(corpus_f(recalls, precisions))
        assert metrics[name]["recall"] == pytest.approx(sum(recalls) / N_CLIPS)
    exact, reordered, empty = clips["0"], clips["2"], clips["3"]
    assert exact["events"]["reference"] == exact["events"]["prediction"] and len(exact["events"]["reference"]) > 1
    assert exact["tem"]["recall"] == exact["tem"]["precision"] == exact["autodq"]["recall"] == 1.0
    assert exact["tem"]["matched"] == [[k, k] for k in range(1, len(exact["events"]["reference"]) + 1)]
    # the same events told in another order: the content is all there, the order is not
    assert reordered["autodq"]["recall"] == 1.0
    assert reordered["tem"]["L"] < len(reordered["events"]["reference"]) and reordered["tem"]["out_of_order"]
    assert reordered["tem"]["L"] == len(reordered["tem"]["matched"])
    assert set(reordered["tem"]["missed"]) == set(range(1, len(reordered["events"]["reference"]) + 1)) - {
        k for _, k in reordered["tem"]["matched"]
    }
    assert empty["events"]["prediction"] == [] and empty["autodq"]["precision"] == 1.0 and empty["tem"]["L"] == 0
    assert metrics["tem"]["value"] < metrics["autodq"]["value"]
    assert set(exact["vcgpt"]) == {"correctness", "detail", "context", "temporal"}
    assert all(c["judge_failures"] == [] for c in clips.values())


def test_judge_failures_are_counted_never_scored(judges, tmp_path: Path, annotations: Path) -> None:
    captions = {r["id"]: r["caption"] for r in json.loads(annotations.read_text())}
    rows = model_predictions(
        annotations,
        **{
            "0": captions["0"] + " judgefail-extract",  # no events: AutoDQ and TEM fail, the rating does not
            "1": captions["1"] + " judgefail-classify",  # reference events cannot be classified: AutoDQ fails
            "4": captions["4"] + " Then he blinks judgefail-align.",  # TEM fails
            "5": captions["5"] + " judgefail-rate",  # the Video-ChatGPT scores fail
            "6": None,  # a failed prediction
        },
    )
    run_dir = score_file(tmp_path, annotations, rows, "run", judge="keyword", bootstrap=0)
    scores = json.loads((run_dir / "scores.json").read_text())
    metrics = scores["metrics"]
    assert (scores["n"], scores["n_failed"]) == (N_CLIPS - 1, 1)
    assert (metrics["cider"]["n"], metrics["cider"]["n_failed"]) == (N_CLIPS - 1, 1)
    assert (metrics["autodq"]["n"], metrics["autodq"]["n_failed"]) == (N_CLIPS - 3, 3)
    assert (metrics["tem"]["n"], metrics["tem"]["n_failed"]) == (N_CLIPS - 3, 3)
    assert (metrics["vcgpt_temporal"]["n"], metrics["vcgpt_temporal"]["n_failed"]) == (N_CLIPS - 2, 2)
    assert scores["judge"]["clips_failed"] == {"align": 1, "classify": 1, "extract": 1, "rate": 1}

    clips = read_clip_scores(run_dir)
    assert "6" not in clips
    assert clips["0"]["events"]["prediction"] is None and clips["0"]["autodq"] is None and clips["0"]["tem"] is None
    assert clips["0"]["judge_failures"] == [
        {"task": "extract", "side": "prediction", "error": "test judge told to fail extraction", "attempts": 3}
    ]
    assert clips["0"]["vcgpt"] is not None
    assert clips["1"]["autodq"] is None and clips["1"]["tem"] is not None
    assert clips["1"]["judge_failures"][0]["side"] == "reference"
    assert clips["4"]["tem"] is None and clips["4"]["autodq"] is not None
    assert clips["5"]["vcgpt"] is None and clips["5"]["judge_failures"][0]["task"] == "rate"
    # the corpus values come from the clips that were scored, failed ones left out (not zeros)
    scored = [c["autodq"] for c in clips.values() if c["autodq"] is not None]
    assert metrics["autodq"]["value"] == pytest.approx(
        corpus_f([s["recall"] for s in scored], [s["precision"] for s in scored])
    )
    ratings = [c["vcgpt"]["temporal"] for c in clips.values() if c["vcgpt"] is not None]
    assert metrics["vcgpt_temporal"]["value"] == pytest.approx(sum(ratings) / len(ratings))


def test_second_scoring_makes_no_judge_call_and_references_are_shared(
    judges, tmp_path: Path, annotations: Path
) -> None:
    rows = model_predictions(annotations)
    run_dir = score_file(tmp_path, annotations, rows, "run", judge="keyword", bootstrap=0)
    first = json.loads((run_dir / "scores.json").read_text())
    again = api.score(run_dir, judge="keyword", bootstrap=0)
    assert all(task["judge_calls"] == 0 for task in again["judge"]["stats"].values())
    assert {t: s["cache_hits"] for t, s in again["judge"]["stats"].items()} == {
        t: s["judge_calls"] for t, s in first["judge"]["stats"].items()
    }
    assert again["metrics"] == first["metrics"]

    # another model on the same clips: every reference's events come from the cache
    other = score_file(
        tmp_path, annotations, [{**r, "prediction": "He smiles."} for r in rows], "other", judge="keyword"
    )
    extract = json.loads((other / "scores.json").read_text())["judge"]["stats"]["extract"]
    assert (extract["cache_hits"], extract["judge_calls"]) == (N_CLIPS, 1)

    uncached = api.score(run_dir, judge="keyword", bootstrap=0, cache=False)
    assert uncached["judge"]["cache"] is None
    assert uncached["judge"]["stats"]["extract"]["judge_calls"] == first["judge"]["stats"]["extract"]["judge_calls"]


def test_a_judge_that_cannot_rate_leaves_those_metrics_unsupported(judges, tmp_path: Path, annotations: Path) -> None:
    run_dir = score_file(tmp_path, annotations, model_predictions(annotations), "run", judge="keyword-norate")
    metrics = json.loads((run_dir / "scores.json").read_text())["metrics"]
    assert metrics["autodq"]["value"] is not None
    for dimension in ("correctness", "detail", "context", "temporal"):
        entry = metrics[f"vcgpt_{dimension}"]
        assert entry["value"] is None and entry["n"] == 0
        assert entry["unsupported"] == "judge 'keyword-norate' does not rate captions (no 'rate' task)"
    assert all(c["vcgpt"] is None for c in read_clip_scores(run_dir).values())


def test_default_judge_is_the_offline_lexical_one(tmp_path: Path, annotations: Path) -> None:
    run_dir = score_file(tmp_path, annotations, model_predictions(annotations), "run", bootstrap=0)
    scores = json.loads((run_dir / "scores.json").read_text())
    assert scores["judge"]["name"] == "lexical" and scores["judge"]["backend"] == "lexical"
    assert scores["metrics"]["tem"]["n"] == N_CLIPS and scores["metrics"]["tem"]["value"] is not None
    assert (
        scores["metrics"]["vcgpt_context"]["unsupported"] == "judge 'lexical' does not rate captions (no 'rate' task)"
    )
    exact = read_clip_scores(run_dir)["0"]
    assert exact["tem"]["recall"] == exact["tem"]["precision"] == 1.0 and exact["vcgpt"] is None


def test_no_judge_scores_ngram_only(judges, tmp_path: Path, annotations: Path) -> None:
    run_dir = score_file(tmp_path, annotations, model_predictions(annotations), "run", judge=None)
    scores = json.loads((run_dir / "scores.json").read_text())
    assert scores["judge"] is None and set(scores["metrics"]) == {"cider", "rouge_l"}
    assert set(read_clip_scores(run_dir)["0"]) == {"id", "cider", "rouge_l"}


def test_judge_options_are_checked(judges, tmp_path: Path, annotations: Path) -> None:
    rows = model_predictions(annotations)
    with pytest.raises(ConfigError, match="unknown judge 'nope'"):
        score_file(tmp_path, annotations, rows, "a", judge="nope")
    with pytest.raises(ConfigError, match="--concurrency: judge 'keyword' takes no concurrency"):
        score_file(tmp_path, annotations, rows, "b", judge="keyword", concurrency=4)
    with pytest.raises(ConfigError, match="does not take temperature"):
        score_file(tmp_path, annotations, rows, "c", judge="keyword", judge_args={"temperature": 0})


# -- predictions made elsewhere ---------------------------------------------------------------------


def authors_records(annotations: Path, prefix: str = "/data/FEC-Bench/videos/") -> list[dict[str, Any]]:
    """The list that the benchmark authors' inference script writes."""
    return [
        {"video_path": prefix + r["video"], "instruction": "Describe the face.", "output": r["caption"]}
        for r in json.loads(annotations.read_text())
    ]


def test_authors_format_is_matched_by_video_path(judges, tmp_path: Path, annotations: Path) -> None:
    records = authors_records(annotations)
    records[1]["video_path"] = json.loads(annotations.read_text())[1]["video"]  # exact
    records[2]["video_path"] = records[2]["video_path"].replace("/", "\\")  # Windows separators
    records[3]["output"] = None  # the other harness failed on this clip
    del records[4]  # and never wrote this one
    source = tmp_path / "fec_bench_output.json"
    source.write_text(json.dumps(records, indent=2))
    run_dir = api.import_predictions(source, annotations=annotations, out=tmp_path / "ext")
    spec = json.loads((run_dir / RUN_JSON).read_text())
    assert spec["model"]["name"] == "fec_bench_output" and spec["model"]["provider"] == "external"
    assert spec["model"]["loaded"]["source_file"] == str(source.resolve())
    assert spec["model"]["loaded"]["source_sha256"] == spec["model"]["args"]["predictions_sha256"]
    assert spec["prompt"] == "Describe the face."
    scores = api.score(run_dir, judge="keyword", bootstrap=0)
    assert (scores["n"], scores["n_failed"]) == (N_CLIPS - 2, 2)
    assert set(scores["failures"]) == {"no prediction"}
    assert scores["metrics"]["rouge_l"]["value"] == pytest.approx(1.0)
    assert scores["metrics"]["autodq"]["value"] == pytest.approx(1.0)
    # the same file again finds its folder; another file may not overwrite it
    assert api.import_predictions(source, annotations=annotations, out=tmp_path / "ext") == run_dir
    records[0]["output"] = "He smiles."
    source.write_text(json.dumps(records))
    with pytest.raises(ConfigError, match="holds a different run"):
        api.import_predictions(source, annotations=annotations, out=tmp_path / "ext")


def test_relative_tails_match_and_ambiguous_ones_are_refused(tmp_path: Path) -> None:
    annotations = tmp_path / "a.json"
    annotations.write_text(
        json.dumps(
            [
                {"id": "0", "video": "DFEW/videos/1353.mp4", "caption": "He blinks."},
                {"id": "1", "video": "MAFW/data/1353.mp4", "caption": "She smiles."},
                {"id": "2", "video": "CAER_mp4/train/Happy/0001.mp4", "caption": "He nods."},
            ]
        )
    )
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            [
                {"video_path": "videos/1353.mp4", "output": "a"},  # the tail of one path only
                {"video_path": "/mnt/x/MAFW/data/1353.mp4", "output": "b"},
                {"video_path": "./CAER_mp4/train/Happy/0001.mp4", "output": "c"},
            ]
        )
    )
    run_dir = api.import_predictions(good, annotations=annotations, out=tmp_path / "r")
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert [(r["id"], r["prediction"]) for r in rows] == [("0", "a"), ("1", "b"), ("2", "c")]
    ambiguous = tmp_path / "ambiguous.json"
    ambiguous.write_text(json.dumps([{"video_path": "1353.mp4", "output": "a"}]))
    with pytest.raises(ConfigError, match=r"record 0: video_path '1353.mp4' is ambiguous: 'DFEW/videos/1353.mp4'"):
        api.import_predictions(ambiguous, annotations=annotations, out=tmp_path / "s")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"video_path": "a", "output": "x"},\n {"video_path": }]', r"bad\.json: invalid JSON at line 2, column 17"),
        ('{"id": "0", "prediction": "x"}\n{"id": "1", "prediction": "y"\n', r"bad\.json: line 2 is not valid JSON"),
        ('{"id": "nope", "prediction": "x"}\n', r"line 1: id 'nope' is not in .*annotations\.json"),
        (
            '{"id": "0", "prediction": "x"}\n{"id": "0", "prediction": "y"}\n',
            r"line 2: a second prediction for clip '0' \(.*\); the first is line 1",
        ),
        (
            '[{"video_path": "/x/NOPE/1.mp4", "output": "x"}]',
            r"record 0: video_path '/x/NOPE/1.mp4' matches no annotated",
        ),
        (
            '{"id": "0", "caption": "x"}\n',
            r"line 1: expected \{\"id\", \"prediction\"\} or .*got keys \['caption', 'id'\]",
        ),
        ('{"id": "0", "prediction": 3}\n', r"line 1: field 'prediction' must be a string or null, got int"),
        (
            '[{"id": "0", "prediction": "x"}, {"video_path": "a", "output": "y"}]',
            r"record 1: mixes shapes; record 0 has the id-prediction shape",
        ),
        ("  \n", r"bad\.json: the file is empty"),
    ],
)
def test_malformed_predictions_files_name_the_record(
    tmp_path: Path, annotations: Path, content: str, message: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(FecbenchError, match=message):
        api.import_predictions(bad, annotations=annotations, out=tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_duplicate_video_paths_name_both_records(tmp_path: Path, annotations: Path) -> None:
    records = authors_records(annotations)
    records.append({**records[3], "video_path": "/elsewhere/" + json.loads(annotations.read_text())[3]["video"]})
    bad = tmp_path / "dup.json"
    bad.write_text(json.dumps(records))
    with pytest.raises(ConfigError, match=rf"record {N_CLIPS}: a second prediction for clip .*the first is record 3"):
        api.import_predictions(bad, annotations=annotations, out=tmp_path / "r")


# -- the command line ---------------------------------------------------------------------------------


def fecbench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "fecbench.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_cli_scores_a_predictions_file_and_rescores_from_the_cache(judges, tmp_path: Path, annotations: Path) -> None:
    rows = model_predictions(annotations, **{"5": "He blinks judgefail-rate."})
    source = write_jsonl(tmp_path / "preds.jsonl", rows)
    run_dir = tmp_path / "run"
    args = ["--judge", "keyword", "--bootstrap", "100"]
    done = fecbench("score", str(source), "--annotations", str(annotations), "--out", str(run_dir), *args)
    assert done.returncode == 1, done.stderr  # a metric with failures: exit 1 (the rating of clip 5 failed)
    assert "metrics with failures (clips not scored): vcgpt_correctness 1 of 12" in done.stderr
    assert f"run folder: {run_dir}" in done.stdout
    table = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") > 4}
    cells = table["vcgpt_correctness (vcgpt-v1)"].split("│")
    assert cells[3].strip().startswith("[") and (cells[4].strip(), cells[5].strip()) == (str(N_CLIPS - 1), "1")
    assert "tem (tem-v1)" in table and "autodq (autodq-v1)" in table
    assert "judge keyword: test-keyword rules" in done.stdout and "judge failures (clips): rate: 1" in done.stderr

    again = fecbench("score", str(run_dir), *args)
    assert again.returncode == 1, again.stderr
    assert re.search(r"; judge calls: 1, cache hits: \d+", again.stdout)  # failures are asked again, never cached

    plain = fecbench("score", str(run_dir), "--no-judge")
    assert plain.returncode == 0 and "no judge: AutoDQ, TEM and the Video-ChatGPT scores not computed" in plain.stdout
    wrong = fecbench("score", str(run_dir), "--annotations", str(annotations))
    assert wrong.returncode == 2 and "apply to a predictions file, not to a run folder" in wrong.stderr
    both = fecbench("score", str(run_dir), "--no-judge", "--judge", "keyword")
    assert both.returncode == 2 and "--no-judge cannot be combined" in both.stderr


def test_run_scores_with_the_chosen_judge(judges, tmp_path: Path, clip_set: Path) -> None:
    result = api.run(
        "frame-stats",
        annotations=clip_set,
        video_roots=[str(clip_set.parent / "videos")],
        output=tmp_path / "r",
        judge="keyword",
        bootstrap=50,
    )
    assert result.scores["judge"]["name"] == "keyword"
    assert result.scores["metrics"]["tem"]["n"] == 6 and result.scores["bootstrap"]["resamples"] == 50
    with pytest.raises(ConfigError, match="unknown judge 'nope'"):
        api.run("frame-stats", annotations=clip_set, output=tmp_path / "s", judge="nope")
    assert not (tmp_path / "s").exists()  # refused before the model ran


# -- end to end through HTTP ----------------------------------------------------------------------------


def test_openai_judge_over_http_scores_like_the_same_rules_in_process(
    judges, tmp_path: Path, annotations: Path
) -> None:
    """The keyword rules answer as a chat model would (JSON in the reply); the scores must be the same."""
    pytest.importorskip("openai")
    from chat_server import Reply, running_chat_server
    from fecbench_test_judges import rules_answer

    rows = model_predictions(annotations, **{"5": "He blinks judgefail-rate."})
    run_dir = score_file(tmp_path, annotations, rows, "run", judge="keyword", bootstrap=100)
    local = json.loads((run_dir / "scores.json").read_text())

    def rules_after_a_moment(request: Any) -> Reply:  # long enough for requests to overlap
        answer = rules_answer(request)
        return Reply(content=answer, delay=0.02) if isinstance(answer, str) else answer

    with running_chat_server(rules_after_a_moment, api_key="sk-test") as server:
        args = {"model": "judge-model", "base_url": server.base_url, "api_key": "sk-test", "backoff": 0.01}
        args["max_retries"] = 1
        remote = api.score(run_dir, judge="openai", judge_args=args, concurrency=3, bootstrap=100)
        first_calls = server.count
        again = api.score(run_dir, judge="openai", judge_args=args, bootstrap=100)
        assert server.count == first_calls + 2  # only the failed rating is asked again (twice: one retry)
        assert 1 < server.max_in_flight <= 3
    assert (remote["judge"]["backend"], remote["judge"]["model"]) == ("openai", "judge-model")
    stats = remote["judge"]["stats"]
    assert first_calls == sum(task["judge_calls"] for task in stats.values()) + 1  # the failed rating was retried
    assert {task: s["judge_calls"] for task, s in again["judge"]["stats"].items()} == {
        "extract": 0,
        "classify": 0,
        "align": 0,
        "rate": 1,
    }
    assert remote["judge"]["clips_failed"] == {"rate": 1}
    for name, entry in local["metrics"].items():
        assert remote["metrics"][name]["value"] == pytest.approx(entry["value"]), name
        assert remote["metrics"][name]["ci95"] == pytest.approx(entry["ci95"]), name
        assert (remote["metrics"][name]["n"], remote["metrics"][name]["n_failed"]) == (entry["n"], entry["n_failed"])
    remote_clips = read_clip_scores(run_dir)
    assert remote_clips["5"]["judge_failures"][0]["attempts"] == 2
    failure = remote_clips["5"]["judge_failures"][0]
    assert "no JSON" in failure["error"] and failure["raw"] == "I cannot rate this (judgefail-rate)."
