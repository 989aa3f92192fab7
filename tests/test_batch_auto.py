"""``--batch-size auto`` and batches grouped by input shape, largest first, with the real runner.

The ``scale-stats`` test adapter raises a real ``torch.cuda.OutOfMemoryError`` above a batch size
and logs every call, so these tests see exactly which batches reached the model.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from clipgen import write_clip
from conftest import TEST_PLUGINS
from import_probe import imported_by

from fecbench import api
from fecbench.errors import ConfigError
from fecbench.runner.batching import AUTO_CEILING, BatchSize, is_out_of_memory
from fecbench.runner.plan import PlannedClip, group_by_shape
from fecbench.runner.probe import mp4_video_size, probe_shape
from fecbench.video.protocol import FrameProtocol


def clip_set(root: Path, widths: list[int], *, height: int = 48) -> Path:
    """One clip per width (ids 0..n-1), all ``height`` pixels high."""
    records = []
    for i, width in enumerate(widths):
        video = f"SRC/clip_{i:03d}.mp4"
        write_clip(root / "videos" / video, frames=10, width=width, height=height)
        records.append({"id": str(i), "video": video, "caption": f"clip {i}"})
    path = root / "annotations.json"
    path.write_text(json.dumps(records))
    return path


def run(model: str, annotations: Path, out: Path, **kwargs: object) -> api.RunResult:
    return api.run(
        model,
        annotations=annotations,
        video_roots=[str(annotations.parent / "videos")],
        output=out,
        score=False,
        frame_cache=False,
        **kwargs,
    )


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def predictions(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]


def test_auto_halves_on_out_of_memory_and_settles(scale_plugin: str, tmp_path: Path) -> None:
    annotations = clip_set(tmp_path / "set", [64] * 10)
    log = tmp_path / "calls.jsonl"
    result = run(
        scale_plugin,
        annotations,
        tmp_path / "auto",
        batch_size="auto",
        model_args={"max_batch": 8, "oom_above": 2, "log": str(log)},
    )
    assert (result.n_ok, result.n_failed) == (10, 0)
    # 8 clips run out of memory, then the same clips at 4, then at 2, which fits; the rest stays at 2
    sizes = [len(c["ids"]) for c in calls(log)]
    assert sizes == [8, 4, 2, 2, 2, 2, 2]
    assert [c["ids"] for c in calls(log)][:3] == [[str(i) for i in range(8)], ["0", "1", "2", "3"], ["0", "1"]]
    spec = json.loads((tmp_path / "auto" / "run.json").read_text())
    assert spec["batch_size"] == "auto"
    assert spec["execution"]["batch_size_ceiling"] == 8
    assert spec["execution"]["batch_size_found"] == 2
    assert spec["execution"]["oom_backoffs"] == 2
    with sqlite3.connect(tmp_path / "auto" / "store.sqlite") as db:
        assert {row for row in db.execute("SELECT status, attempts FROM clips")} == {("ok", 1)}
    one_by_one = run(scale_plugin, annotations, tmp_path / "one", batch_size=1)
    assert one_by_one.n_ok == 10
    assert predictions(tmp_path / "auto") == predictions(tmp_path / "one")


def test_auto_starts_at_the_default_ceiling_without_an_adapter_cap(scale_plugin: str, tmp_path: Path) -> None:
    assert BatchSize.parse("auto") == BatchSize(AUTO_CEILING, auto=True) and AUTO_CEILING == 32
    annotations = clip_set(tmp_path / "set", [64] * 5)
    log = tmp_path / "calls.jsonl"
    run(scale_plugin, annotations, tmp_path / "run", batch_size="auto", model_args={"oom_above": 1, "log": str(log)})
    # a ceiling of 32 cut a first batch of all 5 clips; halving starts from the 5 clips actually sent
    assert [len(c["ids"]) for c in calls(log)] == [5, 2, 1, 1, 1, 1, 1]
    execution = json.loads((tmp_path / "run" / "run.json").read_text())["execution"]
    assert (execution["batch_size_ceiling"], execution["batch_size_found"]) == (32, 1)


def test_out_of_memory_for_one_clip_is_that_clips_failure(scale_plugin: str, tmp_path: Path) -> None:
    annotations = clip_set(tmp_path / "set", [64] * 3)
    result = run(scale_plugin, annotations, tmp_path / "run", batch_size="auto", model_args={"oom_above": 0})
    assert (result.n_ok, result.n_failed) == (0, 3)
    assert result.failures == {"model error: OutOfMemoryError": 3}
    first = predictions(tmp_path / "run")[0]
    assert first["error"].startswith("model error: OutOfMemoryError: CUDA out of memory.")


def test_fixed_batch_size_retries_clip_by_clip_on_out_of_memory(scale_plugin: str, tmp_path: Path) -> None:
    annotations = clip_set(tmp_path / "set", [64] * 4)
    log = tmp_path / "calls.jsonl"
    result = run(
        scale_plugin, annotations, tmp_path / "run", batch_size=4, model_args={"oom_above": 1, "log": str(log)}
    )
    assert (result.n_ok, result.n_failed) == (4, 0)
    assert [len(c["ids"]) for c in calls(log)] == [4, 1, 1, 1, 1]
    spec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert spec["batch_size"] == 4 and spec["execution"]["batch_size_found"] is None


def test_batches_group_by_shape_largest_first(scale_plugin: str, tmp_path: Path) -> None:
    widths = [64, 96, 64, 80, 96, 64, 96]
    annotations = clip_set(tmp_path / "set", widths)
    log = tmp_path / "calls.jsonl"
    (tmp_path / "set" / "videos" / "SRC" / "clip_005.mp4").write_bytes(b"not a video")
    result = run(scale_plugin, annotations, tmp_path / "run", batch_size=2, model_args={"log": str(log)})
    assert (result.n_ok, result.n_failed) == (6, 1)
    made = calls(log)
    assert [c["ids"] for c in made] == [["1", "4"], ["6"], ["3"], ["0", "2"]]
    assert all(len({tuple(s) for s in c["shapes"]}) == 1 for c in made)  # one shape per batch
    assert [c["shapes"][0] for c in made] == [[4, 48, 96, 3], [4, 48, 96, 3], [4, 48, 80, 3], [4, 48, 64, 3]]
    # predictions stay in annotation order whatever the run order
    assert [p["id"] for p in predictions(tmp_path / "run")] == [str(i) for i in range(7)]


def test_probe_reads_the_sampled_shape_without_decoding(tmp_path: Path) -> None:
    from fecbench.video.decode import decode_clip

    protocol = FrameProtocol(num_frames=8, max_side=448)
    big = write_clip(tmp_path / "big.mp4", frames=3, width=1000, height=600)
    assert probe_shape(big, protocol) == (8, 269, 448)  # 3 frames are repeated up to 8
    for turn in (90, 180, 270):  # the MP4 track header's rotation is seen, as decoding turns frames upright
        turned = write_clip(tmp_path / f"turned{turn}.mp4", frames=3, width=64, height=48, rotation=turn)
        assert probe_shape(turned, protocol) == (8, *decode_clip(turned, protocol).frames.shape[1:3])
    other = write_clip(tmp_path / "other.mkv", frames=3, width=80, height=48)  # not MP4: PyAV's metadata
    assert mp4_video_size(other) is None and probe_shape(other, protocol) == (8, 48, 80)
    (tmp_path / "junk.mp4").write_bytes(b"junk" * 10)
    assert probe_shape(tmp_path / "junk.mp4", protocol) is None
    assert probe_shape(tmp_path / "absent.mp4", protocol) is None


def test_group_order_puts_unknown_shapes_last() -> None:
    from fecbench.data.annotations import Clip

    def planned(i: int, shape: tuple[int, int, int] | None) -> PlannedClip:
        clip = Clip(index=i, id=str(i), video=f"S/{i}.mp4", caption="c")
        return PlannedClip(clip=clip, path=None, shape=shape)

    items = [planned(0, (8, 10, 10)), planned(1, None), planned(2, (16, 10, 10)), planned(3, (8, 10, 10))]
    assert [[p.clip.id for p in g] for g in group_by_shape(items)] == [["2"], ["0", "3"], ["1"]]


def test_is_out_of_memory() -> None:
    import torch

    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB"))
    assert is_out_of_memory(RuntimeError("HIP out of memory"))
    assert is_out_of_memory(MemoryError())
    wrapped = ValueError("generation failed")
    wrapped.__cause__ = RuntimeError("CUDA error: out of memory")
    assert is_out_of_memory(wrapped)
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))  # only the kinds that mean memory


def test_batch_size_option_parsing(tmp_path: Path) -> None:
    assert BatchSize.parse("8") == BatchSize(8) and BatchSize.parse(3) == BatchSize(3)
    assert BatchSize.parse(" AUTO ").auto
    assert BatchSize(8).start(None) == 8 and BatchSize(8).start(4) == 4
    assert BatchSize(AUTO_CEILING, auto=True).start(64) == 64  # auto starts at the adapter's own cap
    for bad in ("banana", "2.5", True):
        with pytest.raises(ConfigError, match="--batch-size must be a positive integer or 'auto'"):
            BatchSize.parse(bad)
    with pytest.raises(ConfigError, match="--batch-size must be at least 1"):
        BatchSize.parse(0)


def test_batching_imports_no_torch() -> None:
    assert imported_by("import fecbench.runner.batching, fecbench.runner.execute", ("torch",)) == []


def test_cli_batch_size_auto_and_bad_value(tmp_path: Path) -> None:
    annotations = clip_set(tmp_path / "set", [64] * 2)
    env = {"FECBENCH_PLUGINS": "fecbench_scale_adapters", "PYTHONPATH": str(TEST_PLUGINS)}
    base = [sys.executable, "-m", "fecbench.cli", "run", "--model", "scale-stats", "--annotations", str(annotations)]
    base += ["--video-root", str(annotations.parent / "videos"), "--no-score"]
    environment = {**os.environ, **env}
    bad = subprocess.run(
        [*base, "--output", str(tmp_path / "r1"), "--batch-size", "lots"],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "--batch-size must be a positive integer or 'auto', got 'lots'" in bad.stderr
    good = subprocess.run(
        [*base, "--output", str(tmp_path / "r2"), "--batch-size", "auto"],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stderr
    assert json.loads((tmp_path / "r2" / "run.json").read_text())["batch_size"] == "auto"


def test_batch_queue_cuts_within_groups_and_serves_given_back_batches_first() -> None:
    from fecbench.data.annotations import Clip
    from fecbench.runner.plan import Batch, BatchQueue

    def planned(i: int) -> PlannedClip:
        return PlannedClip(clip=Clip(index=i, id=str(i), video=f"S/{i}.mp4", caption="c"), path=None)

    queue = BatchQueue([[planned(0), planned(1), planned(2)], [planned(3)]])
    first = queue.take(2)
    assert [p.clip.id for p in first.items] == ["0", "1"] and len(queue) == 2
    queue.give_back(Batch([planned(9)]))
    assert queue.take(2, alone=False) is None  # a taker with work in flight drains first
    again = queue.take(2, alone=True)
    assert [p.clip.id for p in again.items] == ["9"] and again.isolated
    assert [p.clip.id for p in queue.take(5).items] == ["2"]  # never mixed with the next group
    assert [p.clip.id for p in queue.take(5).items] == ["3"]
    assert queue.take(5) is None and len(queue) == 0
