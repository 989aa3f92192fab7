"""What a plugin author's judge meets: the answer parser's tolerance, declared tasks, the judges listing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from fecbench.judges.parse import AnswerError, parse_answer

CLASSIFY = {"events": ["the man blinks", "the man smiles"], "text": "He blinks."}
ALIGN = {"reference_events": ["the man blinks"], "predicted_events": ["the man blinks", "the man nods"]}


@pytest.mark.parametrize(
    "text",
    [
        '{"labels": ["Entailment", "NEUTRAL"]}',
        '{"labels": [" entailment ", "Neutral"]}',
        "{'labels': ['Entailment', 'neutral']}",
        "Here you are: {'labels': ['entailment', 'neutral'],} Done.",
    ],
)
def test_labels_in_any_case_and_python_dicts_are_read(text: str) -> None:
    assert parse_answer("classify", CLASSIFY, text) == {"labels": ["entailment", "neutral"]}


def test_a_python_dict_with_none_and_json_null_both_read() -> None:
    for text in (
        "{'alignment': [{'reference': 1, 'relation': 'Entailment'}, {'reference': None, 'relation': 'neutral'}]}",
        "{'alignment': [{'reference': 1, 'relation': 'entailment'}, {'reference': null, 'relation': 'neutral'}]}",
    ):
        assert parse_answer("align", ALIGN, text)["alignment"] == [
            {"reference": 1, "relation": "entailment"},
            {"reference": None, "relation": "neutral"},
        ]


def test_python_literals_are_only_read_never_run() -> None:
    with pytest.raises(AnswerError, match="no JSON object"):
        parse_answer("extract", {"text": "x"}, "{'events': [__import__('os').getcwd()]}")


@pytest.mark.parametrize(
    "text",
    [
        '{"events": ["<event 1>", "<event 2>"]}',
        'Answer with only this JSON object:\n{"events": ["<event 1>", "<event 2>", ...]}\n{"events": ["<event 1>"]}',
    ],
)
def test_the_prompts_template_echoed_back_is_not_an_answer(text: str) -> None:
    with pytest.raises(AnswerError, match="repeats the prompt's template"):
        parse_answer("extract", {"text": "x"}, text)


def test_an_example_then_the_answer_gives_the_answer() -> None:
    text = (
        'For example, a caption "she smiles" gives {"events": ["the woman smiles"]}.\n'
        'For this caption: {"events": ["the man blinks", "the man nods"]}'
    )
    assert parse_answer("extract", {"text": "x"}, text) == {"events": ["the man blinks", "the man nods"]}


def test_the_template_then_the_answer_gives_the_answer() -> None:
    text = (
        'The format is {"labels": ["<entailment, neutral or contradiction>", ...]}. '
        '{"labels": ["neutral", "Entailment"]}'
    )
    assert parse_answer("classify", CLASSIFY, text) == {"labels": ["neutral", "entailment"]}


def test_an_answer_followed_by_an_object_of_another_shape_keeps_the_answer() -> None:
    text = '{"labels": ["entailment", "neutral"]} (confidence: {"score": 0.9})'
    assert parse_answer("classify", CLASSIFY, text) == {"labels": ["entailment", "neutral"]}


# -- declared tasks ------------------------------------------------------------------------------

PLUGIN = '''
from fecbench.hookspecs import hookimpl
from fecbench.judges.base import Judge, JudgeIdentity, JudgeSpec


class DocsJudge(Judge):
    """Written from docs/judges.md: it declares its tasks only in its JudgeSpec."""

    def identity(self):
        return JudgeIdentity("docs-judge", "rules", "v1", "0" * 64)

    def solve(self, task, inputs):
        return [getattr(self, "_" + task)(item) for item in inputs]

    def _extract(self, item):
        return {"events": [s.strip() for s in item["text"].split(".") if s.strip()]}

    def _classify(self, item):
        return {"labels": ["entailment" if e in item["text"] else "neutral" for e in item["events"]]}

    def _align(self, item):
        refs = item["reference_events"]
        return {"alignment": [{"reference": refs.index(p) + 1 if p in refs else None,
                               "relation": "entailment" if p in refs else "neutral"}
                              for p in item["predicted_events"]]}


@hookimpl
def fecbench_register_judges():
    return [JudgeSpec(name="docs-judge", factory="docs_judge_plugin:DocsJudge", tasks=("extract", "classify", "align"))]
'''


@pytest.fixture
def docs_judge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "docs_judge_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FECBENCH_PLUGINS", "docs_judge_plugin")
    from fecbench.plugins import plugin_manager

    plugin_manager.cache_clear()
    yield "docs-judge"
    sys.modules.pop("docs_judge_plugin", None)
    plugin_manager.cache_clear()


def test_tasks_declared_only_in_the_spec_are_the_ones_asked(docs_judge: str, tmp_path: Path) -> None:
    from fecbench.judges.registry import load_judge
    from fecbench.scoring import score_run

    assert load_judge(docs_judge).tasks == {"extract", "classify", "align"}
    run_dir = _run_folder(tmp_path / "run")
    scores = score_run(run_dir, judge=docs_judge, bootstrap=0)
    assert scores["metrics"]["autodq"]["value"] == 1.0
    assert "does not rate" in scores["metrics"]["vcgpt_correctness"]["unsupported"]
    assert scores["judge"]["tasks"] == ["align", "classify", "extract"]


def test_a_spec_naming_an_unknown_task_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fecbench.errors import ConfigError
    from fecbench.judges.registry import registered_judges
    from fecbench.plugins import plugin_manager

    (tmp_path / "typo_judge_plugin.py").write_text(
        PLUGIN.replace('"align")', '"aling")').replace("docs_judge_plugin", "typo_judge_plugin")
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FECBENCH_PLUGINS", "typo_judge_plugin")
    plugin_manager.cache_clear()
    try:
        with pytest.raises(ConfigError, match="unknown tasks 'aling'"):
            registered_judges()
    finally:
        sys.modules.pop("typo_judge_plugin", None)
        plugin_manager.cache_clear()


def _run_folder(run_dir: Path) -> Path:
    """A scored-ready run folder made the way users import predictions from elsewhere."""
    from fecbench.data.external_predictions import import_predictions
    from fecbench.data.selection import resolve_annotations

    run_dir.parent.mkdir(parents=True, exist_ok=True)
    annotations = run_dir.parent / "annotations.json"
    clips = [
        {"id": "c1", "video": "A/c1.mp4", "caption": "The man blinks. The man smiles."},
        {"id": "c2", "video": "A/c2.mp4", "caption": "The woman nods."},
    ]
    annotations.write_text(json.dumps(clips))
    predictions = run_dir.parent / "predictions.jsonl"
    predictions.write_text("\n".join(json.dumps({"id": c["id"], "prediction": c["caption"]}) for c in clips) + "\n")
    return import_predictions(predictions, resolve_annotations(annotations), run_dir, name="copy")
