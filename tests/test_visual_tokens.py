"""Visual tokens on the record: the count an adapter reports per clip, the store, run.json, merge, the leaderboard.

The runs use the tiny random-weight Qwen2-VL (tests/tiny_models.py) on generated 128x128 clips, the
case that motivated this: Qwen's reference video preprocessing (qwen-vl-utils' minimum of 128
merged patches a frame) upscales a 128x128 frame to 336x336, 144 tokens a temporal patch, where a
floor of 4 patches (lmms-eval's) keeps it at 140x140, 25 tokens.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
from pathlib import Path

import pytest
from clipgen import write_clip

from fecbench import api
from fecbench.adapter import Caption, visual_tokens_of
from fecbench.runner.store import ClipResult, RunStore

FRAMES = 4  # two temporal patches of two frames
UPSCALED = 2 * 12 * 12  # 336x336 in 14 px patches, merged 2x2: 144 tokens a temporal patch
NATIVE = 2 * 5 * 5  # 140x140: 25 tokens a temporal patch
LMMS_EVAL_FLOOR = {"min_pixels": 4 * 28 * 28}


# ---------------------------------------------------------------- the caption type


def test_a_caption_is_its_text_and_carries_its_count() -> None:
    caption = Caption("She smiles.", 576)
    assert caption == "She smiles." and isinstance(caption, str) and caption.visual_tokens == 576
    assert visual_tokens_of(caption) == 576 and visual_tokens_of("plain text") is None
    assert Caption("No count.").visual_tokens is None
    copy = pickle.loads(pickle.dumps(caption))  # Ray replicas send results between processes
    assert copy == caption and copy.visual_tokens == 576
    assert type(str(caption)) is str


@pytest.mark.parametrize("bad", [-1, 1.5, True, "576"])
def test_a_caption_refuses_a_count_that_is_not_one(bad: object) -> None:
    with pytest.raises(ValueError, match="visual_tokens must be a non-negative int"):
        Caption("text", bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the store


OLD_SCHEMA = """
CREATE TABLE clips (
    id TEXT PRIMARY KEY, idx INTEGER NOT NULL, video TEXT NOT NULL, source TEXT NOT NULL,
    reference TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('ok', 'error')), prediction TEXT,
    error TEXT, attempts INTEGER NOT NULL DEFAULT 1, seconds REAL, finished_at REAL NOT NULL
);
INSERT INTO clips VALUES ('a', 0, 'S/a.mp4', 'S', 'ref a', 'ok', 'old caption', NULL, 1, 0.5, 1.0);
INSERT INTO clips VALUES ('b', 1, 'S/b.mp4', 'S', 'ref b', 'error', NULL, 'model error: x', 1, NULL, 1.0);
"""


def test_a_store_written_before_the_count_existed_resumes(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / RunStore.FILENAME) as db:
        db.executescript(OLD_SCHEMA)
    with RunStore(tmp_path) as store:
        old = store.results()
        assert [(r.id, r.prediction, r.visual_tokens) for r in old] == [("a", "old caption", None), ("b", None, None)]
        retried = ClipResult("b", 1, "S/b.mp4", "S", "ref b", "ok", prediction="new", visual_tokens=163)
        again = ClipResult("a", 0, "S/a.mp4", "S", "ref a", "ok", prediction="other", visual_tokens=9)
        store.record([retried, again])
        rows = {r.id: r for r in store.results()}
    assert (rows["b"].prediction, rows["b"].visual_tokens, rows["b"].attempts) == ("new", 163, 2)
    assert (rows["a"].prediction, rows["a"].visual_tokens) == ("old caption", None)  # an ok row is never overwritten


# ---------------------------------------------------------------- runs with the tiny Qwen2-VL


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory: pytest.TempPathFactory) -> str:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tiny_models import build_tiny_qwen2_vl

    return str(build_tiny_qwen2_vl(tmp_path_factory.mktemp("tiny-qwen")))


@pytest.fixture(scope="module")
def square_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five 128x128 clips (the size of bench/vs_lmms_eval.py's)."""
    root = tmp_path_factory.mktemp("square")
    records = []
    for i in range(5):
        video = f"TINY/clip_{i}.mp4"
        write_clip(root / "videos" / video, frames=12 + i, width=128, height=128)
        records.append({"id": str(i), "video": video, "caption": f"The face in clip {i} smiles."})
    (root / "annotations.json").write_text(json.dumps(records))
    return root / "annotations.json"


def qwen_run(checkpoint: str, annotations: Path, out: Path, **options: object) -> api.RunResult:
    model_args = {"pretrained": checkpoint, "dtype": "float32", **options.pop("model_args", {})}  # type: ignore[dict-item]
    options.setdefault("score", False)
    return api.run(
        "qwen2-vl",
        model_args=model_args,
        annotations=annotations,
        video_roots=[str(annotations.parent / "videos")],
        frames=FRAMES,
        max_new_tokens=4,
        output=out,
        decode_workers=1,
        **options,  # type: ignore[arg-type]
    )


def execution(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())["execution"]


def stored_counts(run_dir: Path) -> dict[str, int | None]:
    with sqlite3.connect(run_dir / RunStore.FILENAME) as db:
        return dict(db.execute("SELECT id, visual_tokens FROM clips"))


def test_run_json_records_the_model_work_behind_the_frames(tiny_qwen: str, square_clips: Path, tmp_path: Path) -> None:
    """Same frames, same protocol: Qwen's reference floor feeds 5.8x the tokens of lmms-eval's, and run.json says so."""
    reference = qwen_run(tiny_qwen, square_clips, tmp_path / "reference", batch_size=2)
    floor = qwen_run(tiny_qwen, square_clips, tmp_path / "floor", batch_size=2, model_args=LMMS_EVAL_FLOOR)
    assert reference.n_ok == floor.n_ok == 5
    assert stored_counts(tmp_path / "reference") == {str(i): UPSCALED for i in range(5)}
    assert stored_counts(tmp_path / "floor") == {str(i): NATIVE for i in range(5)}
    assert execution(tmp_path / "reference")["visual_tokens"] == {"mean": UPSCALED, "max": UPSCALED, "clips": 5}
    assert execution(tmp_path / "floor")["visual_tokens"] == {"mean": NATIVE, "max": NATIVE, "clips": 5}


def test_the_summary_covers_every_selected_clip_across_resumes(
    tiny_qwen: str, square_clips: Path, tmp_path: Path
) -> None:
    """Frames of two sizes (mean between them); a resumed run summarises the clips of both invocations."""
    mixed = square_clips.parent / "mixed.json"
    records = json.loads(square_clips.read_text())
    write_clip(square_clips.parent / "videos" / "TINY/wide.mp4", frames=12, width=256, height=128)
    records.insert(1, {"id": "wide", "video": "TINY/wide.mp4", "caption": "A wide face."})
    mixed.write_text(json.dumps(records))
    out = tmp_path / "run"
    qwen_run(tiny_qwen, mixed, out, limit=2, model_args=LMMS_EVAL_FLOOR)
    # 256x128 in 28 px steps: 252x140, 9x5 merged patches a temporal patch
    assert execution(out)["visual_tokens"] == {"mean": (NATIVE + 90) / 2, "max": 90, "clips": 2}
    qwen_run(tiny_qwen, mixed, out, limit=4, model_args=LMMS_EVAL_FLOOR)
    assert execution(out)["visual_tokens"] == {"mean": (3 * NATIVE + 90) / 4, "max": 90, "clips": 4}
    qwen_run(tiny_qwen, mixed, out, limit=1, model_args=LMMS_EVAL_FLOOR)  # nothing to run: the selection's summary
    assert execution(out)["visual_tokens"] == {"mean": NATIVE, "max": NATIVE, "clips": 1}


def test_a_merged_run_summarises_its_shards(tiny_qwen: str, square_clips: Path, tmp_path: Path) -> None:
    shards = [
        qwen_run(tiny_qwen, square_clips, tmp_path / f"shard{i}", shard=f"{i}/2", model_args=LMMS_EVAL_FLOOR).run_dir
        for i in range(2)
    ]
    assert [execution(s)["visual_tokens"]["clips"] for s in shards] == [3, 2]
    api.merge(shards, tmp_path / "merged", score=False)
    assert execution(tmp_path / "merged")["visual_tokens"] == {"mean": NATIVE, "max": NATIVE, "clips": 5}
    assert stored_counts(tmp_path / "merged") == {str(i): NATIVE for i in range(5)}


def test_an_adapter_that_cannot_count_reports_nothing(test_plugins: str, square_clips: Path, tmp_path: Path) -> None:
    api.run(
        test_plugins,
        annotations=square_clips,
        video_roots=[str(square_clips.parent / "videos")],
        output=tmp_path / "run",
        score=False,
    )
    assert execution(tmp_path / "run")["visual_tokens"] is None
    assert set(stored_counts(tmp_path / "run").values()) == {None}


# ---------------------------------------------------------------- the leaderboard record and site


def test_the_record_and_the_site_show_the_visual_tokens_beside_the_frames(
    tiny_qwen: str, square_clips: Path, test_plugins: str, tmp_path: Path
) -> None:
    from fecbench_leaderboard.records import dump_record, parse_record
    from test_leaderboard import parse_page

    scored = {"score": True, "judge": None, "bootstrap": 10}
    counted = qwen_run(tiny_qwen, square_clips, tmp_path / "qwen", model_args=LMMS_EVAL_FLOOR, **scored).run_dir
    videos = [str(square_clips.parent / "videos")]
    uncounted = api.run(
        test_plugins, annotations=square_clips, video_roots=videos, output=tmp_path / "stats", **scored
    ).run_dir
    record = json.loads(api.record_run(counted, tmp_path / "qwen.json").read_text())
    assert record["record_version"] == 1
    assert record["visual_tokens"] == {"mean": NATIVE, "max": NATIVE, "clips": 5}
    older = json.loads(api.record_run(uncounted, tmp_path / "stats.json").read_text())
    assert older["visual_tokens"] is None
    del older["visual_tokens"]  # a record written before fecbench counted them still loads
    assert parse_record(older, "older.json").visual_tokens is None
    assert "visual_tokens" in dump_record(parse_record(older, "older.json"))

    api.build_leaderboard([tmp_path / "qwen.json", tmp_path / "stats.json"], tmp_path / "site")
    index = (tmp_path / "site" / "index.html").read_text()
    start = index.index('class="sortable ranking"')
    ranking = index[start : index.index("</table>", start)]
    header = ranking.index(">visual tokens</th>")
    assert ranking.index(">failed</th>") < header < ranking.index('data-metric="cider"')  # beside the clip counts
    cells = [attrs for tag, attrs in parse_page(tmp_path / "site" / "index.html").tags if tag == "td"]
    assert {"data-sort": repr(float(NATIVE)), "class": "num", "title": "mean per clip"} in cells
    assert f'{NATIVE}<span class="ci">max {NATIVE}</span>' in index
    assert "not reported by the adapter" in index  # the frame-stats run's cell
    pages = {p.read_text().count("frame-stats") > 0: p for p in (tmp_path / "site" / "runs").glob("*.html")}
    frames = "<dt>frames</dt><dd>4 frames, uniform-time-v1, max side 448</dd>\n<dt>visual tokens</dt>"
    counted_text = f"{frames}<dd>{NATIVE:.1f} per clip on average, at most {NATIVE} (5 clips counted)</dd>"
    assert counted_text in pages[False].read_text()
    assert f"{frames}<dd>not reported by the adapter</dd>" in pages[True].read_text()
