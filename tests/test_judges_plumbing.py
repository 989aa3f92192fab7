"""The judge plumbing against a real chat-completions server on loopback: parsing, retries, concurrency, cache.

The ``openai`` judge talks to :mod:`chat_server` through the official ``openai`` client, so every
request below is a real HTTP request; the cache is a real SQLite file.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from chat_server import ChatRequest, fenced, garbage, ok, running_chat_server, slow, status
from import_probe import imported_by

from fecbench.errors import ConfigError, MissingDependencyError, UnknownPluginError
from fecbench.judges.base import Judge, JudgeFailure, JudgeIdentity
from fecbench.judges.cache import VerdictCache, verdict_key
from fecbench.judges.engine import JudgeEngine
from fecbench.judges.parse import AnswerError, extract_json_object, parse_answer
from fecbench.judges.prompts import PROMPT_VERSION, TEMPLATE_DIR, TEMPLATE_NAMES, load_prompts, prompts_sha256
from fecbench.judges.registry import get_judge, load_judge, parse_judge_args, unique_judges

pytest.importorskip("openai")

FAST = {"backoff": 0.01, "backoff_max": 0.05}

CAPTIONS = [
    "He blinks, then his mouth opens slightly.",
    "She raises her eyebrows and smiles.",
    "The man turns his head to the left; his eyes narrow.",
    "Her lips tighten, then she looks down.",
]


# -- a model that reads our prompts and answers them correctly ------------------------------------


def _between(prompt: str, header: str) -> str:
    match = re.search(re.escape(header) + r"\n<<<\n(.*?)\n>>>", prompt, re.DOTALL)
    assert match, f"no {header!r} block in the prompt"
    return match.group(1)


def _numbered(prompt: str, header: str) -> list[str]:
    block = prompt.split(header + "\n", 1)[1].split("\n\n", 1)[0]
    return [line.split(". ", 1)[1] for line in block.splitlines() if re.match(r"\d+\. ", line)]


def answer_well(request: ChatRequest) -> str:
    """The right JSON for whichever task the first user turn asks (computed from the prompt itself)."""
    prompt = request.prompt
    if prompt.startswith("Task: list the facial events"):
        text = _between(prompt, "Caption:")
        events = [e.strip() for e in re.split(r"[,;.]| then ", text) if e.strip()]
        return json.dumps({"events": events})
    if prompt.startswith("Task: judge each numbered event"):
        text = _between(prompt, "Text:").lower()
        labels = ["entailment" if e.lower() in text else "neutral" for e in _numbered(prompt, "Events:")]
        return json.dumps({"labels": labels})
    if prompt.startswith("Task: match each predicted event"):
        n_ref = len(_numbered(prompt, "Reference events:"))
        n_pred = len(_numbered(prompt, "Predicted events:"))
        entries = [{"reference": j if j <= n_ref else None, "relation": "entailment"} for j in range(1, n_pred + 1)]
        return json.dumps({"alignment": entries})
    if prompt.startswith("Task: rate a model's caption"):
        return json.dumps({"correctness": 4, "detail": 3, "context": 5, "temporal": 2})
    raise AssertionError(f"unexpected prompt: {prompt[:80]!r}")


def expected_events(text: str) -> list[str]:
    return [e.strip() for e in re.split(r"[,;.]| then ", text) if e.strip()]


@pytest.fixture
def server():
    with running_chat_server(answer_well) as running:
        yield running


def openai_judge(server, **args: Any) -> Judge:
    return load_judge("openai", {"model": "judge-model", "base_url": server.base_url, **FAST, **args})


# -- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"events": ["the man blinks"]}',
        'Sure! ```json\n{"events": ["the man blinks"]}\n```\nAnything else?',
        '```\n{"events": ["the man blinks"]}\n```',
        'The events are: {"events": ["the man blinks"]} (one event).',
        '{"events": ["the man blinks",],}',
        '<think>maybe {"events": []} or more</think>\n{"events": ["the man blinks"]}',
        '  \n{"events": ["the man blinks", "the man blinks"]}\n',
    ],
)
def test_answers_are_parsed_from_fences_prose_and_trailing_commas(text: str) -> None:
    assert parse_answer("extract", {"text": "x"}, text) == {"events": ["the man blinks"]}


@pytest.mark.parametrize(
    ("task", "inputs", "text", "message"),
    [
        ("extract", {"text": "x"}, "", "empty"),
        ("extract", {"text": "x"}, "I cannot help with that.", "no JSON object"),
        ("extract", {"text": "x"}, '["the man blinks"]', "no JSON object"),
        ("extract", {"text": "x"}, '{"event": ["a"]}', "does not fit"),
        ("classify", {"events": ["a", "b"], "text": "t"}, '{"labels": ["entailment"]}', "1 labels for 2 events"),
        ("classify", {"events": ["a"], "text": "t"}, '{"labels": ["yes"]}', "does not fit"),
        (
            "align",
            {"reference_events": ["r"], "predicted_events": ["p"]},
            '{"alignment": [{"reference": 2, "relation": "entailment"}]}',
            "outside 1..1",
        ),
        ("rate", {}, '{"correctness": 6, "detail": 1, "context": 1, "temporal": 1}', "correctness"),
        ("rate", {}, '{"correctness": 4.5, "detail": 1, "context": 1, "temporal": 1}', "correctness"),
    ],
)
def test_unusable_answers_raise_answer_error(task: str, inputs: dict, text: str, message: str) -> None:
    with pytest.raises(AnswerError, match=re.escape(message)):
        parse_answer(task, inputs, text)


def test_the_last_object_in_prose_wins_and_nested_objects_stay_whole() -> None:
    assert extract_json_object('x {"c": 3} y {"a": {"b": [1, 2]}} z') == {"a": {"b": [1, 2]}}
    # two objects that also begin and end the answer: still the last one, not a JSON error
    assert extract_json_object('{"c": 3} and then {"a": {"b": "it\'s {x}"}}') == {"a": {"b": "it's {x}"}}
    with pytest.raises(AnswerError, match="repeats the prompt's template"):
        parse_answer("extract", {"text": "x"}, '{"events": ["<event 1>", "<event 2>"]}')


# -- prompts ------------------------------------------------------------------------------------


def test_every_task_has_a_versioned_template_and_the_hash_covers_them(tmp_path: Path) -> None:
    for name in TEMPLATE_NAMES:
        assert (TEMPLATE_DIR / f"{name}.{PROMPT_VERSION}.txt").is_file()
    builtin = load_prompts()
    assert builtin.version == PROMPT_VERSION and len(builtin.sha256) == 64
    (tmp_path / "rate.txt").write_text(builtin.templates["rate"] + "\nBe strict.\n")
    custom = load_prompts(tmp_path)
    assert custom.version == f"{PROMPT_VERSION}-custom"
    assert custom.sha256 != builtin.sha256 == prompts_sha256()
    assert custom.templates["extract"] == builtin.templates["extract"]
    with pytest.raises(ConfigError, match="is not a folder"):
        load_prompts(tmp_path / "rate.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds none of the prompt templates"):
        load_prompts(tmp_path / "empty")


def test_prompts_show_the_inputs_and_the_expected_shape() -> None:
    prompts = load_prompts()
    messages = prompts.render("align", {"reference_events": ["r one", "r two"], "predicted_events": ["p one"]})
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert "1. r one\n2. r two" in user and "1. p one" in user and '{"alignment": [' in user
    assert "exactly 1 entries" in user
    extract = prompts.render_user("extract", {"text": "He blinks twice."})
    assert "<<<\nHe blinks twice.\n>>>" in extract and "At most 10 events" in extract
    with pytest.raises(ValueError, match="lack a field"):
        prompts.render_user("classify", {"events": ["a"]})


# -- the openai judge against the loopback server ----------------------------------------------


def test_all_four_tasks_answered_over_http(server) -> None:
    judge = openai_judge(server, seed=7, json_mode=True)
    engine = JudgeEngine(judge)
    events = engine.run("extract", [{"text": c} for c in CAPTIONS])
    assert events == [{"events": expected_events(c)} for c in CAPTIONS]
    labels = engine.run("classify", [{"events": ["he blinks", "he frowns"], "text": CAPTIONS[0]}])
    assert labels == [{"labels": ["entailment", "neutral"]}]
    aligned = engine.run("align", [{"reference_events": ["a"], "predicted_events": ["x", "y"]}])
    assert aligned == [
        {"alignment": [{"reference": 1, "relation": "entailment"}, {"reference": None, "relation": "neutral"}]}
    ]
    rated = engine.run("rate", [{"question": "Describe the face.", "reference": "r", "prediction": "p"}])
    assert rated == [{"correctness": 4, "detail": 3, "context": 5, "temporal": 2}]
    body = server.chat_requests[0].body
    assert body["model"] == "judge-model" and body["temperature"] == 0
    assert body["seed"] == 7 and body["response_format"] == {"type": "json_object"}
    assert body["messages"][0]["role"] == "system"
    assert judge.identity() == JudgeIdentity("openai", "judge-model", PROMPT_VERSION, prompts_sha256())
    assert judge.describe()["endpoint"] == server.base_url and "api_key" not in judge.describe()


def test_fenced_answer_with_prose_is_accepted_first_time(server) -> None:
    server.script(fenced('{"events": ["the woman smiles"]}'))
    assert openai_judge(server).solve("extract", [{"text": "She smiles."}]) == [{"events": ["the woman smiles"]}]
    assert server.count == 1


def test_garbage_then_a_good_answer_is_retried_with_a_repair_turn(server) -> None:
    server.handler = lambda request: garbage() if request.attempt < 3 else answer_well(request)
    results = openai_judge(server, max_retries=3).solve("extract", [{"text": c} for c in CAPTIONS[:2]])
    assert results == [{"events": expected_events(c)} for c in CAPTIONS[:2]]
    assert server.count == 6  # three tries per item
    retry = next(r for r in server.chat_requests if r.attempt == 2)
    assert [m["role"] for m in retry.messages] == ["system", "user", "assistant", "user"]
    assert retry.messages[2]["content"] == garbage().content
    assert "could not be used: the answer holds no JSON object" in retry.last_user_text


def test_garbage_until_the_last_try_ends_as_a_judge_failure(server) -> None:
    server.handler = lambda request: garbage("no idea")
    engine = JudgeEngine(openai_judge(server, max_retries=2))
    (result,) = engine.run("extract", [{"text": CAPTIONS[0]}])
    assert isinstance(result, JudgeFailure)
    assert result.attempts == 3 and result.raw == "no idea" and "no JSON object" in result.error
    assert server.count == 3
    assert engine.stats["extract"] == {"requested": 1, "cache_hits": 0, "judge_calls": 1, "failures": 1}


def test_wrong_shape_is_retried_like_garbage(server) -> None:
    server.script(ok('{"labels": ["entailment"]}'))  # one label for two events
    (result,) = openai_judge(server).solve("classify", [{"events": ["he blinks", "he nods"], "text": "He blinks."}])
    assert result == {"labels": ["entailment", "neutral"]}
    assert server.count == 2


@pytest.mark.parametrize(
    "failure",
    [status(429, retry_after=0), status(500), status(502), status(503)],
    ids=["429", "500", "502", "503"],
)
def test_rate_limits_and_server_errors_are_retried(server, failure) -> None:
    server.script(failure, failure)
    assert openai_judge(server, max_retries=2).solve("extract", [{"text": "He nods."}]) == [{"events": ["He nods"]}]
    assert server.count == 3


def test_retry_after_is_honoured(server) -> None:
    server.script(status(429, retry_after=1))
    judge = openai_judge(server, backoff=0.01, backoff_max=5)
    assert judge.solve("extract", [{"text": "He nods."}]) == [{"events": ["He nods"]}]
    first, second = server.chat_requests
    assert second.received - first.received >= 0.95


def test_the_servers_retry_after_is_the_wait_not_a_floor_under_the_backoff(server) -> None:
    """A 429 near the end of a job held its retry up to ``backoff`` seconds past what the server asked."""
    server.script(status(429, retry_after=0.2), status(429, retry_after=0.2))
    judge = openai_judge(server, backoff=2, backoff_max=5)
    assert judge.retry_delay(3, 0.2) == 0.2 and judge.retry_delay(1, 9) == 5  # capped at backoff_max
    assert 2.5 <= judge.retry_delay(3) <= 5  # no Retry-After: 2 * 2^2 capped at 5, jittered
    assert judge.solve("extract", [{"text": "He nods."}]) == [{"events": ["He nods"]}]
    first, second, third = server.chat_requests
    assert 0.15 < second.received - first.received < 0.9 and 0.15 < third.received - second.received < 0.9


def test_timeouts_are_retried(server) -> None:
    server.script(slow(1.5))
    started = time.monotonic()
    judge = openai_judge(server, timeout=0.3)
    assert judge.solve("extract", [{"text": "He nods."}]) == [{"events": ["He nods"]}]
    assert server.count == 2 and time.monotonic() - started < 1.4


def test_errors_on_every_try_end_as_failures_naming_the_cause(server) -> None:
    server.handler = lambda request: status(503, message="overloaded")
    (result,) = openai_judge(server, max_retries=1).solve(
        "rate", [{"question": "q", "reference": "r", "prediction": "p"}]
    )
    assert isinstance(result, JudgeFailure) and result.attempts == 2
    assert "503" in result.error and "overloaded" in result.error and result.raw is None


def test_a_rejected_request_fails_at_once(server) -> None:
    server.script(status(400, message="prompt is too long"))
    (result,) = openai_judge(server).solve("extract", [{"text": "He nods."}])
    assert isinstance(result, JudgeFailure) and result.attempts == 1 and "too long" in result.error
    assert server.count == 1


def test_a_refused_key_stops_scoring_with_a_config_error() -> None:
    with running_chat_server(answer_well, api_key="right-key") as server:
        judge = openai_judge(server, api_key="wrong-key", max_concurrency=2)
        with pytest.raises(ConfigError, match="refused the API key"):
            judge.solve("extract", [{"text": c} for c in CAPTIONS * 5])
        assert server.count <= 4  # stopped early: the rest were never sent
        good = openai_judge(server, api_key="right-key")
        assert good.solve("extract", [{"text": "He nods."}]) == [{"events": ["He nods"]}]


def test_concurrency_stays_within_the_limit(server) -> None:
    server.handler = lambda request: ok(answer_well(request), delay=0.2)
    judge = openai_judge(server, max_concurrency=3)
    texts = [{"text": f"He nods {i} times."} for i in range(9)]
    started = time.monotonic()
    assert len(judge.solve("extract", texts)) == 9
    assert server.max_in_flight == 3
    assert time.monotonic() - started < 1.5  # three waves of 0.2 s, not nine


# -- the cache ------------------------------------------------------------------------------------


def test_second_scoring_makes_no_request_and_a_new_prompt_hash_misses(server, tmp_path: Path) -> None:
    cache_file = tmp_path / "judges.sqlite"
    items = [{"text": c} for c in [*CAPTIONS, CAPTIONS[0]]]  # one duplicate
    engine = JudgeEngine(openai_judge(server), VerdictCache(cache_file))
    first = engine.run("extract", items)
    assert server.count == 4
    assert engine.stats["extract"] == {"requested": 5, "cache_hits": 0, "judge_calls": 4, "failures": 0}

    again = JudgeEngine(openai_judge(server), VerdictCache(cache_file))  # a new process would do the same
    assert again.run("extract", items) == first
    assert server.count == 4
    assert again.stats["extract"] == {"requested": 5, "cache_hits": 4, "judge_calls": 0, "failures": 0}

    prompt_dir = tmp_path / "prompts"
    prompt_dir.mkdir()
    (prompt_dir / "extract.txt").write_text(
        load_prompts().templates["extract"].replace("At most 10", "At most 10 (ten)")
    )
    edited = JudgeEngine(openai_judge(server, prompt_dir=str(prompt_dir)), VerdictCache(cache_file))
    assert edited.run("extract", items) == first
    assert server.count == 8 and edited.stats["extract"]["cache_hits"] == 0

    other_model = JudgeEngine(
        load_judge("openai", {"model": "another-model", "base_url": server.base_url, **FAST}), VerdictCache(cache_file)
    )
    other_model.run("extract", items[:1])
    assert server.count == 9


def test_failures_are_never_cached(server, tmp_path: Path) -> None:
    cache = VerdictCache(tmp_path / "judges.sqlite")
    server.handler = lambda request: garbage()
    engine = JudgeEngine(openai_judge(server, max_retries=0), cache)
    assert isinstance(engine.run("extract", [{"text": "He nods."}])[0], JudgeFailure)
    assert cache.count() == 0
    server.handler = answer_well
    assert engine.run("extract", [{"text": "He nods."}]) == [{"events": ["He nods"]}]
    assert cache.count() == 1 and server.count == 2
    assert engine.stats["extract"] == {"requested": 2, "cache_hits": 0, "judge_calls": 2, "failures": 1}


def test_cache_rows_hold_identity_inputs_and_time(tmp_path: Path) -> None:
    identity = JudgeIdentity("openai", "m", "v1", "abc")
    cache = VerdictCache(tmp_path / "c.sqlite")
    cache.put(identity, "extract", {"text": "He nods."}, {"events": ["He nods"]})
    with pytest.raises(TypeError, match="only validated verdicts"):
        cache.put(identity, "extract", {"text": "x"}, JudgeFailure("nope"))  # type: ignore[arg-type]
    import sqlite3

    row = sqlite3.connect(tmp_path / "c.sqlite").execute("SELECT * FROM verdicts").fetchone()
    key, judge, task, inputs, output, ident, created = row
    assert task == "extract"
    assert key == verdict_key(identity, "extract", {"text": "He nods."}) and judge == identity.key
    assert json.loads(ident) == identity.as_dict() and json.loads(output) == {"events": ["He nods"]}
    assert json.loads(inputs) == {"text": "He nods."} and abs(created - time.time()) < 60
    mode = sqlite3.connect(tmp_path / "c.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert verdict_key(identity, "extract", {"text": "x"}) != verdict_key(identity, "classify", {"text": "x"})


def test_a_cache_knows_which_judges_it_holds_verdicts_of(tmp_path: Path) -> None:
    used, new = JudgeIdentity("openai", "m", "v1", "abc"), JudgeIdentity("openai", "m2", "v1", "abc")
    cache = VerdictCache(tmp_path / "c.sqlite")
    assert not cache.has_verdicts(used)
    cache.put(used, "extract", {"text": "He nods."}, {"events": ["He nods"]})
    assert cache.has_verdicts(used) and not cache.has_verdicts(new)


def test_default_cache_lives_in_the_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FECBENCH_CACHE_DIR", str(tmp_path / "somewhere"))
    assert VerdictCache.default().path == tmp_path / "somewhere" / "judges.sqlite"


class _SloppyJudge(Judge):
    """A judge whose answers ignore the task's shape: the engine must not let them through."""

    backend = "sloppy"

    def identity(self) -> JudgeIdentity:
        return JudgeIdentity("sloppy", "none", "v0", "0" * 64)

    def solve(self, task: str, inputs: list[dict]) -> list:
        return [{"labels": ["entailment"]} for _ in inputs]


def test_engine_turns_invalid_verdicts_into_failures_and_does_not_cache_them(tmp_path: Path) -> None:
    cache = VerdictCache(tmp_path / "judges.sqlite")
    engine = JudgeEngine(_SloppyJudge(), cache)
    good, bad = engine.run("classify", [{"events": ["a"], "text": "t"}, {"events": ["a", "b"], "text": "t"}])
    assert good == {"labels": ["entailment"]}
    assert isinstance(bad, JudgeFailure) and "1 labels for 2 events" in bad.error
    assert cache.count() == 1
    with pytest.raises(ValueError, match="inputs lack text"):
        engine.run("classify", [{"events": []}])


# -- the registry ---------------------------------------------------------------------------------


def test_builtin_judges_come_through_the_entry_point() -> None:
    judges = {entry.spec.name: entry for entry in unique_judges()}
    assert {"lexical", "openai", "transformers", "vllm"} <= set(judges)
    assert all(judges[name].provider == "fecbench" for name in ("lexical", "openai", "transformers", "vllm"))
    assert judges["lexical"].spec.tasks == ("extract", "classify", "align")
    assert get_judge("openai").spec.install_hint == "pip install 'fecbench[openai]'"


def test_unknown_judge_lists_the_installed_ones() -> None:
    with pytest.raises(UnknownPluginError, match=r"unknown judge 'gpt-judge'; installed judges: .*openai.*vllm"):
        load_judge("gpt-judge", {})


def test_missing_dependency_gives_the_install_command() -> None:
    if get_judge("vllm").missing_requirements() == []:
        pytest.skip("vllm is installed here")
    with pytest.raises(MissingDependencyError, match=re.escape("pip install 'fecbench[vllm]'")):
        load_judge("vllm", {"model": "some/model"})


def test_unknown_judge_argument_lists_the_accepted_ones(server) -> None:
    with pytest.raises(ConfigError, match=r"does not take modle; it takes: model, base_url, api_key"):
        load_judge("openai", {"modle": "x", "base_url": server.base_url})
    with pytest.raises(ConfigError, match="max_concurrency must be an integer >= 1"):
        openai_judge(server, max_concurrency=0)


def test_judge_args_parse_like_model_args() -> None:
    assert parse_judge_args("model=gpt-4o-mini, max_concurrency=16,temperature=0,json_mode=true") == {
        "model": "gpt-4o-mini",
        "max_concurrency": 16,
        "temperature": 0,
        "json_mode": True,
    }
    assert parse_judge_args("base_url=http://127.0.0.1:8000/v1?x=1") == {"base_url": "http://127.0.0.1:8000/v1?x=1"}
    with pytest.raises(ConfigError, match="--judge-args: 'oops' is not of the form key=value"):
        parse_judge_args("model=a,oops")


def test_openai_judge_reads_its_settings_from_the_environment(server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FECBENCH_JUDGE_MODEL", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    with pytest.raises(ConfigError, match="needs a model"):
        load_judge("openai", {})
    monkeypatch.setenv("FECBENCH_JUDGE_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    judge = load_judge("openai", FAST)
    assert judge.solve("extract", [{"text": "He nods."}]) == [{"events": ["He nods"]}]
    request = server.chat_requests[-1]
    assert request.model == "env-model" and request.headers["authorization"] == "Bearer env-key"
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="needs an API key"):
        load_judge("openai", {})


def test_azure_settings_reach_the_azure_client(server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    endpoint = server.base_url.removesuffix("/v1")
    with pytest.raises(ConfigError, match="api_version"):
        load_judge("openai", {"model": "dep", "azure_endpoint": endpoint, "api_key": "k"})
    args = {"model": "dep", "azure_endpoint": endpoint, "api_key": "k", "api_version": "2024-10-21", **FAST}
    judge = load_judge("openai", args)
    assert judge.describe()["api"] == "azure"
    # Azure routes by deployment; the test server answers any path that ends in /chat/completions.
    assert judge.solve("extract", [{"text": "He nods."}]) == [{"events": ["He nods"]}]
    request = server.chat_requests[-1]
    assert "/openai/deployments/dep/" in request.path and request.headers["api-key"] == "k"
    # a scoring job's requests: prepared by the Azure client, sent from the scheduler's event loop
    assert JudgeEngine(judge).run("extract", [{"text": "She smiles."}]) == [{"events": ["She smiles"]}]
    scheduled = server.chat_requests[-1]
    assert scheduled.path == request.path and scheduled.headers["api-key"] == "k"


def test_a_third_party_judge_plugin_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "acme_judges.py").write_text(
        "from fecbench.hookspecs import hookimpl\n"
        "from fecbench.judges.base import JudgeSpec\n"
        "@hookimpl\n"
        "def fecbench_register_judges():\n"
        "    return [JudgeSpec(name='acme', factory='acme_judges_impl:AcmeJudge', tasks=('extract',),\n"
        "                      requires=('acme_sdk_not_installed',), install_hint='pip install acme-sdk'),\n"
        "            JudgeSpec(name='acme-typo', factory='acme_judges:NoSuchJudge')]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FECBENCH_PLUGINS", "acme_judges")
    from fecbench.plugins import plugin_manager

    plugin_manager.cache_clear()
    try:
        entry = get_judge("acme")
        assert entry.spec.tasks == ("extract",) and entry.missing_requirements() == ["acme_sdk_not_installed"]
        with pytest.raises(MissingDependencyError, match="pip install acme-sdk"):
            load_judge("acme", {})
        with pytest.raises(ConfigError, match="its factory acme_judges:NoSuchJudge does not exist"):
            load_judge("acme-typo", {})
    finally:
        sys.modules.pop("acme_judges", None)
        plugin_manager.cache_clear()


def test_listing_judges_imports_no_heavy_module() -> None:
    code = (
        "from fecbench.judges.registry import unique_judges\n"
        "from fecbench.judges import engine, cache\n"
        "names = [j.spec.name for j in unique_judges()]\n"
        "assert 'openai' in names, names\n"
    )
    assert imported_by(code, ("openai", "torch", "transformers", "vllm")) == []
