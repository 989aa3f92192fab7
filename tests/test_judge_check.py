"""The judge check: a known-answer suite from FEC-Bench's real reference captions, run on real judges.

The lexical judge runs in process; the ``openai`` judge talks over loopback HTTP to a chat server
(tests/chat_server.py) whose answers come from rules reading fecbench's own prompts: the lexical
rules (a judge that should pass) and the keyword rules of tests/plugins (one that should not).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from chat_server import ChatRequest, running_chat_server
from conftest import TEST_PLUGINS, fec_bench_captions, fec_bench_test_json_path
from test_cli import fecbench

from fecbench import api
from fecbench.judges.check.events import event_sentences, flip, paraphrase
from fecbench.judges.check.store import check_path, read_check
from fecbench.judges.check.suite import EDITS, build_suite
from fecbench.judges.lexical import LexicalJudge
from fecbench.metrics.events import longest_increasing_matches

FAST = {"backoff": 0.01, "backoff_max": 0.05}


@pytest.fixture(scope="module")
def captions() -> dict[str, str]:
    return fec_bench_captions()


# -- the suite -----------------------------------------------------------------------------------


def test_the_suite_is_deterministic_and_cut_from_the_real_captions(captions: dict[str, str]) -> None:
    suite = build_suite(captions, 40, seed=3)
    assert suite.sha256 == build_suite(captions, 40, seed=3).sha256
    assert suite.sha256 != build_suite(captions, 40, seed=4).sha256
    assert suite.captions == 40 and {c.edit for c in suite.cases} == set(EDITS)
    for case in suite.cases:
        source = captions[case.clip_id].lower()
        assert 3 <= len(case.reference) <= 8
        events = event_sentences(captions[case.clip_id])
        assert all(e.source in source for e in events)
        assert set(case.reference) <= {e.render(_person(case.reference[0])) for e in events}


def test_known_answers_follow_from_each_edit(captions: dict[str, str]) -> None:
    suite = build_suite(captions, 60, seed=0)
    for case in suite.cases:
        k, p = len(case.reference), len(case.prediction)
        known = case.known()
        if case.edit == "drop":
            assert set(case.prediction) < set(case.reference) and p < k
            assert known["autodq"] == known["tem"] == {"recall": p / k, "precision": 1.0}
            assert case.reference_labels.count("neutral") == k - p
        elif case.edit == "flip":
            (j,) = [i for i in range(k) if case.prediction[i] != case.reference[i]]
            assert case.reference_labels[j] == case.prediction_labels[j] == "contradiction"
            assert case.alignment[j] == {"reference": j + 1, "relation": "contradiction"}
            assert known["tem"] == {"recall": (k - 1) / k, "precision": (k - 1) / k}
        elif case.edit == "reorder":
            order = [case.reference.index(s) + 1 for s in case.prediction]
            assert sorted(order) == list(range(1, k + 1)) and order != sorted(order)
            lis = len(longest_increasing_matches(list(enumerate(order, start=1))))
            assert case.tem_matched == lis < k and known["autodq"] == {"recall": 1.0, "precision": 1.0}
        elif case.edit == "paraphrase":
            assert case.prediction != case.reference and known["tem"] == {"recall": 1.0, "precision": 1.0}
        else:
            assert not set(case.prediction) & set(case.reference)
            assert known["autodq"] == known["tem"] == {"recall": 0.0, "precision": 0.0}
            assert all(a == {"reference": None, "relation": "neutral"} for a in case.alignment)


def test_edits_read_right() -> None:
    (opens, turns) = event_sentences("The man opens his mouth slightly, then turns his head to the left.")
    assert opens.render("man") == "The man opens his mouth slightly."
    assert flip(opens).render("man") == "The man closes his mouth slightly."
    assert flip(turns).render("woman") == "The woman turns her head to the right."
    told, changes = paraphrase(turns)
    assert told.render("man", pronoun=True) == "His head turns toward the left." and changes == 2
    (eyes,) = event_sentences("The woman smiles; her eyes open wider, revealing her teeth.")[1:]
    assert eyes.render("woman") == "The woman's eyes open wider."
    with pytest.raises(ValueError, match="no opposite"):
        flip(eyes)  # "her eyes close wider" does not read
    (raises,) = event_sentences("The woman lowers and raises her head.")  # "lowers" lost its object
    assert raises.render("woman") == "The woman raises her head."


def _person(sentence: str) -> str:
    return re.match(r"The (man|woman|boy|girl)\b", sentence).group(1)  # type: ignore[union-attr]


# -- lexical, in process and from the command line --------------------------------------------


def test_lexical_check_from_the_command_line_is_saved_and_cited_by_scoring(tmp_path: Path) -> None:
    done = fecbench("judge", "check", "--annotations", str(fec_bench_test_json_path()), "--n", "40", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["suite"]["fec_bench"] is True and result["suite"]["captions"] == 40
    for task in ("extract", "classify", "align"):
        entry = result["tasks"][task]
        assert entry["items"] > 100 and 0.0 <= entry["ci95"][0] <= entry["accuracy"] <= entry["ci95"][1] <= 1.0
    assert set(result["metrics"]) == {"autodq", "tem"} and result["metrics"]["tem"]["n"] == result["suite"]["cases"]
    identity = LexicalJudge().identity()
    saved = Path(result["file"])
    assert saved == check_path(identity) and read_check(identity)["suite"]["sha256"] == result["suite"]["sha256"]

    table = fecbench("judge", "check", "--annotations", str(fec_bench_test_json_path()), "--n", "40")
    assert table.returncode == 0 and "AutoDQ and TEM from caption texts" in table.stdout and "saved:" in table.stdout

    from test_judge_answers import _run_folder

    scores = api.score(_run_folder(tmp_path / "run"), judge="lexical", bootstrap=0)
    check = scores["judge"]["check"]
    assert check["accuracy"] == {t: result["tasks"][t]["accuracy"] for t in ("extract", "classify", "align")}
    assert check["error"]["tem"] == result["metrics"]["tem"]["error"] and check["file"] == str(saved)


def test_the_result_is_the_same_for_the_same_seed_and_moves_with_another() -> None:
    def numbers(seed: int) -> tuple[dict, dict, str]:
        result = api.check_judge(
            "lexical", annotations=fec_bench_test_json_path(), n=15, seed=seed, cache=False, bootstrap=100
        )
        return result["tasks"], result["metrics"], result["suite"]["sha256"]

    first = numbers(1)
    assert numbers(1) == first
    assert numbers(2)[2] != first[2]


def test_an_unchecked_judge_is_recorded_as_unchecked(tmp_path: Path) -> None:
    from test_judge_answers import _run_folder

    scores = api.score(_run_folder(tmp_path / "run"), judge="lexical", bootstrap=0)
    assert scores["judge"]["check"] is None


def test_a_check_saved_for_another_identity_is_not_cited(tmp_path: Path) -> None:
    identity = LexicalJudge().identity()
    api.check_judge("lexical", annotations=fec_bench_test_json_path(), n=5, bootstrap=0)
    saved = json.loads(check_path(identity).read_text())
    saved["judge"]["prompts_sha256"] = "0" * 64  # a file moved or edited by hand: not this judge's
    check_path(identity).write_text(json.dumps(saved))
    assert read_check(identity) is None


# -- the openai judge over loopback --------------------------------------------------------------


def _block(prompt: str, header: str) -> str:
    match = re.search(re.escape(header) + r"\n<<<\n(.*?)\n>>>", prompt, re.DOTALL)
    assert match, f"no {header!r} block"
    return match.group(1)


def _numbered(prompt: str, header: str, until: str | None = None) -> list[str]:
    section = prompt.split(header, 1)[1]
    if until:
        section = section.split(until, 1)[0]
    return [m.group(1) for m in re.finditer(r"^\d+\. (.*)$", section, re.MULTILINE)]


def lexical_over_http(request: ChatRequest) -> str:
    """A chat model that answers fecbench's prompts with the lexical judge's verdicts."""
    judge, prompt = LexicalJudge(), request.prompt
    if prompt.startswith("Task: list the facial events"):
        task, item = "extract", {"text": _block(prompt, "Caption:")}
    elif prompt.startswith("Task: judge each numbered event"):
        task, item = "classify", {"events": _numbered(prompt, "Events:", "Text:"), "text": _block(prompt, "Text:")}
    else:
        reference = _numbered(prompt, "Reference events:", "Predicted events:")
        task, item = (
            "align",
            {"reference_events": reference, "predicted_events": _numbered(prompt, "Predicted events:")},
        )
    return "Here is my answer:\n```json\n" + json.dumps(judge.solve(task, [item])[0]) + "\n```"


def agree_with_everything(request: ChatRequest) -> str:
    """A careless model: one event per sentence (right), but everything entailed and aligned in order."""
    prompt = request.prompt
    if prompt.startswith("Task: list the facial events"):
        sentences = [s for s in re.split(r"(?<=\.)\s+", _block(prompt, "Caption:")) if s]
        return json.dumps({"events": sentences})
    if prompt.startswith("Task: judge each numbered event"):
        return json.dumps({"labels": ["Entailment"] * len(_numbered(prompt, "Events:", "Text:"))})
    n_ref = len(_numbered(prompt, "Reference events:", "Predicted events:"))
    predicted = _numbered(prompt, "Predicted events:")
    return json.dumps(
        {"alignment": [{"reference": min(j, n_ref), "relation": "entailment"} for j in range(1, len(predicted) + 1)]}
    )


def _openai_check(server: Any, **options: Any) -> dict[str, Any]:
    args = {"model": "judge-model", "base_url": server.base_url, **FAST}
    return api.check_judge("openai", args, annotations=fec_bench_test_json_path(), bootstrap=200, **options)


def test_the_openai_judge_over_loopback_matches_the_rules_it_serves() -> None:
    with running_chat_server(lexical_over_http) as server:
        result = _openai_check(server, n=20, concurrency=4)
    local = api.check_judge("lexical", annotations=fec_bench_test_json_path(), n=20, bootstrap=200)
    for task in ("extract", "classify", "align"):
        assert result["tasks"][task]["accuracy"] == local["tasks"][task]["accuracy"]
    for metric in ("autodq", "tem"):
        assert result["metrics"][metric]["error"] == pytest.approx(local["metrics"][metric]["error"])
    assert result["judge"]["backend"] == "openai" and result["judge"]["model"] == "judge-model"
    assert result["failed_cases"] == 0 and result["stats"]["align"]["judge_calls"] > 0


def test_a_judge_that_agrees_with_everything_is_caught() -> None:
    with running_chat_server(agree_with_everything) as server:
        result = _openai_check(server, n=20)
    tasks, metrics = result["tasks"], result["metrics"]
    assert tasks["extract"]["accuracy"] == 1.0  # one event per sentence is right by construction
    assert tasks["classify"]["by_edit"]["paraphrase"] == 1.0 and tasks["classify"]["by_edit"]["foreign"] == 0.0
    assert tasks["classify"]["ci95"][1] < 0.9 and tasks["align"]["by_edit"]["reorder"] < 0.5
    for metric in ("autodq", "tem"):  # everything entailed and in order: both metrics far too high
        assert metrics[metric]["ci95"][0] > 0.1 and metrics[metric]["by_edit"]["foreign"] > 0.5
    assert metrics["autodq"]["by_edit"]["foreign"] == 1.0  # known 0, judged 1
    assert metrics["tem"]["by_edit"]["reorder"] > 0 and metrics["autodq"]["by_edit"]["reorder"] == 0.0


def test_judge_failures_count_as_wrong_and_leave_their_cases_out() -> None:
    def garbage_for_alignments(request: ChatRequest) -> str:
        if request.prompt.startswith("Task: match each predicted event"):
            return "I would rather not."
        return lexical_over_http(request)

    with running_chat_server(garbage_for_alignments) as server:
        result = _openai_check(server, n=5, cache=False)
    assert result["tasks"]["align"]["accuracy"] == 0.0 and result["tasks"]["align"]["failed"] > 0
    assert result["failed_cases"] == result["suite"]["cases"] and result["metrics"]["tem"]["n"] == 0


def test_the_check_table_prints_for_the_keyword_rules() -> None:
    env = {"FECBENCH_PLUGINS": "fecbench_test_judges", "PYTHONPATH": str(TEST_PLUGINS)}
    done = fecbench(
        "judge", "check", "--judge", "keyword", "--annotations", str(fec_bench_test_json_path()), "--n", "10", env=env
    )
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") > 5}
    assert {"extract", "classify", "align", "autodq", "tem"} <= set(rows)
    assert "judge check: keyword" in done.stdout


def test_records_and_the_site_carry_the_check(tmp_path: Path) -> None:
    from fecbench_leaderboard.records import load_record
    from test_leaderboard import fec_clips, make_run

    clips = fec_clips(fec_bench_test_json_path(), per_source=1)
    run_dir = make_run(tmp_path, "copy", clips, lambda i, clip: clip["caption"], judge="lexical")
    unchecked = load_record(api.record_run(run_dir, tmp_path / "unchecked.json", name="before the check"))
    assert unchecked.judge is not None and unchecked.judge.check is None
    result = api.check_judge("lexical", annotations=fec_bench_test_json_path(), n=10, bootstrap=100)
    api.score(run_dir, judge="lexical", bootstrap=0)
    record = load_record(api.record_run(run_dir, tmp_path / "checked.json", name="after the check"))
    check = record.judge.check  # type: ignore[union-attr]
    assert check is not None and check.cases == result["suite"]["cases"] and check.fec_bench is True
    assert check.error["tem"] == result["metrics"]["tem"]["error"]
    assert "file" not in json.loads((tmp_path / "checked.json").read_text())["judge"]["check"]
    site = api.build_leaderboard([tmp_path / "checked.json"], tmp_path / "site", reported=False)
    expected = f"{check.cases} known-answer cases from 10 FEC-Bench reference captions"
    assert expected in site.read_text()
    (run_page,) = (tmp_path / "site" / "runs").glob("*.html")
    assert expected in run_page.read_text()
