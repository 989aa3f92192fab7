"""Finding videos under the user's roots: the real test.json paths on a generated tree, and data check."""

from __future__ import annotations

from pathlib import Path

import pytest
from clipgen import write_clip

from fecbench import api
from fecbench.data.annotations import load_annotations
from fecbench.data.roots import VideoRoots
from fecbench.errors import ConfigError


def touch_tree(root: Path, videos: list[str]) -> None:
    for video in videos:
        path = root / video
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_real_paths_resolve_under_one_root(tmp_path: Path, fec_bench_test_json: Path) -> None:
    data = load_annotations(fec_bench_test_json)
    touch_tree(tmp_path / "datasets", [c.video for c in data])
    roots = VideoRoots.parse([str(tmp_path / "datasets")])
    resolved = [roots.resolve(c) for c in data]
    assert all(p is not None for p in resolved)
    assert resolved[0] == tmp_path / "datasets" / "DFEW" / "videos" / "2961.mp4"


def test_real_paths_resolve_under_per_source_roots(tmp_path: Path, fec_bench_test_json: Path) -> None:
    """DFEW kept at /elsewhere/dfew (holding videos/...), RAVDESS under a root that keeps its folder name."""
    data = load_annotations(fec_bench_test_json)
    dfew = [c for c in data if c.source == "DFEW"]
    ravdess = [c for c in data if c.source == "RAVDESS"]
    touch_tree(tmp_path / "elsewhere" / "dfew", [c.video.split("/", 1)[1] for c in dfew])
    touch_tree(tmp_path / "rav", [c.video for c in ravdess])
    roots = VideoRoots.parse([f"DFEW={tmp_path / 'elsewhere' / 'dfew'}", f"RAVDESS={tmp_path / 'rav'}"])
    assert all(roots.resolve(c) is not None for c in dfew + ravdess)
    others = [c for c in data if c.source not in ("DFEW", "RAVDESS")]
    assert all(roots.resolve(c) is None for c in others)
    assert roots.resolve(dfew[0]) == tmp_path / "elsewhere" / "dfew" / dfew[0].video.split("/", 1)[1]


def test_root_option_errors() -> None:
    with pytest.raises(ConfigError, match="source 'DFEW' is given twice"):
        VideoRoots.parse(["DFEW=/a", "DFEW=/b"])
    with pytest.raises(ConfigError, match="empty value"):
        VideoRoots.parse([""])


def test_data_check_reports_found_missing_unreadable_per_source(tmp_path: Path, fec_bench_test_json: Path) -> None:
    data = load_annotations(fec_bench_test_json)
    mafw = [c for c in data if c.source == "MAFW"]
    root = tmp_path / "datasets"
    for clip in mafw[:3]:
        write_clip(root / clip.video, frames=5)
    (root / mafw[3].video).write_bytes(b"")  # empty
    (root / mafw[4].video).write_bytes(b"\x00garbage" * 50)  # corrupt
    reports = {r.source: r for r in api.check_data(fec_bench_test_json, [str(root)], ["MAFW", "DFEW"])}
    assert set(reports) == {"MAFW", "DFEW"}
    assert (reports["MAFW"].clips, reports["MAFW"].found, reports["MAFW"].unreadable) == (98, 5, 2)
    assert reports["MAFW"].missing == 93 and reports["MAFW"].ok == 3
    assert any("empty file" in e for e in reports["MAFW"].unreadable_examples)
    assert (reports["DFEW"].clips, reports["DFEW"].found, reports["DFEW"].missing) == (136, 0, 136)
    assert reports["DFEW"].missing_examples[0] == "DFEW/videos/2961.mp4"


def test_unknown_source_is_named(fec_bench_test_json: Path) -> None:
    with pytest.raises(ConfigError, match=r"--sources: DFW not in .*its sources are: DFEW"):
        api.check_data(fec_bench_test_json, [], ["DFW"])
