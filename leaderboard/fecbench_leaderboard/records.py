"""Result records: the small, versioned JSON files under ``results/`` that a leaderboard is built from.

Two kinds share one envelope (``record_version`` and ``kind``):

- ``"run"``: one scored run of fecbench (:class:`RunRecord`), made from a run folder by
  ``fecbench leaderboard record``; it carries everything a page shows, so the site never needs the
  run folder. Its ``clips`` (every clip's captions and per-clip scores, for paired comparisons) can be
  left out with ``--no-clips`` when the predictions may not be published.
- ``"reported"``: figures published by someone else (:class:`ReportedSet`), such as the paper's
  table, with their source; they are shown as such and never ranked with measured runs.

A contributor adds a record by pull request, so loading is strict: unknown fields, a missing
version, a version from a newer fecbench, a broken field, a number given as a string, or a value
the rules of :mod:`fecbench_leaderboard.validate` refuse (off its metric's scale, outside its own
interval, counts that do not add up) is an error naming the file and the field, never a silently
skipped file. An older ``record_version`` is upgraded by the functions in
:data:`UPGRADES` (one step per version) when a later version changes the schema.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fecbench import jsontext
from fecbench.data.external_predictions import EXTERNAL_PROTOCOL_NAME
from fecbench.errors import ConfigError
from fecbench_leaderboard.clip_records import ClipScore, Examples
from fecbench_leaderboard.record_fields import NonNegative, Number, Scalar
from fecbench_leaderboard.record_fields import StrictModel as _Strict
from fecbench_leaderboard.validate import record_problems

RECORD_VERSION: Final = 1


class RecordError(ConfigError):
    """A result record that cannot be read: the message names the file and the field."""


class Metric(_Strict):
    """One metric of a run (or of one source dataset of a run): value, 95% interval, n, failures, version."""

    value: Number | None
    ci95: tuple[Number, Number] | None = None
    n: NonNegative
    n_failed: NonNegative = 0
    version: str
    recall: Number | None = None
    precision: Number | None = None
    #: why the judge could not compute this metric (then ``value`` is None)
    unsupported: str | None = None

    @model_validator(mode="after")
    def _interval_in_order(self) -> Metric:
        if self.ci95 is not None and self.ci95[0] > self.ci95[1]:
            raise ValueError(f"ci95 lower bound {self.ci95[0]} is above the upper bound {self.ci95[1]}")
        return self


class ModelInfo(_Strict):
    name: str = Field(min_length=1)
    adapter: str = ""
    adapter_version: str = ""
    checkpoint: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    #: where the checkpoint is published; shown as a link only when it is an http(s) URL
    url: str | None = None


class BenchmarkInfo(_Strict):
    #: "FEC-Bench", or the file name of a custom annotation set
    name: str
    annotations_sha256: str
    fec_bench: bool
    records: NonNegative
    clips: NonNegative
    #: empty for the whole set; else the subset label every page shows (``--sources``, ``--limit``)
    subset: str = ""


class FrameProtocolInfo(BaseModel):
    """How the run sampled frames; predictions made elsewhere (``name`` "external") have no known count or size."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    name: str
    num_frames: Annotated[int | None, Field(gt=0, strict=True)] = None
    max_side: Annotated[int | None, Field(gt=0, strict=True)] = None

    @model_validator(mode="after")
    def _known_unless_made_elsewhere(self) -> FrameProtocolInfo:
        if not self.made_elsewhere and (self.num_frames is None or self.max_side is None):
            raise ValueError(
                f"num_frames and max_side are required (only predictions made elsewhere, name "
                f"{EXTERNAL_PROTOCOL_NAME!r}, have none)"
            )
        return self

    @property
    def made_elsewhere(self) -> bool:
        """Predictions imported from another harness (``fecbench score PREDICTIONS``): the protocol is unknown."""
        return self.name == EXTERNAL_PROTOCOL_NAME


class VisualTokensInfo(_Strict):
    """Visual tokens the model read per clip (``run.json``'s ``execution.visual_tokens``): the model work behind
    the frames, since one frame protocol can reach a model at different sizes."""

    mean: Annotated[float, Field(ge=0)]
    max: NonNegative
    #: clips with a reported count
    clips: NonNegative


class PromptInfo(_Strict):
    text: str
    sha256: str

    @model_validator(mode="after")
    def _hash_matches(self) -> PromptInfo:
        if self.sha256 != prompt_sha256(self.text):
            raise ValueError("sha256 is not the sha256 of text (edit both, or neither)")
        return self


class JudgeCheck(_Strict):
    """The judge's ``fecbench judge check`` at scoring time: accuracy per task, AutoDQ/TEM error.

    Added within ``record_version`` 1 (optional, absent from older records).
    """

    checked_at: str
    cases: NonNegative
    captions: NonNegative
    seed: int
    fec_bench: bool | None = None
    annotations_sha256: str | None = None
    accuracy: dict[str, float | None]
    accuracy_ci95: dict[str, tuple[float, float] | None] = Field(default_factory=dict)
    error: dict[str, float | None]
    error_ci95: dict[str, tuple[float, float] | None] = Field(default_factory=dict)


class JudgeInfo(_Strict):
    backend: str
    model: str
    prompt_version: str
    prompts_sha256: str
    stats: dict[str, Scalar] = Field(default_factory=dict)
    #: the judge's known-answer check, when one was saved for this judge identity before scoring
    check: JudgeCheck | None = None

    @property
    def key(self) -> str:
        return f"{self.backend}|{self.model}|{self.prompt_version}|{self.prompts_sha256}"


class SourceResult(_Strict):
    """A run's numbers on the clips of one source dataset."""

    source: str
    clips: NonNegative
    n: NonNegative
    n_failed: NonNegative
    metrics: dict[str, Metric] = Field(default_factory=dict)


class Bootstrap(_Strict):
    resamples: NonNegative
    seed: Annotated[int, Field(strict=True)]
    level: Number = 0.95


class Timestamps(_Strict):
    scored_at: str = ""
    recorded_at: str = ""


class RunRecord(_Strict):
    """Everything the leaderboard shows about one scored run."""

    record_version: Literal[1] = RECORD_VERSION
    kind: Literal["run"] = "run"
    #: how the run is named on the pages (default: the adapter name and the checkpoint)
    name: str = Field(min_length=1)
    run_id: str
    model: ModelInfo
    benchmark: BenchmarkInfo
    frame_protocol: FrameProtocolInfo
    #: absent (None) when the adapter could not count them, and in records made before fecbench recorded them
    visual_tokens: VisualTokensInfo | None = None
    prompt: PromptInfo
    generation: dict[str, Scalar] = Field(default_factory=dict)
    judge: JudgeInfo | None
    n_total: NonNegative
    n: NonNegative
    n_failed: NonNegative
    failures: dict[str, NonNegative] = Field(default_factory=dict)
    metrics: dict[str, Metric]
    per_source: list[SourceResult] = Field(default_factory=list)
    examples: Examples | None = None
    #: every scored clip's numbers (empty in records made before fecbench kept them): paired comparisons
    clips: list[ClipScore] = Field(default_factory=list)
    bootstrap: Bootstrap | None = None
    timestamps: Timestamps = Field(default_factory=Timestamps)
    versions: dict[str, str] = Field(default_factory=dict)
    #: free text from whoever adds the record (hardware, caveats)
    notes: str = ""


class ReportedSource(_Strict):
    citation: str = Field(min_length=1)
    #: shown as a link only when it is an http(s) URL
    url: str | None = None
    #: where in the source the figures are (a table, a figure)
    location: str = ""
    note: str = ""


#: a published figure exactly as printed ("4.50" keeps its two decimals)
Figure = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$")]


class ReportedRow(_Strict):
    model: str = Field(min_length=1)
    llm_size: str = ""
    metrics: dict[str, Figure]
    note: str = ""


class ReportedSet(_Strict):
    """Figures someone else published for FEC-Bench, with where they come from."""

    record_version: Literal[1] = RECORD_VERSION
    kind: Literal["reported"] = "reported"
    title: str = Field(min_length=1)
    benchmark: str = "FEC-Bench"
    source: ReportedSource
    #: what the reader must know about these figures (unknown judge, frames, prompt)
    caveats: list[str] = Field(default_factory=list)
    rows: list[ReportedRow] = Field(min_length=1)


Record = RunRecord | ReportedSet
KINDS: dict[str, type[RunRecord] | type[ReportedSet]] = {"run": RunRecord, "reported": ReportedSet}

#: ``UPGRADES[v]`` turns a version-``v`` record (a dict) into a version ``v + 1`` one. Add a step here
#: whenever RECORD_VERSION goes up, so the records already merged keep loading.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def prompt_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_record(data: Any, where: str) -> Record:
    """Validate one record (already parsed JSON), upgrading an older version; ``where`` names it in errors."""
    if not isinstance(data, dict):
        raise RecordError(f"{where}: a record is a JSON object, got {type(data).__name__}")
    version = data.get("record_version")
    if version is None:
        raise RecordError(f"{where}: no 'record_version' field (this fecbench writes version {RECORD_VERSION})")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RecordError(f"{where}: 'record_version' must be a positive integer, got {json.dumps(version)}")
    if version > RECORD_VERSION:
        raise RecordError(
            f"{where}: record_version {version} was written by a newer fecbench; this one reads versions up to "
            f"{RECORD_VERSION}: upgrade fecbench (pip install -U fecbench)"
        )
    while version < RECORD_VERSION:
        step = UPGRADES.get(version)
        if step is None:
            raise RecordError(f"{where}: record_version {version} is not supported and has no upgrade step")
        data = step(dict(data))
        version = data["record_version"]
    kind = data.get("kind")
    model = KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise RecordError(f"{where}: 'kind' must be one of {', '.join(map(repr, KINDS))}, got {json.dumps(kind)}")
    try:
        record = model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise RecordError(_invalid(where, kind, problems)) from exc
    problems = record_problems(record)
    if problems:
        raise RecordError(_invalid(where, kind, problems))
    return record


def _invalid(where: str, kind: str, problems: list[str], shown: int = 10) -> str:
    """One line for one problem (``FILE: invalid run record: metrics.tem.value: ...``), else one per line."""
    if len(problems) == 1:
        return f"{where}: invalid {kind} record: {problems[0]}"
    more = f"\n  ... and {len(problems) - shown} more" if len(problems) > shown else ""
    return f"{where}: invalid {kind} record:\n" + "\n".join(f"  {p}" for p in problems[:shown]) + more


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(record)"


def load_record(path: Path) -> Record:
    """Read and validate one record file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: cannot read ({exc})") from exc
    try:
        data = jsontext.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    return parse_record(data, str(path))


def record_files(directory: Path) -> list[Path]:
    """Every ``*.json`` file under ``directory`` (recursively, sorted): each one must be a record."""
    return sorted(p for p in directory.rglob("*.json") if p.is_file())


def load_records(paths: Iterable[Path]) -> list[tuple[Path, Record]]:
    return [(path, load_record(path)) for path in paths]


def dump_record(record: Record) -> str:
    """The JSON text of a record as it is committed: indented, fields in schema order, one final newline."""
    return json.dumps(record.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
