"""The per-clip parts of a run record: the clips a run page shows and every clip's scores for comparisons."""

from __future__ import annotations

import base64
import binascii

from pydantic import Field, model_validator

from fecbench_leaderboard.record_fields import Number, Relation
from fecbench_leaderboard.record_fields import StrictModel as _Strict

__all__ = [
    "MAX_THUMBNAIL_CHARS",
    "AlignmentEntry",
    "AutodqExplanation",
    "ClipEvents",
    "ClipExample",
    "ClipScore",
    "Examples",
    "TemExplanation",
]


class ClipEvents(_Strict):
    reference: list[str]
    prediction: list[str]


class AlignmentEntry(_Strict):
    reference: int | None
    relation: Relation


class TemExplanation(_Strict):
    """Why a clip scored its TEM: 1-based event indices, as ``fecbench.metrics.events.tem_clip`` names them."""

    alignment: list[AlignmentEntry]
    matched: list[tuple[int, int]]
    out_of_order: list[int] = Field(default_factory=list)
    repeated: list[int] = Field(default_factory=list)
    missed: list[int] = Field(default_factory=list)
    contradicted: list[int] = Field(default_factory=list)


class AutodqExplanation(_Strict):
    reference_labels: list[Relation]
    prediction_labels: list[Relation]


#: largest thumbnail strip a record may carry (base64 characters): a few small frames, never a video
MAX_THUMBNAIL_CHARS = 200_000


class ClipExample(_Strict):
    """One clip shown on a run page: reference against prediction, its scores and the event verdicts."""

    id: str
    source: str
    video: str = ""
    reference: str
    prediction: str
    scores: dict[str, Number | None] = Field(default_factory=dict)
    events: ClipEvents | None = None
    autodq: AutodqExplanation | None = None
    tem: TemExplanation | None = None
    judge_failures: list[str] = Field(default_factory=list)
    #: the frames the model saw, one small JPEG strip (base64), written at run time into ``thumbs/``
    thumbnail: str | None = Field(default=None, max_length=MAX_THUMBNAIL_CHARS)

    @model_validator(mode="after")
    def _thumbnail_is_a_jpeg(self) -> ClipExample:
        if self.thumbnail is not None:
            try:
                data = base64.b64decode(self.thumbnail, validate=True)
            except binascii.Error as exc:
                raise ValueError(f"thumbnail: not base64 ({exc})") from exc
            if not data.startswith(b"\xff\xd8\xff"):
                raise ValueError("thumbnail: not a JPEG image")
        return self

    @model_validator(mode="after")
    def _indices_in_range(self) -> ClipExample:
        if self.events is None:
            if self.tem is not None or self.autodq is not None:
                raise ValueError("tem and autodq explanations need the extracted events")
            return self
        n_ref, n_pred = len(self.events.reference), len(self.events.prediction)
        if self.autodq is not None and (
            len(self.autodq.reference_labels) != n_ref or len(self.autodq.prediction_labels) != n_pred
        ):
            raise ValueError("autodq: one label per reference event and per predicted event")
        if self.tem is not None:
            if len(self.tem.alignment) != n_pred:
                raise ValueError(f"tem.alignment: {len(self.tem.alignment)} entries for {n_pred} predicted events")
            refs = [e.reference for e in self.tem.alignment if e.reference is not None]
            refs += [k for _, k in self.tem.matched] + self.tem.missed + self.tem.contradicted
            preds = [j for j, _ in self.tem.matched] + self.tem.out_of_order + self.tem.repeated
            if any(not 1 <= k <= n_ref for k in refs):
                raise ValueError(f"tem: a reference event index is outside 1..{n_ref}")
            if any(not 1 <= j <= n_pred for j in preds):
                raise ValueError(f"tem: a predicted event index is outside 1..{n_pred}")
        return self


class ClipScore(_Strict):
    """One scored clip of a run, for paired comparisons between runs of a track (``fecbench compare``).

    ``scores`` holds the per-clip values the corpus formulas take: ``cider`` and ``rouge_l``,
    ``autodq_recall``/``autodq_precision``, ``tem_recall``/``tem_precision``, ``vcgpt_<dimension>``; a
    metric whose judge answer failed for the clip is absent. The captions let CIDEr-D's document
    frequencies be recomputed on any resample of the clips two runs share.
    """

    id: str
    source: str
    reference: str
    prediction: str
    scores: dict[str, float] = Field(default_factory=dict)


class Examples(_Strict):
    #: the per-clip score the clips were ordered by
    ranked_by: str
    worst: list[ClipExample]
    best: list[ClipExample]
