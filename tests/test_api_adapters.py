"""The API adapters (gpt-4o, claude-3.5-sonnet, openai-server) against real servers on loopback.

Neither OpenAI nor Anthropic can be reached here, so each adapter talks, through its official
client, to a server on 127.0.0.1 that speaks the provider's protocol (``chat_server.py``,
``anthropic_server.py``): what arrives is decoded and checked (frame count, order, times, prompt,
decoding settings), and the servers answer with scripted rate limits, server errors, timeouts and
malformed answers.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openai")
pytest.importorskip("anthropic")

import av
from anthropic_server import running_messages_server
from chat_server import Reply, running_chat_server, slow, status
from conftest import make_clip_set
from fecbench_adapters.remote_chat import RemoteRequestError, retry_after_seconds
from PIL import Image

import fecbench
from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench.errors import ConfigError
from fecbench.plugins import get_adapter, load_adapter
from fecbench.runner.spec import public_model_args

OPENAI_KEY = "sk-test-openai-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
CONFIG = GenerationConfig(max_new_tokens=77)
FAST = {"backoff": 0.001, "max_backoff": 0.01}  # retries without real waiting


@pytest.fixture(autouse=True)
def no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def ramp(count: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Frames whose brightness rises with their index (10, 40, 70...), readable after lossy coding."""
    return np.stack([np.full((height, width, 3), 10 + 30 * i, dtype=np.uint8) for i in range(count)])


def clip(number: int, frames: int = 6) -> VideoRequest:
    return VideoRequest(
        f"c{number}", ramp(frames), f"Describe clip {number}.", [round(0.4 * i, 2) for i in range(frames)]
    )


def brightness(jpeg_b64: str) -> float:
    return float(np.asarray(Image.open(io.BytesIO(base64.b64decode(jpeg_b64))).convert("RGB")).mean())


def data_of(url: str, media_type: str) -> str:
    prefix = f"data:{media_type};base64,"
    assert url.startswith(prefix), url[:40]
    return url[len(prefix) :]


def assert_ramp(levels: list[float], count: int) -> None:
    assert len(levels) == count
    assert levels == pytest.approx([10 + 30 * i for i in range(count)], abs=4)


def echo_clip(request) -> str:
    """Answer with the clip's own instruction, so that the order of answers can be checked."""
    return "Answer to: " + request.prompt.splitlines()[-1]


def gpt4o(server, **args):
    return load_adapter("gpt-4o", {"api_key": OPENAI_KEY, "base_url": server.base_url, **FAST, **args})


def claude(server, **args):
    return load_adapter("claude-3.5-sonnet", {"api_key": ANTHROPIC_KEY, "base_url": server.base_url, **FAST, **args})


# -- what arrives ---------------------------------------------------------------------------------


def test_gpt4o_sends_ordered_jpeg_frames_with_their_times_then_the_prompt() -> None:
    with running_chat_server(echo_clip, api_key=OPENAI_KEY) as server:
        adapter = gpt4o(server)
        assert adapter.generate([clip(3)], CONFIG) == ["Answer to: Describe clip 3."]
        adapter.close()
        (seen,) = server.chat_requests
    assert seen.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    body = seen.body
    assert body["model"] == "gpt-4o-2024-08-06"
    assert body["temperature"] == 0.0 and body["max_tokens"] == 77
    content = body["messages"][0]["content"]
    assert content[0] == {
        "type": "text",
        "text": "The following 6 images are frames of one video, in order, taken at "
        "0.00, 0.40, 0.80, 1.20, 1.60, 2.00 seconds.",
    }
    images = content[1:-1]
    assert all(p["type"] == "image_url" and p["image_url"]["detail"] == "auto" for p in images)
    assert_ramp([brightness(data_of(p["image_url"]["url"], "image/jpeg")) for p in images], 6)
    assert content[-1] == {"type": "text", "text": "Describe clip 3."}


def test_claude_sends_ordered_base64_images_with_their_times_then_the_prompt() -> None:
    with running_messages_server(echo_clip_claude, api_key=ANTHROPIC_KEY) as server:
        adapter = claude(server)
        assert adapter.generate([clip(4, frames=5)], CONFIG) == ["Answer to: Describe clip 4."]
        (seen,) = server.requests
    body = seen.body
    assert seen.headers.get("anthropic-version")
    assert body["model"] == "claude-3-5-sonnet-20240620"
    assert body["temperature"] == 0.0 and body["max_tokens"] == 77
    content = body["messages"][0]["content"]
    assert content[0]["text"].startswith("The following 5 images are frames of one video, in order, taken at 0.00,")
    images = content[1:-1]
    assert all(b["type"] == "image" and b["source"]["media_type"] == "image/jpeg" for b in images)
    assert_ramp([brightness(b["source"]["data"]) for b in images], 5)
    assert content[-1] == {"type": "text", "text": "Describe clip 4."}


def echo_clip_claude(request) -> str:
    return "Answer to: " + request.text.splitlines()[-1]


def test_claude_without_temperature_sends_none() -> None:
    with running_messages_server(echo_clip_claude) as server:
        claude(server, send_temperature=False).generate([clip(1)], CONFIG)
        assert "temperature" not in server.requests[0].body


def decode_mp4(data: bytes) -> tuple[list[float], float]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        levels = [float(f.to_ndarray(format="rgb24").mean()) for f in container.decode(stream)]
        return levels, float(stream.average_rate)


@pytest.mark.parametrize("mode", ["mp4", "jpeg-frames", "images"])
def test_openai_server_sends_the_clip_in_the_chosen_video_mode(mode: str) -> None:
    with running_chat_server(echo_clip, api_key="served-key", model="Qwen/Qwen2.5-VL-7B-Instruct") as server:
        adapter = load_adapter(
            "openai-server", {"base_url": server.base_url, "video_mode": mode, "api_key": "served-key", **FAST}
        )
        assert adapter.model == "Qwen/Qwen2.5-VL-7B-Instruct"  # the server's only model, from GET /models
        assert adapter.generate([clip(2, frames=7)], CONFIG) == ["Answer to: Describe clip 2."]
        (seen,) = server.chat_requests
    assert seen.model == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert seen.body["temperature"] == 0.0 and seen.body["max_tokens"] == 77
    content = seen.messages[0]["content"]
    assert content[-1] == {"type": "text", "text": "Describe clip 2."}
    if mode == "images":
        assert content[0]["text"].startswith("The following 7 images are frames of one video")
        assert_ramp([brightness(data_of(p["image_url"]["url"], "image/jpeg")) for p in content[1:-1]], 7)
        assert "detail" not in content[1]["image_url"]
        return
    (video,) = seen.parts("video_url")
    assert content[0] is not None and content[0]["type"] == "video_url" and len(content) == 2
    if mode == "mp4":
        levels, fps = decode_mp4(base64.b64decode(data_of(video["video_url"]["url"], "video/mp4")))
        assert fps == pytest.approx(2.5)  # frames 0.4 s apart: the clip keeps its duration
    else:
        levels = [brightness(f) for f in data_of(video["video_url"]["url"], "video/jpeg").split(",")]
    assert_ramp(levels, 7)


def test_mp4_of_odd_sized_frames_is_padded_to_even_sides() -> None:
    from fecbench_adapters.remote_chat import encode_mp4

    with av.open(io.BytesIO(encode_mp4(ramp(3, height=47, width=63), 2.0))) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert [f.shape for f in frames] == [(48, 64, 3)] * 3


# -- concurrency and retries ----------------------------------------------------------------------


def test_concurrency_is_limited_and_answers_keep_the_clips_order() -> None:
    with running_chat_server(lambda r: Reply(content=echo_clip(r), delay=0.25)) as server:
        adapter = gpt4o(server, max_concurrency=2)
        requests = [clip(i, frames=2) for i in range(6)]
        assert adapter.generate(requests, CONFIG) == [f"Answer to: Describe clip {i}." for i in range(6)]
        assert server.max_in_flight == 2
        server.reset()
        assert len(gpt4o(server, max_concurrency=8).generate(requests[:4], CONFIG)) == 4
        assert server.max_in_flight == 4  # really concurrent, bounded by the batch


def test_claude_concurrency_is_limited() -> None:
    with running_messages_server(lambda r: Reply(content=echo_clip_claude(r), delay=0.25)) as server:
        requests = [clip(i, frames=2) for i in range(5)]
        answers = claude(server, max_concurrency=3).generate(requests, CONFIG)
        assert answers == [f"Answer to: Describe clip {i}." for i in range(5)]
        assert server.max_in_flight == 3


def test_rate_limits_and_server_errors_are_retried_honouring_retry_after() -> None:
    with running_chat_server(echo_clip) as server:
        server.script(status(429, retry_after=0.6), status(500), status(503))
        started = time.monotonic()
        assert gpt4o(server).generate([clip(1)], CONFIG) == ["Answer to: Describe clip 1."]
        assert time.monotonic() - started >= 0.6  # the server's Retry-After, not the 1 ms backoff
        assert server.count == 4


def test_claude_retries_overload_and_rate_limits() -> None:
    with running_messages_server(echo_clip_claude) as server:
        server.script(status(529, message="Overloaded"), status(429, retry_after=0), status(500))
        assert claude(server).generate([clip(1)], CONFIG) == ["Answer to: Describe clip 1."]
        assert server.count == 4


def test_timeouts_are_retried() -> None:
    with running_chat_server(echo_clip) as server:
        server.script(slow(2.0, "too late"))
        started = time.monotonic()
        assert gpt4o(server, timeout=0.3).generate([clip(1)], CONFIG) == ["Answer to: Describe clip 1."]
        assert time.monotonic() - started < 1.5
        assert server.count == 2


def test_connection_errors_are_retried_then_fail_the_clip() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    adapter = load_adapter(
        "gpt-4o", {"api_key": OPENAI_KEY, "base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 2, **FAST}
    )
    with pytest.raises(RemoteRequestError, match=r"gave up after 3 tries: APIConnectionError"):
        adapter.generate([clip(1)], CONFIG)


def test_the_last_failure_is_raised_after_all_tries() -> None:
    with running_chat_server(lambda r: status(500, message="still broken")) as server:
        with pytest.raises(RemoteRequestError, match=r"gave up after 3 tries: InternalServerError.*still broken"):
            gpt4o(server, max_retries=2).generate([clip(1)], CONFIG)
        assert server.count == 3


@pytest.mark.parametrize("reply", [status(400, message="bad image"), Reply(content=None)], ids=["400", "no-text"])
def test_client_errors_and_malformed_answers_fail_at_once(reply: Reply) -> None:
    with running_chat_server(lambda r: reply) as server:
        with pytest.raises(RemoteRequestError, match=r"BadRequestError|holds no text"):
            gpt4o(server).generate([clip(1)], CONFIG)
        assert server.count == 1


def test_claude_answer_without_text_fails_the_clip() -> None:
    with (
        running_messages_server(lambda r: Reply(content=None)) as server,
        pytest.raises(RemoteRequestError, match="holds no text"),
    ):
        claude(server).generate([clip(1)], CONFIG)


def test_a_failed_batch_is_not_sent_again_when_the_runner_retries_each_clip() -> None:
    def handler(request):
        return status(500) if request.prompt.endswith("clip 1.") else echo_clip(request)

    with running_chat_server(handler) as server:
        adapter = gpt4o(server, max_retries=1)
        batch = [clip(0), clip(1), clip(2)]
        with pytest.raises(RemoteRequestError, match="gave up after 2 tries"):
            adapter.generate(batch, CONFIG)
        assert server.count == 4  # two answers, two tries of the failing clip
        # What the runner does next: each clip alone. Nothing is sent again.
        assert adapter.generate([batch[0]], CONFIG) == ["Answer to: Describe clip 0."]
        with pytest.raises(RemoteRequestError, match="gave up after 2 tries"):
            adapter.generate([batch[1]], CONFIG)
        assert adapter.generate([batch[2]], CONFIG) == ["Answer to: Describe clip 2."]
        assert server.count == 4
        # A later call for the same clip is a new try.
        with pytest.raises(RemoteRequestError):
            adapter.generate([batch[1]], CONFIG)
        assert server.count == 6


def test_keys_never_appear_in_error_messages() -> None:
    with (
        running_chat_server(lambda r: status(400, message=f"key {OPENAI_KEY} is not allowed")) as server,
        pytest.raises(RemoteRequestError) as raised,
    ):
        gpt4o(server).generate([clip(1)], CONFIG)
    assert OPENAI_KEY not in str(raised.value) and "<api key>" in str(raised.value)


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds({"retry-after": "2"}) == 2
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < retry_after_seconds({"retry-after": future}) <= 30
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


# -- arguments and keys ---------------------------------------------------------------------------


def test_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with running_chat_server(echo_clip, api_key=OPENAI_KEY) as server:
        with pytest.raises(ConfigError, match="set OPENAI_API_KEY or pass --model-args api_key="):
            load_adapter("gpt-4o", {"base_url": server.base_url})
        monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
        assert load_adapter("gpt-4o", {"base_url": server.base_url}).generate([clip(1)], CONFIG)
        monkeypatch.setenv("MY_SERVER_KEY", OPENAI_KEY)
        served = load_adapter("openai-server", {"base_url": server.base_url, "api_key_env": "MY_SERVER_KEY"})
        assert served.generate([clip(1)], CONFIG)
    with pytest.raises(ConfigError, match="set ANTHROPIC_API_KEY"):
        load_adapter("claude-3.5-sonnet", {})


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("gpt-4o", {"detail": "medium"}, "detail='medium' is not one of auto, low, high"),
        ("gpt-4o", {"jpeg_quality": 0}, "jpeg_quality=0 must be an integer from 1 to 100"),
        ("gpt-4o", {"max_concurrency": 0}, "max_concurrency=0 must be an integer of at least 1"),
        ("gpt-4o", {"max_retries": -1}, "max_retries=-1 must be an integer of at least 0"),
        ("gpt-4o", {"resolution": 4}, "does not take resolution"),
        ("claude-3.5-sonnet", {"send_temperature": "yes"}, "send_temperature='yes' must be true or false"),
        ("openai-server", {"video_mode": "gif", "model": "m"}, "video_mode='gif' is not one of mp4, jpeg-frames"),
        ("openai-server", {"crf": 60, "model": "m"}, "crf=60 must be an integer from 0 to 51"),
    ],
)
def test_bad_model_args_are_named(name: str, args: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_adapter(name, {"api_key": "k", **args})


def test_openai_server_that_cannot_be_reached_needs_a_model_name() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConfigError, match="cannot list the models served at .*pass --model-args model=NAME"):
        load_adapter("openai-server", {"base_url": f"http://127.0.0.1:{port}/v1", "timeout": 2})


def test_registrations_and_aliases() -> None:
    assert get_adapter("gpt4o").spec.name == "gpt-4o"
    assert get_adapter("claude").spec.default_checkpoint == "claude-3-5-sonnet-20240620"
    assert get_adapter("openai-compatible").spec.name == "openai-server"
    assert {get_adapter(n).spec.default_frames for n in ("gpt-4o", "claude", "openai-server", "vllm")} == {8}


def test_credentials_are_left_out_of_recorded_model_args() -> None:
    args = {"api_key": "a", "base_url": "u", "wrap.hf_token": "t", "token": "x", "max_new_tokens": 3, "password": "p"}
    assert public_model_args(args) == {"base_url": "u", "max_new_tokens": 3}


# -- whole runs -----------------------------------------------------------------------------------


def first_frame_width(request) -> int:
    first = request.parts("image_url")[0]["image_url"]["url"]
    return Image.open(io.BytesIO(base64.b64decode(data_of(first, "image/jpeg")))).width


def test_fecbench_run_records_the_clip_that_fails_after_its_last_try(tmp_path: Path) -> None:
    """The command a user types; clip 2 (frames 68 px wide) always meets a 500, the others are answered."""
    annotations = make_clip_set(tmp_path / "set", 4)  # frame widths 64, 66, 68, 70

    def handler(request):
        return status(500, message="backend down") if first_frame_width(request) == 68 else echo_clip(request)

    with running_chat_server(handler, api_key=OPENAI_KEY) as server:
        model_args = f"api_key={OPENAI_KEY},base_url={server.base_url},max_retries=2,backoff=0.001,max_concurrency=4"
        command = [sys.executable, "-m", "fecbench.cli", "run", "--model", "gpt-4o", "--model-args", model_args]
        command += ["--annotations", str(annotations), "--video-root", str(annotations.parent / "videos")]
        command += ["--frames", "3", "--batch-size", "4", "--output", str(tmp_path / "run")]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        auth = {r.headers["authorization"] for r in server.chat_requests}
    assert done.returncode == 1, done.stdout + done.stderr
    assert auth == {f"Bearer {OPENAI_KEY}"}
    lines = [json.loads(line) for line in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    assert [line["status"] for line in lines] == ["ok", "ok", "error", "ok"]
    assert lines[0]["prediction"].startswith("Answer to: Please provide a detailed description")
    assert "gave up after 3 tries: InternalServerError" in lines[2]["error"] and "backend down" in lines[2]["error"]
    spec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert "api_key" not in spec["model"]["args"] and spec["model"]["args"]["base_url"] == server.base_url
    assert spec["model"]["loaded"]["model"] == "gpt-4o-2024-08-06"
    assert spec["model"]["loaded"]["client"].startswith("openai ")
    for path in (tmp_path / "run").rglob("*"):  # thumbs/ too
        assert not path.is_file() or OPENAI_KEY.encode() not in path.read_bytes(), path.name
    assert OPENAI_KEY not in done.stdout + done.stderr


def test_claude_run_with_the_key_from_the_environment_resumes_without_resending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    annotations = make_clip_set(tmp_path / "set", 3)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    with running_messages_server(echo_clip_claude, api_key=ANTHROPIC_KEY) as server:
        server.script(status(429, retry_after=0))

        def run():
            return fecbench.run(
                "claude-3.5-sonnet",
                model_args={"base_url": server.base_url, **FAST},
                annotations=annotations,
                video_roots=[str(annotations.parent / "videos")],
                frames=2,
                batch_size=3,
                output=tmp_path / "run",
                score=False,
            )

        first = run()
        assert (first.n_ok, first.n_failed, server.count) == (3, 0, 4)
        again = run()
        assert (again.n_run_now, server.count) == (0, 4)
    spec = (tmp_path / "run" / "run.json").read_text()
    assert ANTHROPIC_KEY not in spec and json.loads(spec)["model"]["loaded"]["model"] == "claude-3-5-sonnet-20240620"


def test_openai_server_run_end_to_end(tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 3)
    with running_chat_server(lambda r: f"{len(r.parts('video_url'))} video", model="served/model") as server:
        result = fecbench.run(
            "openai-server",
            model_args={"base_url": server.base_url, "video_mode": "jpeg-frames"},
            annotations=annotations,
            video_roots=[str(annotations.parent / "videos")],
            frames=4,
            batch_size=3,
            output=tmp_path / "run",
            score=False,
        )
        assert {r.model for r in server.chat_requests} == {"served/model"}
    assert (result.n_ok, result.n_failed) == (3, 0)
    predictions = [json.loads(x) for x in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    assert {p["prediction"] for p in predictions} == {"1 video"}
    loaded = json.loads((tmp_path / "run" / "run.json").read_text())["model"]["loaded"]
    assert loaded["model"] == "served/model" and loaded["video_mode"] == "jpeg-frames"
