"""How close does scoring with a judge server come to its physical limit, calls x latency / concurrency?

Scores ``--clips`` of FEC-Bench's real references (``tests/data/fec-bench-test.json``) against
generated predictions (those of ``bench/judge_calls.py``'s model A) with the ``openai`` judge,
through ``fecbench.api.score`` as a user would, against a loopback chat-completions server in its
own process (``tests/async_chat_server.py``: asyncio, the keyword rules' answers, which count as
correct here) that answers after a fixed latency. Two server settings: ``fixed`` (every answer
after ``--latency``) and ``jitter`` (latency +- half of it, uniform, and 2% of requests refused
with HTTP 429 and ``retry-after-ms: 500``). Each run starts with an empty verdict cache; one
warm-up run per setting (the first scoring in a process imports the openai client) is not counted.

Per setting and concurrency it prints the median, over ``--repeats`` alternating runs, of

- ``ratio``: the wall time of the whole ``api.score`` call (import of the predictions, CIDEr-D and
  ROUGE-L included) over the ideal, the latency the server applied to its answers, summed, divided
  by the concurrency (for ``fixed``: answers x latency / concurrency); goal <= 1.2;
- ``span ratio``: the server's busy span (first request to last answer) over the same ideal, i.e.
  the judge phase alone;
- the server's mean (time-weighted) and largest number of requests in flight;
- CPU milliseconds per answered request, in the scoring process (in brackets: its kernel share,
  loopback TCP is charged to the process that sends) and in the server; and the CPU seconds of the
  scoring's child process (CIDEr-D and ROUGE-L, from 200 clips on), which runs beside the judge.

``--bare`` adds, per concurrency, a control that is not fecbench: as many asyncio tasks as the
concurrency sending the same number of extraction requests the way the judge sends them (one
aiohttp session), nothing else. Its ratio is what this machine, under the load of the moment,
allows a Python client; fecbench's ratio over it is fecbench's own cost.

    python bench/judge_throughput.py [--clips 800] [--concurrency 8 32 128] [--repeats 3] [--latency 0.2] [--bare]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from judge_calls import TEST_JSON, write_inputs  # noqa: E402

SETTINGS = {
    "fixed": {"jitter": 0.0, "rate_limited": 0.0},
    "jitter": {"jitter": 0.5, "rate_limited": 0.02},  # jitter as a share of the latency
}


class LoopbackEndpoint:
    """``tests/async_chat_server.py`` in a child process, with its statistics over HTTP."""

    def __init__(self, latency: float, jitter: float, rate_limited: float) -> None:
        command = [sys.executable, str(REPO / "tests" / "async_chat_server.py"), "--latency", str(latency)]
        command += ["--jitter", str(jitter * latency), "--rate-limited", str(rate_limited)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def call(self, method: str, path: str) -> dict[str, Any]:
        data = b"" if method == "POST" else None
        request = urllib.request.Request(f"{self.base_url}/{path}", method=method, data=data)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def one_run(
    endpoint: LoopbackEndpoint, predictions: Path, annotations: Path, folder: Path, concurrency: int
) -> dict[str, float]:
    from fecbench import api

    os.environ["FECBENCH_CACHE_DIR"] = tempfile.mkdtemp(dir=folder)  # an empty verdict cache
    endpoint.call("POST", "reset")
    judge_args = {"model": "bench-judge", "base_url": endpoint.base_url, "api_key": "sk-bench"}
    before, start = os.times(), time.perf_counter()
    scores = api.score(
        predictions,
        annotations=annotations,
        out=tempfile.mkdtemp(dir=folder),
        judge="openai",
        judge_args=judge_args,
        concurrency=concurrency,
        bootstrap=0,
    )
    wall, after = time.perf_counter() - start, os.times()
    user, system = after.user - before.user, after.system - before.system
    child = after.children_user + after.children_system - before.children_user - before.children_system
    server = endpoint.call("GET", "stats")
    failed = scores["judge"]["clips_failed"]
    if failed:
        raise SystemExit(f"judge failures in a benchmark run: {failed}")
    ideal = server["latency_sum_s"] / concurrency
    answered = server["answered"]
    return {
        "ratio": wall / ideal,
        "span_ratio": server["busy_span_s"] / ideal,
        "wall": wall,
        "ideal": ideal,
        "answered": answered,
        "refused": server["refused_429"],
        "mean_in_flight": server["mean_in_flight"],
        "max_in_flight": server["max_in_flight"],
        "client_ms": 1000 * (user + system) / answered,
        "client_sys_ms": 1000 * system / answered,
        "child_s": child,
        "server_ms": 1000 * server["cpu_s"] / answered,
    }


def bare_run(endpoint: LoopbackEndpoint, texts: list[str], requests: int, concurrency: int) -> dict[str, float]:
    """The control: ``concurrency`` asyncio tasks sending ``requests`` extraction requests, nothing else.

    Sent as the ``openai`` judge sends a scoring job's requests (one aiohttp session, a connection
    per request in flight), written here without fecbench's code, with the three headers that
    matter (not the openai client's x-stainless-* ones); no parsing beyond reading the answer's text."""
    import asyncio

    import aiohttp

    from fecbench.judges.prompts import load_prompts

    prompts = load_prompts()
    bodies = [{"model": "bench", "messages": prompts.render("extract", {"text": t}), "temperature": 0} for t in texts]
    headers = {"Authorization": "Bearer k", "Content-Type": "application/json", "Accept": "application/json"}

    async def run() -> float:
        numbers = iter(range(requests))
        url = f"{endpoint.base_url}/chat/completions"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def sender() -> None:
                for index in numbers:
                    data = json.dumps(bodies[index % len(bodies)]).encode()
                    async with session.post(url, data=data, headers=headers) as response:
                        json.loads(await response.read())["choices"][0]["message"]["content"]

            start = time.perf_counter()
            await asyncio.gather(*(sender() for _ in range(concurrency)))
            return time.perf_counter() - start

    endpoint.call("POST", "reset")
    wall = asyncio.run(run())
    server = endpoint.call("GET", "stats")
    ideal = server["latency_sum_s"] / concurrency
    return {"ratio": wall / ideal, "mean_in_flight": server["mean_in_flight"], "answered": server["answered"]}


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=800)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the server takes per answer")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--settings", nargs="+", choices=sorted(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--test-json", type=Path, default=TEST_JSON)
    parser.add_argument("--bare", action="store_true", help="also run the bare-client control (fixed setting)")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        annotations, predictions, _ = write_inputs(folder, options.test_json, options.clips)
        print(f"{options.clips} clips of {options.test_json.name}, latency {options.latency} s, loadavg {_load()}")
        results: dict[tuple[str, int], list[dict[str, float]]] = {}
        bare_results: dict[int, list[dict[str, float]]] = {}
        for setting in options.settings:
            endpoint = LoopbackEndpoint(options.latency, **SETTINGS[setting])
            try:
                # Warm-up, not counted: the first scoring in a process imports the openai client and the metrics.
                one_run(endpoint, predictions, annotations, folder, max(options.concurrency))
                for repeat in range(options.repeats):
                    order = options.concurrency if repeat % 2 == 0 else list(reversed(options.concurrency))
                    for concurrency in order:
                        run = one_run(endpoint, predictions, annotations, folder, concurrency)
                        results.setdefault((setting, concurrency), []).append(run)
                        print(
                            f"  {setting} c={concurrency} run {repeat + 1}: ratio {run['ratio']:.3f} "
                            f"(wall {run['wall']:.2f} s / ideal {run['ideal']:.2f} s, {run['answered']:.0f} answers, "
                            f"{run['refused']:.0f} 429s), loadavg {_load()}",
                            flush=True,
                        )
                        if options.bare and setting == "fixed":
                            texts = [r["caption"] for r in json.loads(annotations.read_text())]
                            bare = bare_run(endpoint, texts, int(run["answered"]), concurrency)
                            bare_results.setdefault(concurrency, []).append(bare)
                            print(
                                f"  bare client c={concurrency}: ratio {bare['ratio']:.3f}, "
                                f"mean in flight {bare['mean_in_flight']:.1f}, loadavg {_load()}",
                                flush=True,
                            )
            finally:
                endpoint.close()
        print("\nmedian [min-max] over runs:")
        print(
            "setting  conc  ratio                span ratio           mean in flight        max   "
            "client ms/req (kernel)  server ms/req  n-gram child s"
        )
        for (setting, concurrency), runs in results.items():
            pick = {name: [r[name] for r in runs] for name in runs[0]}
            print(
                f"{setting:<8} {concurrency:>4}  {summary(pick['ratio']):<20} {summary(pick['span_ratio']):<20} "
                f"{summary(pick['mean_in_flight']):<21} {max(pick['max_in_flight']):>4.0f}  "
                f"{statistics.median(pick['client_ms']):>13.2f} ({statistics.median(pick['client_sys_ms']):.2f})  "
                f"{statistics.median(pick['server_ms']):>13.2f}  {statistics.median(pick['child_s']):>14.2f}"
            )
        for concurrency, runs in bare_results.items():
            ratios = [r["ratio"] for r in runs]
            fecbench_ratios = [r["ratio"] for r in results[("fixed", concurrency)]]
            over = [f / b for f, b in zip(fecbench_ratios, ratios, strict=True)]
            print(f"bare     {concurrency:>4}  {summary(ratios):<20} fecbench / bare {summary(over)}")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
