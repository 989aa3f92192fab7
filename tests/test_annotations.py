"""Loading and validating annotation sets: the real FEC-Bench file, JSONL, and every stated error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fecbench.data.annotations import load_annotations
from fecbench.data.fecbench_default import FEC_BENCH_SHA256
from fecbench.errors import AnnotationError


def test_real_fec_bench_test_json_loads(fec_bench_test_json: Path) -> None:
    data = load_annotations(fec_bench_test_json)
    assert len(data) == 800
    assert data.sha256 == FEC_BENCH_SHA256
    assert data.sources == {
        "DFEW": 136,
        "CAER_mp4": 146,
        "RAVDESS": 142,
        "MER24": 111,
        "MAFW": 98,
        "AFEW-VA": 91,
        "FERV39k": 76,
    }
    assert data.clips[0].id == "0" and data.clips[0].video == "DFEW/videos/2961.mp4"


def write(tmp_path: Path, records: object, name: str = "set.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path


def test_jsonl_and_integer_ids(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(
        '{"id": 1, "video": "A/x.mp4", "caption": "c1"}\n\n{"id": "2", "video": "B/y.mp4", "caption": "c2"}\n'
    )
    data = load_annotations(path)
    assert [c.id for c in data] == ["1", "2"]
    assert data.sources == {"A": 1, "B": 1}


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([{"id": "a", "video": "A/x.mp4"}], "record 0 (id 'a'): field 'caption' must be a non-empty string (missing)"),
        ([{"id": "", "video": "A/x.mp4", "caption": "c"}], "record 0: field 'id' must be a non-empty string"),
        (
            [{"id": "a", "video": "A/x.mp4", "caption": "c"}, {"id": "b", "video": 3, "caption": "c"}],
            "record 1 (id 'b'): field 'video' must be a non-empty string (got 3)",
        ),
        ([{"id": "a", "video": "A/x.mp4", "caption": "  "}], "record 0 (id 'a'): field 'caption'"),
        (
            [{"id": "a", "video": "A/x.mp4", "caption": "c"}, {"id": "a", "video": "A/y.mp4", "caption": "d"}],
            "record 1 (id 'a'): field 'id' duplicates record 0",
        ),
        (["not an object"], "record 0: expected an object, got str"),
        ({"id": "a"}, "expected a JSON list of records, got dict"),
        ([], "the annotation set has no records"),
    ],
)
def test_invalid_records_name_file_record_and_field(tmp_path: Path, records: object, expected: str) -> None:
    path = write(tmp_path, records)
    with pytest.raises(AnnotationError) as info:
        load_annotations(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"id": "a", "video": "A/x.mp4", "caption": "c"},\n  {"id": "b" "video": 1}\n]')
    with pytest.raises(AnnotationError, match=r"broken\.json: invalid JSON at line 3, column 14"):
        load_annotations(path)


def test_malformed_jsonl_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"id": "a", "video": "A/x.mp4", "caption": "c"}\n{"id": "b",\n')
    with pytest.raises(AnnotationError, match=r"broken\.jsonl: invalid JSON on line 2"):
        load_annotations(path)
    path = tmp_path / "lines.json"
    path.write_text('{"id": "a", "video": "A/x.mp4", "caption": "c"}\n{"id": "b", "video": "A/y.mp4", "caption": 7}\n')
    with pytest.raises(AnnotationError, match=r"lines\.json: record 1 \(id 'b'\): field 'caption'"):
        load_annotations(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match="annotations file not found"):
        load_annotations(tmp_path / "nope.json")
    (tmp_path / "empty.json").write_text("  \n")
    with pytest.raises(AnnotationError, match="empty.json: the file is empty"):
        load_annotations(tmp_path / "empty.json")


def test_many_problems_are_listed_and_counted(tmp_path: Path) -> None:
    path = write(tmp_path, [{"id": str(i), "video": "", "caption": "c"} for i in range(15)])
    with pytest.raises(AnnotationError) as info:
        load_annotations(path)
    assert "and 5 more problems" in str(info.value)
