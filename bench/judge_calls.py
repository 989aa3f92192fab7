"""What does judging cost, and does the verdict cache remove it? Judge calls per clip, then a re-score.

Scores ``--clips`` real FEC-Bench references (``tests/data/fec-bench-test.json``, the published test.json)
against generated predictions (model A: each reference with its sentences reversed, or another clip's
reference; model B: another clip's reference without its first sentence) three times
per judge, with a fresh verdict cache:

1. model A, first scoring: judge calls per clip (every call a real HTTP request for ``openai``);
2. model A again: new calls (target 0) and the cache hit rate;
3. model B (other predictions) on the same clips: reference extractions served from the cache.

The ``openai`` judge talks over loopback HTTP to the test chat server (``tests/chat_server.py``),
which answers fecbench's prompts with the keyword rules of ``tests/plugins/fecbench_test_judges.py``
(no LLM can run here), after ``--latency`` seconds per request; ``lexical`` runs in-process.

    python bench/judge_calls.py [--clips 200] [--latency 0.0] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TEST_JSON = REPO / "tests" / "data" / "fec-bench-test.json"


def reversed_sentences(caption: str) -> str:
    return " ".join(reversed([s.strip() for s in re.split(r"(?<=\.)\s+", caption) if s.strip()]))


def write_inputs(folder: Path, test_json: Path, clips: int) -> tuple[Path, Path, Path]:
    """The first ``clips`` records as annotations, and two generated prediction files (models A and B)."""
    records = json.loads(test_json.read_text(encoding="utf-8"))[:clips]
    annotations = folder / "annotations.json"
    annotations.write_text(json.dumps(records), encoding="utf-8")
    files = []
    for name, shift in (("model_a", 1), ("model_b", 2)):
        path = folder / f"{name}.jsonl"
        rows = []
        for i, record in enumerate(records):
            other = records[(i + shift) % len(records)]["caption"]
            text = reversed_sentences(record["caption"]) if i % 2 == 0 else other
            if shift == 2:  # model B: new texts (another clip's reference without its first sentence)
                text = " ".join(re.split(r"(?<=\.)\s+", other.strip())[1:]) or other
            rows.append(json.dumps({"id": record["id"], "prediction": text}))
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        files.append(path)
    return annotations, files[0], files[1]


def totals(scores: dict[str, Any]) -> tuple[int, int, int]:
    """Judge calls, cache hits and items requested over all tasks."""
    stats = scores["judge"]["stats"].values()
    return (
        sum(s["judge_calls"] for s in stats),
        sum(s["cache_hits"] for s in stats),
        sum(s["requested"] for s in stats),
    )


def bench_judge(
    label: str,
    judge: str,
    judge_args: Callable[[Any], dict[str, Any]],
    server: AbstractContextManager[Any],
    requests: Callable[[Any], int],
    inputs: tuple[Path, Path, Path],
    folder: Path,
    clips: int,
    concurrency: int | None,
) -> None:
    from fecbench import api

    annotations, model_a, model_b = inputs
    with server as running:
        options = {"judge": judge, "judge_args": judge_args(running), "bootstrap": 0, "concurrency": concurrency}
        start = time.perf_counter()
        first = api.score(model_a, annotations=annotations, out=folder / f"{judge}-a", **options)
        first_seconds = time.perf_counter() - start
        first_requests = requests(running)
        start = time.perf_counter()
        again = api.score(folder / f"{judge}-a", **options)
        again_seconds = time.perf_counter() - start
        again_requests = requests(running) - first_requests
        other = api.score(model_b, annotations=annotations, out=folder / f"{judge}-b", **options)
    calls, _, requested = totals(first)
    re_calls, re_hits, re_requested = totals(again)
    per_task = ", ".join(f"{task} {s['judge_calls'] / clips:.2f}" for task, s in first["judge"]["stats"].items())
    extract_b = other["judge"]["stats"]["extract"]
    print(f"{label}:")
    print(f"  first scoring: {calls} judge calls for {clips} clips = {calls / clips:.2f} per clip ({per_task});")
    print(
        f"    {requested} items asked, {first_seconds:.2f} s"
        + (f", {first_requests} HTTP requests" if first_requests else "")
    )
    print(
        f"  re-score: {re_calls} new judge calls, cache hit rate {re_hits / re_requested:.1%} "
        f"({re_hits} of {re_requested}), {again_seconds:.2f} s"
        + (f", {again_requests} HTTP requests" if first_requests else "")
    )
    print(
        f"  model B on the same clips: {extract_b['cache_hits']} of {extract_b['requested']} extractions from the "
        f"cache (the references), {extract_b['judge_calls']} new"
    )
    tem = first["metrics"]["tem"]
    print(f"  (model A: TEM {tem['value']:.3f} on n={tem['n']}, AutoDQ {first['metrics']['autodq']['value']:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the chat server waits per request")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight for the openai judge")
    parser.add_argument("--test-json", type=Path, default=TEST_JSON)
    options = parser.parse_args()

    sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "plugins")]
    from chat_server import ChatServer, Reply, running_chat_server
    from fecbench_test_judges import rules_answer

    def handler(request: Any) -> Reply:
        answer = rules_answer(request)
        return Reply(content=answer, delay=options.latency) if isinstance(answer, str) else answer

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["FECBENCH_CACHE_DIR"] = str(folder / "cache")  # a fresh verdict cache
        inputs = write_inputs(folder, options.test_json, options.clips)
        print(f"{options.clips} clips of {options.test_json.name}; predictions: reversed sentences / other clips")
        bench_judge(
            f"openai judge over loopback HTTP (latency {options.latency} s, concurrency {options.concurrency})",
            "openai",
            lambda server: {"model": "bench-judge", "base_url": server.base_url, "api_key": "sk-bench"},
            running_chat_server(handler),
            lambda server: server.count if isinstance(server, ChatServer) else 0,
            inputs,
            folder,
            options.clips,
            options.concurrency,
        )
        bench_judge(
            "lexical judge (in-process)",
            "lexical",
            lambda _: {},
            nullcontext(),
            lambda _: 0,
            inputs,
            folder,
            options.clips,
            None,
        )


if __name__ == "__main__":
    main()
