"""Work ahead of the model: inputs prepared while the previous batch generates, frames decoded while the model loads.

Neither may change a result: predictions equal those of ``generate`` called clip by clip, every clip
is decoded exactly once, and a failing ``prepare``, a missing video or a damaged one fails no more
than it did before.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from clipgen import write_clip
from conftest import TEST_PLUGINS

from fecbench import api
from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench.data.annotations import Clip
from fecbench.prompts import DEFAULT_INSTRUCTION
from fecbench.runner.batching import BatchSize, video_error_text
from fecbench.runner.decode_ahead import DecodeAhead, clip_bytes
from fecbench.runner.plan import PlannedClip
from fecbench.runner.replica import Replica, ReplicaConfig
from fecbench.video import cache as cache_module
from fecbench.video.cache import FrameCache
from fecbench.video.decode import decode_clip
from fecbench.video.protocol import FrameProtocol

PLUGIN = "fecbench_prepare_adapters"
FRAMES = 4
PROTOCOL = FrameProtocol(num_frames=FRAMES, max_side=448)


@pytest.fixture
def prepare_log(monkeypatch: pytest.MonkeyPatch) -> str:
    """Register ``prepare-log`` (tests/plugins/fecbench_prepare_adapters.py) through FECBENCH_PLUGINS."""
    monkeypatch.syspath_prepend(str(TEST_PLUGINS))
    monkeypatch.setenv("FECBENCH_PLUGINS", PLUGIN)
    from fecbench.plugins import plugin_manager

    plugin_manager.cache_clear()
    yield "prepare-log"
    sys.modules.pop(PLUGIN, None)
    plugin_manager.cache_clear()


def same_size_clips(root: Path, count: int, *, missing: tuple[int, ...] = (), damaged: tuple[int, ...] = ()) -> Path:
    """``count`` 64x48 clips (one shape group, so batches are cut in annotation order) of different lengths."""
    records = []
    for i in range(count):
        video = f"SRC/clip_{i:02d}.mp4"
        path = root / "videos" / video
        if i in damaged:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
        elif i not in missing:
            write_clip(path, frames=6 + 3 * i, width=64, height=48)
        records.append({"id": f"c{i}", "video": video, "caption": f"Clip {i} is shown."})
    annotations = root / "annotations.json"
    annotations.write_text(json.dumps(records), encoding="utf-8")
    return annotations


def run(model: str, annotations: Path, output: Path, **options: object) -> api.RunResult:
    options = {"frames": FRAMES, "batch_size": 2, "frame_cache": False, "score": False, **options}
    return api.run(
        model, annotations=annotations, video_roots=[str(annotations.parent / "videos")], output=output, **options
    )


def predictions(run_dir: Path) -> dict[str, tuple[str, str | None]]:
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    return {row["id"]: (row["status"], row.get("prediction") or row.get("error")) for row in rows}


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- the runner calls prepare ahead -----------------------------------------------------------------


def test_runner_prepares_the_next_batch_while_the_current_one_generates(prepare_log: str, tmp_path: Path) -> None:
    annotations = same_size_clips(tmp_path / "set", 7)
    log = tmp_path / "calls.jsonl"
    result = run(prepare_log, annotations, tmp_path / "run", model_args={"log": str(log), "clips": 7, "wait": 20.0})
    assert result.n_ok == 7
    events = read_log(log)
    generated = [e for e in events if e["event"] == "generate"]
    assert [e["ids"] for e in generated] == [["c0", "c1"], ["c2", "c3"], ["c4", "c5"], ["c6"]]

    def position(event: str, ids: list[str]) -> int:
        return next(i for i, e in enumerate(events) if e["event"] == event and e["ids"] == ids)

    for current, following in itertools.pairwise(generated):
        # generate(k) blocks until prepare(k+1) has started, at most 20 s: it must not have timed out.
        assert position("prepare", following["ids"]) < position("return", current["ids"])
    assert all(e["waited"] < 20.0 for e in events if e["event"] == "return")
    for batch in generated:  # each batch prepared once, before it generates, with the very request objects
        prepares = [e for e in events if e["event"] == "prepare" and e["ids"] == batch["ids"]]
        assert len(prepares) == 1 and prepares[0]["request_ids"] == batch["request_ids"]
        assert position("prepare", batch["ids"]) < position("generate", batch["ids"])


def test_a_failing_prepare_does_not_fail_the_run(
    prepare_log: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    annotations = same_size_clips(tmp_path / "set", 5)
    plain = run(prepare_log, annotations, tmp_path / "plain")
    with caplog.at_level("DEBUG", logger="fecbench.runner.batching"):
        failing = run(prepare_log, annotations, tmp_path / "failing", model_args={"prepare_raises": True})
    assert failing.n_ok == plain.n_ok == 5
    assert predictions(tmp_path / "failing") == predictions(tmp_path / "plain")
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "prepare failed on purpose" in warnings[0].getMessage()
    assert len([r for r in caplog.records if "preparing a batch ahead failed" in r.getMessage()]) == 3


def test_ray_replica_prepares_before_it_generates(prepare_log: str, tmp_path: Path) -> None:
    """A Ray actor runs two batches at once: each is prepared outside the generation lock."""
    annotations = same_size_clips(tmp_path / "set", 4)
    log = tmp_path / "calls.jsonl"
    config = ReplicaConfig(
        model=prepare_log,
        model_args={"log": str(log)},
        protocol=PROTOCOL,
        prompt=DEFAULT_INSTRUCTION,
        generation=GenerationConfig(max_new_tokens=8),
        batch=BatchSize(2),
        frame_cache=False,
    )
    replica = Replica(config)
    items = [
        PlannedClip(clip=Clip(id=f"c{i}", video=f"SRC/clip_{i:02d}.mp4", caption="", index=i), path=path)
        for i, path in enumerate(sorted((annotations.parent / "videos" / "SRC").glob("*.mp4")))
    ]
    try:
        outcomes = [replica.run(items[:2]), replica.run(items[2:])]
    finally:
        replica.close()
    assert [r.status for o in outcomes for r in o.results] == ["ok"] * 4
    events = [(e["event"], e["ids"]) for e in read_log(log)]
    assert events.index(("prepare", ["c0", "c1"])) < events.index(("generate", ["c0", "c1"]))
    assert events.index(("prepare", ["c2", "c3"])) < events.index(("generate", ["c2", "c3"]))


# -- decoding ahead, from before the model loads ----------------------------------------------------


@pytest.fixture
def decode_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Log every clip decode (path and process id) to a file: forked decoding workers inherit the wrapper."""
    log = tmp_path / "decodes.log"
    real = cache_module.decode_clip

    def counting(path: Path, protocol: FrameProtocol):
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {path}\n")
        return real(path, protocol)

    monkeypatch.setattr(cache_module, "decode_clip", counting)
    log.touch()
    return log


def decodes(log: Path) -> tuple[list[str], set[int]]:
    lines = [line.split(" ", 1) for line in log.read_text().splitlines()]
    return sorted(Path(p).name for _, p in lines), {int(pid) for pid, _ in lines}


def test_clips_decode_ahead_once_each_and_bad_videos_fail_alone(
    prepare_log: str, tmp_path: Path, decode_log: Path
) -> None:
    annotations = same_size_clips(tmp_path / "set", 6, missing=(2,), damaged=(4,))
    result = run(prepare_log, annotations, tmp_path / "run")
    assert (result.n_ok, result.n_failed) == (4, 2)
    names, pids = decodes(decode_log)
    # Every clip with a file decoded exactly once (the missing one never, the damaged one too); on
    # Linux in the decoding worker processes, not in this one.
    assert names == ["clip_00.mp4", "clip_01.mp4", "clip_03.mp4", "clip_04.mp4", "clip_05.mp4"]
    if sys.platform.startswith("linux"):
        assert os.getpid() not in pids
    rows = predictions(tmp_path / "run")
    assert rows["c2"][0] == "error" and rows["c2"][1].startswith("video error: video not found: SRC/clip_02.mp4")
    damaged = annotations.parent / "videos" / "SRC" / "clip_04.mp4"
    with pytest.raises(Exception) as raised:  # the error the loop's own decoding gives this file
        FrameCache(PROTOCOL, enabled=False).load(damaged)
    assert rows["c4"] == ("error", video_error_text(raised.value))
    # The same frames as without decoding ahead: the captions depend on the frames' values.
    for i in (0, 1, 3, 5):
        frames = decode_clip(annotations.parent / "videos" / "SRC" / f"clip_{i:02d}.mp4", PROTOCOL).frames
        assert rows[f"c{i}"] == ("ok", f"{len(frames)} frames, mean brightness {float(frames.mean()):.2f}")


@pytest.mark.parametrize("processes", [True, False], ids=["processes", "threads"])
def test_decode_ahead_stays_within_budget_and_never_decodes_twice(
    tmp_path: Path, decode_log: Path, processes: bool
) -> None:
    annotations = same_size_clips(tmp_path / "set", 5)
    paths = sorted((annotations.parent / "videos" / "SRC").glob("*.mp4"))
    items = [
        PlannedClip(clip=Clip(id=f"c{i}", video=p.name, caption="", index=i), path=p, shape=(FRAMES, 48, 64))
        for i, p in enumerate(paths)
    ]
    budget = 2 * clip_bytes(items[0], PROTOCOL)
    ahead = DecodeAhead(items, FrameCache(PROTOCOL, enabled=False), workers=1, budget=budget, processes=processes)
    try:
        assert ahead.submitted == 2  # two clips' frames fit in the budget
        out_of_turn = ahead.load(paths[3])  # asked for before its turn: decoded here, and not again later
        loaded = {3: out_of_turn, **{i: ahead.load(paths[i]) for i in (0, 1, 2, 4)}}
        assert (ahead.submitted, ahead.delivered) == (4, 4)
    finally:
        ahead.close()
    for i, sampled in loaded.items():
        expected = decode_clip(paths[i], PROTOCOL)
        assert np.array_equal(sampled.frames, expected.frames) and sampled.timestamps == expected.timestamps
    names, _ = decodes(decode_log)
    assert names == sorted(p.name for p in paths)  # once each, ahead or (clip 3) in the caller


def test_close_leaves_no_pool_thread_for_the_interpreters_exit_hook(tmp_path: Path) -> None:
    """Closed with clips still queued (as on Ctrl-C), nothing of the pool may still be shutting down.

    On Python < 3.12.8 the exit hook of ``concurrent.futures`` could write to the wake-up pipe of a
    pool's manager thread while that thread was closing it, printing "OSError: [Errno 9] Bad file
    descriptor" after ``interrupted: ...`` (1 Ctrl-C test run in 45 here)."""
    annotations = same_size_clips(tmp_path / "set", 6)
    paths = sorted((annotations.parent / "videos" / "SRC").glob("*.mp4"))
    items = [
        PlannedClip(clip=Clip(id=f"c{i}", video=p.name, caption="", index=i), path=p, shape=(FRAMES, 48, 64))
        for i, p in enumerate(paths)
    ]
    before = set(threading.enumerate())
    ahead = DecodeAhead(items, FrameCache(PROTOCOL, enabled=False), workers=2)
    ahead.load(paths[0])
    ahead.close()
    assert [t.name for t in threading.enumerate() if t not in before and t.is_alive()] == []


def test_decoding_workers_exit_when_the_run_is_killed(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("decoding workers are processes on Linux only")
    annotations = same_size_clips(tmp_path / "set", 2)
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from fecbench.data.annotations import Clip
        from fecbench.runner.decode_ahead import DecodeAhead
        from fecbench.runner.plan import PlannedClip
        from fecbench.video.cache import FrameCache
        from fecbench.video.protocol import FrameProtocol

        paths = sorted(Path({str(annotations.parent / "videos" / "SRC")!r}).glob("*.mp4"))
        items = [PlannedClip(Clip(str(i), p.name, "", i), p) for i, p in enumerate(paths)]
        ahead = DecodeAhead(items, FrameCache(FrameProtocol(num_frames=4), enabled=False), workers=2)
        ahead.load(paths[0])
        print(" ".join(str(p) for p in ahead._pool._processes), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == -9, done.stderr
    workers = [int(p) for p in done.stdout.split()]
    assert len(workers) == 2
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, f"decoding workers {workers} outlived their killed parent"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


# -- the transformers adapter: prepared inputs give the same captions --------------------------------

GREEDY = GenerationConfig(max_new_tokens=10)


@pytest.fixture(scope="module")
def tiny_qwen2_vl(tmp_path_factory: pytest.TempPathFactory) -> str:
    pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    pytest.importorskip("transformers")
    from tiny_models import build_tiny_qwen2_vl

    return str(build_tiny_qwen2_vl(tmp_path_factory.mktemp("tiny-qwen2-vl")))


@pytest.fixture(scope="module")
def qwen(tiny_qwen2_vl: str):
    from fecbench.plugins import load_adapter

    adapter = load_adapter("qwen2-vl", {"pretrained": tiny_qwen2_vl, "device": "cpu"})
    yield adapter
    adapter.close()


def clip_request(clip_id: str, seed: int, frames: int = 4, side: int = 56, prompt: str = "Describe.") -> VideoRequest:
    pixels = np.random.default_rng(seed).integers(0, 256, (frames, side, side, 3), dtype=np.uint8)
    return VideoRequest(clip_id, pixels, prompt, [i / 4 for i in range(frames)])


def test_run_with_prepare_ahead_equals_generate_clip_by_clip(
    tiny_qwen2_vl: str, qwen, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fecbench_adapters.hf_video import HFVideoChatAdapter

    used: list[bool] = []
    take = HFVideoChatAdapter._take_prepared

    def spy(self, requests):
        inputs = take(self, requests)
        used.append(inputs is not None)
        return inputs

    monkeypatch.setattr(HFVideoChatAdapter, "_take_prepared", spy)
    annotations = same_size_clips(tmp_path / "set", 7)
    model_args = {"pretrained": tiny_qwen2_vl, "device": "cpu"}
    run("qwen2-vl", annotations, tmp_path / "run", model_args=model_args, batch_size=3, max_new_tokens=10)
    assert used == [True, True, True], "every batch should have found its inputs prepared"
    rows = predictions(tmp_path / "run")
    alone = {}
    for i in range(7):
        sampled = decode_clip(annotations.parent / "videos" / "SRC" / f"clip_{i:02d}.mp4", PROTOCOL)
        request = VideoRequest(f"c{i}", sampled.frames, DEFAULT_INSTRUCTION, list(sampled.timestamps))
        alone[f"c{i}"] = ("ok", qwen.generate([request], GREEDY)[0])
    assert len({text for _, text in alone.values()}) > 1, "captions must depend on the clip for this to prove anything"
    assert rows == alone


def test_prepared_inputs_serve_only_the_same_unchanged_requests(qwen, monkeypatch: pytest.MonkeyPatch) -> None:
    inline: list[list[str]] = []
    prepare_inputs = qwen.prepare_inputs

    def counting(requests):
        inline.append([r.clip_id for r in requests])
        return prepare_inputs(requests)

    monkeypatch.setattr(qwen, "prepare_inputs", counting)
    batch = [clip_request("a", 1), clip_request("b", 2)]
    expected = qwen.generate(batch, GREEDY)
    assert inline == [["a", "b"]]
    qwen.prepare(batch, GREEDY)
    assert qwen.generate(batch, GREEDY) == expected and len(inline) == 1  # prepared inputs used

    qwen.prepare(batch, GREEDY)
    batch[0].frames[:] = 255 - batch[0].frames  # changed in place after it was prepared
    changed = qwen.generate(batch, GREEDY)
    assert len(inline) == 2
    copies = [VideoRequest(r.clip_id, r.frames.copy(), r.prompt, list(r.timestamps)) for r in batch]
    assert changed == qwen.generate(copies, GREEDY)

    qwen.prepare(batch, GREEDY)
    other_prompt = [VideoRequest(r.clip_id, r.frames, "Describe the face.", list(r.timestamps)) for r in batch]
    qwen.generate(other_prompt, GREEDY)
    assert len(inline) == 4  # same ids, another prompt: prepared again


def test_prepare_beside_generate_is_thread_safe(qwen) -> None:
    """Prepare, inline preparation and generation (which decodes tokens) at once, from several threads."""
    batches = [[clip_request(f"b{b}c{i}", 10 * b + i, frames=2 + i) for i in range(3)] for b in range(4)]
    expected = [qwen.generate(batch, GREEDY) for batch in batches]
    errors: list[BaseException] = []
    stop = threading.Event()

    def hammer(work) -> None:
        try:
            while not stop.is_set():
                work()
        except BaseException as exc:
            errors.append(exc)

    workers = [
        threading.Thread(target=hammer, args=(lambda: [qwen.prepare(b, GREEDY) for b in batches],)),
        threading.Thread(target=hammer, args=(lambda: [qwen.prepare(b, GREEDY) for b in batches[::-1]],)),
        threading.Thread(target=hammer, args=(lambda: qwen.prepare_inputs(batches[1]),)),
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in range(3):
            assert [qwen.generate(batch, GREEDY) for batch in batches] == expected
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
    assert not errors, errors
