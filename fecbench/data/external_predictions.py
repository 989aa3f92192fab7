"""Predictions made by another harness, turned into a fecbench run folder so they are scored the same way.

Two shapes are read, each as a JSON list or as JSONL (one object per line):

* ``{"id": ..., "prediction": ...}``: matched to the annotations by clip id;
* ``{"video_path": ..., "instruction": ..., "output": ...}``: what the FEC-Bench authors' inference
  script writes; matched by video path: the exact annotation path, else the annotation whose path is a
  suffix of the record's on whole path components (``/data/fec/DFEW/videos/1.mp4`` ->
  ``DFEW/videos/1.mp4``), else the one annotation path that ends with the record's relative path.

A record that matches no clip, matches several, or matches a clip another record already took is an
error naming both records; so is a malformed file (file, line or record). A prediction of ``null``
is a failed clip, as is a clip of the annotations that the file does not cover: both are counted in
``n_failed`` by scoring, never scored as 0.

The run folder gets the usual files (``run.json``, ``predictions.jsonl``) through the runner's own
writers; ``run.json`` names the source file and its sha256 (``model.loaded``), and the identity holds
that sha256, so another predictions file never overwrites this folder.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fecbench import jsontext
from fecbench.data.annotations import Annotations, Clip
from fecbench.data.fecbench_default import FEC_BENCH_SHA256
from fecbench.errors import ConfigError
from fecbench.paths import sha256_file
from fecbench.prompts import DEFAULT_INSTRUCTION
from fecbench.runner.spec import AnnotationsSpec, GenerationSpec, ModelSpec, RunSpec, SubsetSpec, installed_versions
from fecbench.runner.store import ClipResult

__all__ = [
    "ExternalPredictions",
    "ExternalRecord",
    "PredictionsFileError",
    "import_predictions",
    "match_predictions",
    "read_external_predictions",
]

ID_FORMAT = "id-prediction"
AUTHORS_FORMAT = "video_path-output"
#: The frame protocol of predictions made elsewhere: unknown, so a record of it stands on a track of its own.
EXTERNAL_PROTOCOL_NAME = "external"
EXTERNAL_PROTOCOL = {
    "name": EXTERNAL_PROTOCOL_NAME,
    "note": "frames were sampled by the harness that made the predictions",
}


class PredictionsFileError(ConfigError):
    """A predictions file that cannot be read or matched; the message names the file and the record."""


@dataclass(frozen=True)
class ExternalRecord:
    """One prediction as read: where it was (``where``: "line 3" or "record 2"), its key and its text."""

    where: str
    key: str  # the clip id, or the video path
    prediction: str | None
    instruction: str | None = None


@dataclass(frozen=True)
class ExternalPredictions:
    path: Path
    sha256: str
    format: str
    records: list[ExternalRecord]


def read_external_predictions(path: str | Path) -> ExternalPredictions:
    """Read and check a predictions file (either shape, JSON list or JSONL)."""
    path = Path(path)
    if not path.is_file():
        raise PredictionsFileError(f"{path}: predictions file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PredictionsFileError(f"{path}: not UTF-8 text ({exc})") from exc
    if not text.strip():
        raise PredictionsFileError(f"{path}: the file is empty")
    raw = _parse(path, text)
    if not raw:
        raise PredictionsFileError(f"{path}: no predictions in the file")
    fmt = _format_of(path, *raw[0])
    records = []
    for where, record in raw:
        if _format_of(path, where, record) != fmt:
            raise PredictionsFileError(f"{path}: {where}: mixes shapes; {raw[0][0]} has the {fmt} shape")
        records.append(_record(path, where, record, fmt))
    return ExternalPredictions(path=path, sha256=sha256_file(path), format=fmt, records=records)


def _parse(path: Path, text: str) -> list[tuple[str, Any]]:
    if text.lstrip().startswith("["):
        try:
            data = jsontext.loads(text)
        except json.JSONDecodeError as exc:
            raise PredictionsFileError(
                f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from exc
        return [(f"record {i}", record) for i, record in enumerate(data)]
    records = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((f"line {lineno}", jsontext.loads(line)))
        except json.JSONDecodeError as exc:
            raise PredictionsFileError(
                f"{path}: line {lineno} is not valid JSON (column {exc.colno}: {exc.msg}); "
                "expected a JSON list or one JSON object per line"
            ) from exc
    return records


def _format_of(path: Path, where: str, record: Any) -> str:
    if isinstance(record, dict):
        if "id" in record and "prediction" in record:
            return ID_FORMAT
        if "video_path" in record and "output" in record:
            return AUTHORS_FORMAT
    got = f"keys {sorted(record)}" if isinstance(record, dict) else type(record).__name__
    raise PredictionsFileError(
        f'{path}: {where}: expected {{"id", "prediction"}} or {{"video_path", "instruction", "output"}}, got {got}'
    )


def _record(path: Path, where: str, record: dict[str, Any], fmt: str) -> ExternalRecord:
    key_field, text_field = ("id", "prediction") if fmt == ID_FORMAT else ("video_path", "output")
    key = record[key_field]
    if isinstance(key, int) and not isinstance(key, bool) and fmt == ID_FORMAT:
        key = str(key)
    if not isinstance(key, str) or not key.strip():
        raise PredictionsFileError(f"{path}: {where}: field {key_field!r} must be a non-empty string, got {key!r}")
    prediction = record[text_field]
    if prediction is not None and not isinstance(prediction, str):
        raise PredictionsFileError(
            f"{path}: {where}: field {text_field!r} must be a string or null, got {type(prediction).__name__}"
        )
    instruction = record.get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise PredictionsFileError(f"{path}: {where}: field 'instruction' must be a string")
    return ExternalRecord(where=where, key=key.strip(), prediction=prediction, instruction=instruction)


def _normalise(video: str) -> str:
    parts = [p for p in video.strip().replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


class _PathIndex:
    """Annotation clips by normalised video path and by file name, for suffix matching."""

    def __init__(self, clips: list[Clip]) -> None:
        self.exact = {_normalise(c.video): c for c in clips}
        self.by_name: dict[str, list[tuple[str, Clip]]] = {}
        for video, clip in self.exact.items():
            self.by_name.setdefault(video.rsplit("/", 1)[-1], []).append((video, clip))

    def match(self, path: Path, record: ExternalRecord) -> Clip:
        video = _normalise(record.key)
        if video in self.exact:
            return self.exact[video]
        candidates = self.by_name.get(video.rsplit("/", 1)[-1], [])
        inside = [(v, c) for v, c in candidates if video.endswith("/" + v)]  # annotation path under a root
        if inside:
            longest = max(len(v) for v, _ in inside)
            return next(c for v, c in inside if len(v) == longest)
        around = [c for v, c in candidates if v.endswith("/" + video)]  # the record's path is a shorter tail
        if len(around) == 1:
            return around[0]
        if around:
            names = ", ".join(repr(c.video) for c in around[:5])
            raise PredictionsFileError(f"{path}: {record.where}: video_path {record.key!r} is ambiguous: {names}")
        raise PredictionsFileError(f"{path}: {record.where}: video_path {record.key!r} matches no annotated video")


def match_predictions(predictions: ExternalPredictions, annotations: Annotations) -> dict[str, ExternalRecord]:
    """Clip id -> record, for every record of the file; unmatched and duplicate records are errors."""
    clips = {c.id: c for c in annotations}
    index = _PathIndex(annotations.clips) if predictions.format == AUTHORS_FORMAT else None
    matched: dict[str, ExternalRecord] = {}
    for record in predictions.records:
        if index is not None:
            clip_id = index.match(predictions.path, record).id
        elif record.key in clips:
            clip_id = record.key
        else:
            raise PredictionsFileError(
                f"{predictions.path}: {record.where}: id {record.key!r} is not in {annotations.path}"
            )
        if clip_id in matched:
            raise PredictionsFileError(
                f"{predictions.path}: {record.where}: a second prediction for clip {clip_id!r} "
                f"({clips[clip_id].video}); the first is {matched[clip_id].where}"
            )
        matched[clip_id] = record
    return matched


def _clip_results(annotations: Annotations, matched: dict[str, ExternalRecord], path: Path) -> list[ClipResult]:
    results = []
    for clip in annotations:
        record = matched.get(clip.id)
        if record is None:
            status, prediction, error = "error", None, f"no prediction: clip not in {path.name}"
        elif record.prediction is None:
            status, prediction, error = "error", None, f"no prediction: null in {path.name} ({record.where})"
        else:
            status, prediction, error = "ok", record.prediction, None
        results.append(
            ClipResult(
                id=clip.id,
                index=clip.index,
                video=clip.video,
                source=clip.source,
                reference=clip.caption,
                status=status,
                prediction=prediction,
                error=error,
            )
        )
    return results


def external_spec(predictions: ExternalPredictions, annotations: Annotations, name: str) -> RunSpec:
    """The run spec of an imported file: the source file and its sha256 stand in for the model."""
    instructions = Counter(r.instruction for r in predictions.records if r.instruction)
    prompt = instructions.most_common(1)[0][0] if instructions else DEFAULT_INSTRUCTION
    return RunSpec(
        model=ModelSpec(
            name=name,
            args={"predictions_sha256": predictions.sha256},
            provider="external",
            loaded={
                "source_file": str(predictions.path.resolve()),
                "source_sha256": predictions.sha256,
                "source_format": predictions.format,
                "records": len(predictions.records),
                "distinct_instructions": len(instructions),
            },
        ),
        annotations=AnnotationsSpec(
            path=str(annotations.path.resolve()),
            sha256=annotations.sha256,
            records=len(annotations),
            fec_bench=annotations.sha256 == FEC_BENCH_SHA256,
        ),
        subset=SubsetSpec(clips=len(annotations), full=True),
        frame_protocol=dict(EXTERNAL_PROTOCOL),
        prompt=prompt,
        generation=GenerationSpec(),
        batch_size=1,
        versions=installed_versions(),
    )


def import_predictions(
    path: str | Path, annotations: Annotations, out_dir: str | Path | None = None, *, name: str | None = None
) -> Path:
    """Write a run folder holding the file's predictions; returns the folder.

    Default folder: ``runs/external-<file stem>-<identity hash>``; the model is named after the
    file stem unless ``name`` is given.
    """
    from fecbench.runner.execute import prepare_run_dir
    from fecbench.runner.folder_lock import hold_run_folder
    from fecbench.runner.outputs import write_predictions, write_spec

    predictions = read_external_predictions(path)
    matched = match_predictions(predictions, annotations)
    spec = external_spec(predictions, annotations, name or predictions.path.stem)
    run_dir = Path(out_dir) if out_dir else Path("runs") / f"external-{predictions.path.stem}-{spec.identity_hash()}"
    loaded = dict(spec.model.loaded)
    with hold_run_folder(run_dir, discard_on_error=True):
        prepare_run_dir(run_dir, spec)  # refuses a folder holding another run; copies its ``loaded`` over ours
        spec.model.loaded = loaded
        write_spec(run_dir, spec)
        write_predictions(run_dir, _clip_results(annotations, matched, predictions.path))
    return run_dir
