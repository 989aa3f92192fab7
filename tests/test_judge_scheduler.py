"""The judge scheduler against real loopback endpoints: the endpoint kept full, 429s, dead endpoints, bad bodies.

Every judge request here is a real HTTP request from the ``openai`` judge (official client) to
``tests/chat_server.py``, which answers fecbench's prompts with the keyword rules of the test judge
plugin; a dead endpoint is a real socket that accepts connections and never answers, or a port
where nothing listens. In-flight counts are measured on the server side.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chat_server import ChatRequest, Reply, raw, running_chat_server, status
from conftest import TEST_PLUGINS, fec_bench_captions

from fecbench import api, scoring
from fecbench.errors import ConfigError
from fecbench.judges.cache import VerdictCache
from fecbench.judges.chat import ChatJudge, Messages
from fecbench.judges.engine import JudgeEngine
from fecbench.judges.openai_judge import OpenAIJudge
from fecbench.judges.registry import load_judge
from fecbench.judges.scheduler import EndpointUnreachable, seconds_until_stopped
from fecbench.metrics.ngram import score_ngram
from fecbench.metrics.ngram_child import score_ngram_in_child

pytest.importorskip("openai")

FAST = {"backoff": 0.01, "backoff_max": 0.05, "api_key": "sk-test", "model": "judge-model"}
Handler = Callable[[ChatRequest], Any]


@pytest.fixture
def rules_answer(monkeypatch: pytest.MonkeyPatch) -> Handler:
    """The test judge plugin's keyword rules as a chat server handler (a correct answer to every prompt)."""
    monkeypatch.syspath_prepend(str(TEST_PLUGINS))
    from fecbench_test_judges import rules_answer

    return rules_answer


def write_predictions(folder: Path, test_json: Path, clips: int) -> tuple[Path, Path]:
    """Annotations of the first ``clips`` FEC-Bench clips and predictions that are other clips' references."""
    records = json.loads(test_json.read_text())[:clips]
    annotations = folder / "annotations.json"
    annotations.write_text(json.dumps(records))
    rows = [{"id": r["id"], "prediction": records[(i + 1) % len(records)]["caption"]} for i, r in enumerate(records)]
    path = folder / "predictions.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path, annotations


@pytest.fixture
def predictions(tmp_path: Path, fec_bench_test_json: Path) -> tuple[Path, Path]:
    """Annotations of the first 16 FEC-Bench clips and predictions that are other clips' references."""
    return write_predictions(tmp_path, fec_bench_test_json, 16)


def score(
    predictions: tuple[Path, Path], out: Path, base_url: str, concurrency: int = 4, cache: bool = True, **args: Any
) -> dict[str, Any]:
    """``fecbench score`` of the predictions with the openai judge at ``base_url``; ``args`` are judge arguments."""
    path, annotations = predictions
    judge_args = {**FAST, "base_url": base_url, **args}
    return api.score(
        path,
        annotations=annotations,
        out=out,
        judge="openai",
        judge_args=judge_args,
        concurrency=concurrency,
        cache=cache,
        bootstrap=0,
    )


def judge_calls(scores: dict[str, Any]) -> int:
    return sum(task["judge_calls"] for task in scores["judge"]["stats"].values())


# -- the endpoint kept full ---------------------------------------------------------------------------


def test_in_flight_stays_at_the_limit_across_clips_and_tasks(
    predictions, tmp_path: Path, rules_answer: Handler
) -> None:
    """Every 8th request is slow: other clips' work must fill its slot instead of waiting for it.

    Measured on the server, time-weighted, from the first request to the last one's arrival (after
    that the work has run out and in-flight can only fall)."""
    seen = [0]
    lock = threading.Lock()

    def answer(request: ChatRequest) -> Reply:
        with lock:
            seen[0] += 1
            slow = seen[0] % 8 == 0
        return Reply(content=rules_answer(request), delay=0.6 if slow else 0.15)

    with running_chat_server(answer) as server:
        scores = score(predictions, tmp_path / "run", server.base_url, concurrency=4)
        assert server.max_in_flight == 4
        mean = server.mean_in_flight
    assert scores["judge"]["clips_failed"] == {}
    assert judge_calls(scores) == server.count
    # Asking task by task, each waiting for its slowest answer, kept 2.7 of 4 busy here (3.4 to 3.7 now,
    # on a loaded 2-core machine: the rest is the client's own time between an answer and the next request).
    assert mean >= 0.8 * 4, f"time-weighted mean in flight {mean:.2f} of 4"


def test_429_waits_its_retry_after_without_holding_a_slot(tmp_path: Path, rules_answer: Handler) -> None:
    """One slot: a rate-limited item waits its Retry-After while the next item goes out."""
    with running_chat_server(rules_answer) as server:
        server.script(status(429, retry_after=1))
        judge = load_judge("openai", {**FAST, "base_url": server.base_url, "max_concurrency": 1, "backoff_max": 5})
        results = JudgeEngine(judge).run("extract", [{"text": "He nods."}, {"text": "She smiles."}])
    assert results == [{"events": ["he nods"]}, {"events": ["she smiles"]}]
    first, second, retry = server.chat_requests
    assert "He nods." in first.prompt and "She smiles." in second.prompt and retry.prompt == first.prompt
    assert second.received - first.received < 0.5  # the slot went to the next item at once
    assert retry.received - first.received >= 0.95  # and the retry waited what the server asked


# -- a non-JSON body with status 200 ----------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        raw(b"<html><body>502 Bad Gateway</body></html>", "text/html"),
        raw(b'{"id": "chatcmpl-1", "choices": [{"message": {"content": "{\\"ev'),  # truncated JSON
        raw(b"\xff\xfe not text"),
        raw(b'{"object": "error"}'),
    ],
    ids=["html", "truncated-json", "not-utf8", "json-not-a-completion"],
)
def test_a_200_body_that_is_not_a_completion_is_retried(reply: Reply, rules_answer: Handler) -> None:
    with running_chat_server(rules_answer) as server:
        server.script(reply, reply)
        judge = load_judge("openai", {**FAST, "base_url": server.base_url, "max_retries": 2})
        assert JudgeEngine(judge).run("extract", [{"text": "He nods."}]) == [{"events": ["he nods"]}]
        assert server.count == 3


def test_a_200_body_that_is_never_a_completion_is_a_judge_failure(
    predictions, tmp_path: Path, rules_answer: Handler
) -> None:
    def answer(request: ChatRequest) -> Reply | str:
        if "Task: rate" in request.prompt:
            return raw(b"<html>maintenance</html>", "text/html")
        return rules_answer(request)

    with running_chat_server(answer) as server:
        scores = score(predictions, tmp_path / "run", server.base_url, max_retries=1)
    assert scores["judge"]["clips_failed"] == {"rate": 16}
    assert scores["metrics"]["vcgpt_correctness"]["n_failed"] == 16 and scores["metrics"]["tem"]["n"] == 16
    clip = json.loads((tmp_path / "run" / "clip_scores.jsonl").read_text().splitlines()[0])
    (failure,) = clip["judge_failures"]
    assert failure["task"] == "rate" and failure["attempts"] == 2
    assert "HTTP 200" in failure["error"] and "not JSON" in failure["error"] and "maintenance" in failure["error"]


# -- dead endpoints and the breaker -------------------------------------------------------------------


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """Accepts every connection, reads what it is sent and never answers."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=256)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    listener.close()


@pytest.fixture
def refusing_endpoint() -> str:
    """A port where nothing listens: every connection is refused."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.mark.parametrize("endpoint", ["silent_endpoint", "refusing_endpoint"])
def test_a_dead_endpoint_trips_the_breaker_in_bounded_time(
    endpoint: str, predictions, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    base_url = request.getfixturevalue(endpoint)
    settings = {"timeout": 0.5, "max_unanswered": 6, "max_retries": 4}
    started = time.monotonic()
    with pytest.raises(EndpointUnreachable) as stopped:
        score(predictions, tmp_path / "run", base_url, concurrency=4, **settings)
    elapsed = time.monotonic() - started
    message = str(stopped.value)
    assert f"the endpoint at {base_url} has not answered 6 requests in a row" in message
    assert "running the same command again continues" in message and "\n" not in message
    # 16 clips ask 48 questions at first: 4 in flight, so 6 unanswered in a row take 2 waves of 0.5 s.
    bound = seconds_until_stopped(
        timeout=0.5, max_unanswered=6, concurrency=4, max_retries=4, backoff=0.01, backoff_max=0.05, questions=48
    )
    assert bound == pytest.approx(2 * 0.5 + 0.01)
    assert elapsed < bound + 10 < 30
    assert not (tmp_path / "run" / "scores.json").exists()  # no scores from a job that stopped


def test_the_default_settings_stop_a_dead_endpoint_within_minutes() -> None:
    """Worst case with the openai judge's defaults, from one question to any number (was 1,225 s for 2 clips)."""
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(OpenAIJudge).parameters.items()
        if name in ("timeout", "max_unanswered", "max_concurrency", "max_retries", "backoff", "backoff_max")
    }
    assert defaults["timeout"] == 60 and defaults["max_unanswered"] == 8 and defaults["max_concurrency"] == 8
    concurrency = defaults.pop("max_concurrency")
    worst = {q: seconds_until_stopped(concurrency=concurrency, questions=q, **defaults) for q in range(1, 5000)}
    assert worst[6] == pytest.approx(2 * 60 + 1)  # 2 clips: 6 questions, two waves of timeouts
    assert all(seconds == 60 for q, seconds in worst.items() if q >= 8)  # 3 clips or more: one timeout
    assert max(worst.values()) <= 5.5 * 60  # one lone question: its 5 tries, then it is a judge failure
    assert math.isfinite(max(worst.values()))


def test_the_cli_stops_with_one_message_and_exit_2(silent_endpoint: str, predictions, tmp_path: Path) -> None:
    path, annotations = predictions
    args = f"model=m,base_url={silent_endpoint},api_key=k,timeout=0.3,max_unanswered=4,backoff=0.01"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fecbench.cli",
            "score",
            str(path),
            "--annotations",
            str(annotations),
            "--out",
            str(tmp_path / "run"),
            "--judge",
            "openai",
            "--judge-args",
            args,
            "--concurrency",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    said = " ".join(done.stderr.split())  # the console wraps long lines
    assert f"judge: no answer from {silent_endpoint} (no answer within 0.3 s)" in said  # the early warning
    assert f"the endpoint at {silent_endpoint} has not answered 4 requests in a row" in said
    assert "Traceback" not in done.stderr


def test_a_rerun_after_the_breaker_continues_from_the_cache(predictions, tmp_path: Path, rules_answer: Handler) -> None:
    """The endpoint dies after 30 answers; the next run asks only what the first did not get."""
    answered, answers_left = [0], [30]
    lock = threading.Lock()

    def answer(request: ChatRequest) -> Reply:
        with lock:
            alive = answered[0] < answers_left[0]
            answered[0] += alive
        return Reply(content=rules_answer(request), delay=0.0 if alive else 3.0)

    with running_chat_server(answer) as server:
        with pytest.raises(EndpointUnreachable):
            score(predictions, tmp_path / "run", server.base_url, timeout=0.4, max_unanswered=4)
        assert VerdictCache.default().count() == 30  # every answer given was kept
        time.sleep(0.5)  # requests the stopped job had already sent arrive before we count
        before = server.count
        answers_left[0] = 10**9  # the endpoint is back
        rerun = score(predictions, tmp_path / "again", server.base_url)
        asked_again = server.count - before
    stats = rerun["judge"]["stats"]
    assert sum(task["cache_hits"] for task in stats.values()) == 30
    assert asked_again == judge_calls(rerun) > 0 and rerun["judge"]["clips_failed"] == {}
    with running_chat_server(rules_answer) as fresh:  # the same job from nothing asks for both parts
        everything = score(predictions, tmp_path / "fresh", fresh.base_url, cache=False)
        assert judge_calls(everything) == 30 + asked_again == fresh.count


def test_a_refused_key_stops_the_scheduled_job_at_once(rules_answer: Handler) -> None:
    with running_chat_server(rules_answer, api_key="right-key") as server:
        args = {**FAST, "api_key": "wrong-key", "base_url": server.base_url, "max_concurrency": 2}
        judge = load_judge("openai", args)
        with pytest.raises(ConfigError, match="refused the API key"):
            JudgeEngine(judge).run("extract", [{"text": f"He nods {i} times."} for i in range(20)])
        time.sleep(0.2)
        assert server.count <= 4  # the other questions were never sent


def test_extractions_go_before_the_questions_nothing_waits_for(
    predictions, tmp_path: Path, rules_answer: Handler
) -> None:
    """Extractions (whose answers start follow-up questions) are sent first, each clip in turn; rate,
    classify and align keep the endpoint full at the end, when no extraction is left to start."""
    with running_chat_server(rules_answer) as server:
        scores = score(predictions, tmp_path / "run", server.base_url, concurrency=2)
        tasks = [request.prompt.split(":")[1].split()[0] for request in server.chat_requests]
    assert scores["judge"]["clips_failed"] == {}
    # 2 slots, 4 questions waiting: the first two clips' (2 extractions and a rating each) are fed at once,
    # and their 4 extractions go before the first clip's rating and follow-ups (in clip order alone, 2 of
    # the first 6 were extractions). Counted, not ordered: the server may record two requests in flight
    # in either order.
    assert tasks[:6].count("list") >= 4, tasks[:8]


# -- what a scheduled request is: the openai client's request, sent by aiohttp ----------------------


def test_scheduled_requests_carry_what_the_openai_client_sends(rules_answer: Handler) -> None:
    with running_chat_server(rules_answer) as server:
        judge = load_judge("openai", {**FAST, "base_url": server.base_url})
        assert judge.solve("extract", [{"text": "She smiles."}]) == [{"events": ["she smiles"]}]  # the openai client
        assert JudgeEngine(judge).run("extract", [{"text": "He nods."}]) == [{"events": ["he nods"]}]
        by_client, scheduled = server.chat_requests
    assert scheduled.path == by_client.path == "/v1/chat/completions"
    for name in ("authorization", "user-agent", "x-stainless-lang", "x-stainless-package-version", "content-type"):
        assert scheduled.headers[name] == by_client.headers[name], name
    assert scheduled.headers["authorization"] == "Bearer sk-test" and scheduled.model == "judge-model"


def test_http_errors_of_scheduled_requests_are_sorted_and_name_the_servers_message(rules_answer: Handler) -> None:
    with running_chat_server(rules_answer) as server:
        judge = load_judge("openai", {**FAST, "base_url": server.base_url, "max_retries": 2})
        server.script(status(503, message="overloaded"), status(429, message="slow down"))
        assert JudgeEngine(judge).run("extract", [{"text": "He nods."}]) == [{"events": ["he nods"]}]
        assert server.count == 3  # both retried
        server.script(status(400, message="prompt is too long"))
        (failure,) = JudgeEngine(judge).run("extract", [{"text": "She smiles."}])
    assert failure.attempts == 1 and failure.error.endswith(f"HTTP 400 from {server.base_url}: prompt is too long")


def test_a_proxy_the_environment_names_carries_scheduled_requests_too(
    rules_answer: Handler, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test server acts as the proxy: a proxied request names the whole target URL in its request line."""
    with running_chat_server(rules_answer) as proxy:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, proxy.base_url.removesuffix("/v1"))
        judge = load_judge("openai", {**FAST, "base_url": "http://judge.invalid/v1"})  # a name that never resolves
        assert judge.solve("extract", [{"text": "She smiles."}]) == [{"events": ["she smiles"]}]  # the openai client
        assert JudgeEngine(judge).run("extract", [{"text": "He nods."}]) == [{"events": ["he nods"]}]
        by_client, scheduled = proxy.chat_requests
    assert scheduled.path == by_client.path == "http://judge.invalid/v1/chat/completions"


def test_https_endpoints_are_checked_against_the_certificates_the_openai_client_trusts(
    rules_answer: Handler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A self-signed certificate: trusted through SSL_CERT_FILE by both paths; untrusted, a config error at once."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("making a certificate needs the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    names = ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run([openssl, *request, *names, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = running_chat_server(rules_answer)
    server.use_tls(context)
    with server:
        assert server.base_url.startswith("https://")
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        judge = load_judge("openai", {**FAST, "base_url": server.base_url})
        assert judge.solve("extract", [{"text": "She smiles."}]) == [{"events": ["she smiles"]}]  # the openai client
        assert JudgeEngine(judge).run("extract", [{"text": "He nods."}]) == [{"events": ["he nods"]}]
        assert server.count == 2
        monkeypatch.delenv("SSL_CERT_FILE")
        for ask in (
            lambda judge: judge.solve("extract", [{"text": "She smiles."}]),
            lambda judge: JudgeEngine(judge).run("extract", [{"text": "He nods."}]),
        ):
            with pytest.raises(ConfigError, match="TLS certificate this machine does not trust .*SSL_CERT_FILE"):
                ask(load_judge("openai", {**FAST, "base_url": server.base_url}))
        assert server.count == 2  # no request got through, none was retried


def test_an_endpoint_that_is_not_http_stops_the_job_with_a_config_error() -> None:
    judge = load_judge("openai", {**FAST, "base_url": "localhost:8000/v1"})
    with pytest.raises(ConfigError, match="not an http:// or https:// URL; check base_url"):
        JudgeEngine(judge).run("extract", [{"text": "He nods."}])


# -- one event loop: the feed, judges that only block -------------------------------------------------


def test_forty_slots_keep_forty_requests_at_the_endpoint(predictions, tmp_path: Path, rules_answer: Handler) -> None:
    """One aiohttp session, one connection per request in flight: the endpoint sees all 40 at once.

    Answers take 1 s: the first 40 requests each open a connection, and the test server starts a
    thread for each; with 0.3 s, on a loaded machine, the first answers came back before the last
    of them arrived (34 of 40 at once, 1 fresh-clone run in 4)."""

    def answer(request: ChatRequest) -> Reply:
        return Reply(content=rules_answer(request), delay=1.0)

    with running_chat_server(answer) as server:
        scores = score(predictions, tmp_path / "run", server.base_url, concurrency=40)
        assert server.max_in_flight == 40
    assert scores["judge"]["clips_failed"] == {} and judge_calls(scores) == server.count


def test_the_first_requests_go_out_before_the_last_questions_exist(rules_answer: Handler) -> None:
    """The feed is asked for more only as the queue runs low: with 2 slots, 4 questions wait ahead."""
    fed: list[int] = []
    fed_when_asked: list[int] = []

    def answer(request: ChatRequest) -> str:
        fed_when_asked.append(len(fed))
        return rules_answer(request)

    texts = [f"He nods {i} times." for i in range(30)]
    with running_chat_server(answer) as server:
        judge = load_judge("openai", {**FAST, "base_url": server.base_url, "max_concurrency": 2})
        engine = JudgeEngine(judge)
        pending = []
        with engine.session() as session:

            def feed() -> bool:
                if len(fed) == len(texts):
                    return False
                index = len(fed)
                fed.append(index)
                pending.append(session.submit("extract", {"text": texts[index]}, priority=(index,)))
                return True

            session.wait_idle(feed)
    assert [p.result()["events"] for p in pending] == [[f"he nods {i} times"] for i in range(30)]
    assert server.count == 30
    assert fed_when_asked[0] <= 6  # at the first request: 2 in flight, 2 per slot queued, 24 not asked yet
    assert sum(n < len(texts) for n in fed_when_asked) >= 20  # most requests went out while it still fed


class BlockingJudge(ChatJudge):
    """A plugin judge that only implements the blocking ``complete`` (one HTTP request with urllib)."""

    backend = "blocking-http"

    def __init__(self, base_url: str, **settings: Any) -> None:
        super().__init__(model="judge-model", **settings)
        self.base_url = base_url

    def complete(self, messages: Messages) -> str:
        body = json.dumps({"model": self.model, "messages": messages}).encode()
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions", data=body, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["choices"][0]["message"]["content"])


def test_a_judge_that_only_blocks_runs_on_its_own_threads_with_every_slot_used(rules_answer: Handler) -> None:
    def answer(request: ChatRequest) -> Reply:
        return Reply(content=rules_answer(request), delay=0.2)

    with running_chat_server(answer) as server:
        judge = BlockingJudge(server.base_url, max_concurrency=5)
        assert judge.request_slots == 5
        results = JudgeEngine(judge).run("extract", [{"text": f"She smiles {i} times."} for i in range(20)])
        assert server.max_in_flight == 5
    assert results == [{"events": [f"she smiles {i} times"]} for i in range(20)]


def test_ngram_metrics_in_a_child_process_equal_those_computed_here() -> None:
    captions = list(fec_bench_captions().values())[:40]
    refs = {str(i): caption for i, caption in enumerate(captions)}
    preds = {str(i): captions[(i + 1) % 40] for i in range(40)}
    here = json.loads(json.dumps(score_ngram(refs, preds, bootstrap=50, seed=3)))
    assert score_ngram_in_child(refs, preds, bootstrap=50, seed=3) == here
    with pytest.raises(KeyError, match=r"no reference for clip ids \['0', '1', '10'"):  # raised as it is here
        score_ngram_in_child({}, preds, bootstrap=0)
    with pytest.raises(ValueError, match="no predictions to score"):
        score_ngram_in_child(refs, {}, bootstrap=0)


def test_scoring_many_clips_uses_the_child_and_gives_the_same_scores(
    tmp_path: Path, fec_bench_test_json: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, annotations = write_predictions(tmp_path, fec_bench_test_json, 12)

    def ngram_scores(folder: str) -> dict[str, Any]:
        scores = api.score(path, annotations=annotations, out=tmp_path / folder, judge=None, bootstrap=20)
        return {name: scores["metrics"][name] for name in ("cider", "rouge_l")}

    here = ngram_scores("here")
    monkeypatch.setattr(scoring, "NGRAM_CHILD_MIN_CLIPS", 1)
    children_before = _children_started()
    in_child = ngram_scores("child")
    assert _children_started() > children_before  # the child really ran
    assert in_child == here


def _children_started() -> float:
    """CPU seconds of this process's finished children (grows when a child process ran)."""
    times = os.times()
    return times.children_user + times.children_system


def test_scoring_works_when_called_from_a_running_event_loop(rules_answer: Handler) -> None:
    """A notebook cell (or an async program) already runs an event loop in the calling thread."""
    import asyncio

    def answer(request: ChatRequest) -> Reply:
        return Reply(content=rules_answer(request), delay=0.2)

    with running_chat_server(answer) as server:
        judge = load_judge("openai", {**FAST, "base_url": server.base_url, "max_concurrency": 3})

        async def notebook_cell() -> list[Any]:
            return JudgeEngine(judge).run("extract", [{"text": f"He nods {i} times."} for i in range(9)])

        results = asyncio.run(notebook_cell())
        assert server.max_in_flight == 3
    assert results == [{"events": [f"he nods {i} times"]} for i in range(9)]
