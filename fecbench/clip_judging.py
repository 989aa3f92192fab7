"""The judge work of one scoring job as a pipeline per clip, so the judge is never left waiting.

Each clip asks for the events of its reference and of its prediction, and (when the judge rates)
for its Video-ChatGPT rating, all at once. As soon as both event lists are there, the same clip's
AutoDQ labels (``classify``, one per non-empty side) and TEM alignment (``align``, when both sides
have events) are asked. Nothing waits for other clips: the engine's scheduler keeps
``--concurrency`` requests in flight across every clip and task until the work runs out. It sends
extractions first, then the questions nothing else waits for (classify, align, rate), each group in
clip order: questions with follow-ups first keep a stock of independent ones queued, which fill the
endpoint to the end while the last follow-ups are asked (sent clip by clip, the last clips'
extract-then-align chains ran with the endpoint half empty: 1 s of an 8 s job at 128). With
a batch judge (in-process model, rules) the same questions become one ``solve`` call per task
with every ready item.

What each clip gets (events, labels, alignment, rating, failures) and how the metrics read it is
unchanged from asking task by task; failures are listed in task order (extract, classify, align,
rate; reference before prediction) whatever order the answers came in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fecbench.judges.base import TASKS, JudgeFailure
from fecbench.metrics.events import VCGPT_DIMENSIONS, autodq_clip, tem_clip

if TYPE_CHECKING:
    from fecbench.judges.engine import JudgeEngine, JudgeSession, PendingVerdict

MAX_RAW_CHARS = 2000
_SIDES = ("reference", "prediction")
#: The order of the scheduler's queue: questions that others wait for before those nothing waits for.
_STAGE = {"extract": 0, "classify": 1, "align": 1, "rate": 1}

__all__ = ["ClipText", "JudgedClip", "judge_clips"]


@dataclass(frozen=True)
class ClipText:
    """What the judge needs of one clip: the question (the caption instruction), reference, prediction."""

    id: str
    question: str
    reference: str
    prediction: str


@dataclass
class JudgedClip:
    """The judge's verdicts on one clip and the per-clip metrics they give (None: not computed)."""

    events: dict[str, list[str] | None] = field(default_factory=lambda: {"reference": None, "prediction": None})
    autodq: dict[str, Any] | None = None
    tem: dict[str, Any] | None = None
    vcgpt: dict[str, int] | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, task: str, failure: JudgeFailure, side: str | None = None) -> None:
        record: dict[str, Any] = {"task": task}
        if side:
            record["side"] = side
        record.update(error=failure.error, attempts=failure.attempts)
        if failure.raw is not None:
            record["raw"] = failure.raw[:MAX_RAW_CHARS]  # the judge's last answer, to see what went wrong
        self.failures.append(record)

    def sort_failures(self) -> None:
        """Task order, reference before prediction: the same record whatever order answers came in."""
        self.failures.sort(key=lambda f: (TASKS.index(f["task"]), _SIDES.index(f["side"]) if "side" in f else 0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "autodq": self.autodq,
            "tem": self.tem,
            "vcgpt": self.vcgpt,
            "judge_failures": self.failures,
        }


class _ClipFlow:
    """One clip's questions, each asked as soon as what it needs is known; ``finished`` when all are in.

    Answers can come at once (cached verdicts resolve on submission), so the flow holds itself
    open while it is being set up and counts every question still out.
    """

    def __init__(self, session: JudgeSession, clip: ClipText, position: int, out: JudgedClip, rate: bool) -> None:
        self.session, self.clip, self.position, self.out = session, clip, position, out
        self.open = 1  # held by the set-up itself
        self.finished = False
        self.extract_handled = False
        self._labels: dict[str, list[str] | JudgeFailure] = {}
        self.extracted: dict[str, PendingVerdict] = {
            side: self._submit("extract", {"text": text})
            for side, text in (("reference", clip.reference), ("prediction", clip.prediction))
        }
        for pending in self.extracted.values():
            self._watch(pending, self._on_extracted)
        if rate:
            rating = {"question": clip.question, "reference": clip.reference, "prediction": clip.prediction}
            self._watch(self._submit("rate", rating), self._on_rated)
        self._release()

    def _submit(self, task: str, inputs: dict[str, Any]) -> PendingVerdict:
        return self.session.submit(task, inputs, priority=(_STAGE[task], self.position), index=self.position)

    def _watch(self, pending: PendingVerdict, then: Any) -> None:
        self.open += 1

        def done(verdict: PendingVerdict) -> None:
            then(verdict)
            self._release()

        pending.add_done_callback(done)

    def _release(self) -> None:
        self.open -= 1
        if self.open == 0:
            self.out.sort_failures()
            self.finished = True

    def _on_rated(self, verdict: PendingVerdict) -> None:
        result = verdict.result()
        if isinstance(result, JudgeFailure):
            self.out.fail("rate", result)
        else:
            self.out.vcgpt = {d: int(result[d]) for d in VCGPT_DIMENSIONS}

    def _on_extracted(self, _: PendingVerdict) -> None:
        if self.extract_handled or not all(pending.done() for pending in self.extracted.values()):
            return  # the other side is still out (or both were handled: a prediction equal to its reference)
        self.extract_handled = True
        for side in _SIDES:
            result = self.extracted[side].result()
            if isinstance(result, JudgeFailure):
                self.out.fail("extract", result, side)
            else:
                self.out.events[side] = list(result["events"])
        ref, pred = self.out.events["reference"], self.out.events["prediction"]
        if ref is None or pred is None:
            return
        for side, side_events, other_text in (
            ("reference", ref, self.clip.prediction),
            ("prediction", pred, self.clip.reference),
        ):
            if side_events:  # an empty list scores 1.0 and needs no verdict
                self._watch(self._submit("classify", {"events": side_events, "text": other_text}), self._labelled(side))
            else:
                self._labels[side] = []
        self._autodq_if_complete()
        if ref and pred:
            self._watch(self._submit("align", {"reference_events": ref, "predicted_events": pred}), self._on_aligned)
        else:  # no counterpart for any predicted event
            self.out.tem = tem_clip(len(ref), [{"reference": None, "relation": "neutral"} for _ in pred])

    def _labelled(self, side: str) -> Any:
        def record(verdict: PendingVerdict) -> None:
            result = verdict.result()
            self._labels[side] = result if isinstance(result, JudgeFailure) else list(result["labels"])
            self._autodq_if_complete()

        return record

    def _autodq_if_complete(self) -> None:
        if len(self._labels) < len(_SIDES):
            return
        failed = False
        for side in _SIDES:
            labels = self._labels[side]
            if isinstance(labels, JudgeFailure):
                self.out.fail("classify", labels, side)
                failed = True
        if not failed:
            self.out.autodq = autodq_clip(self._labels["reference"], self._labels["prediction"])  # type: ignore[arg-type]

    def _on_aligned(self, verdict: PendingVerdict) -> None:
        result = verdict.result()
        if isinstance(result, JudgeFailure):
            self.out.fail("align", result)
        else:
            self.out.tem = tem_clip(len(self.out.events["reference"] or []), result["alignment"])


def judge_clips(engine: JudgeEngine, clips: list[ClipText], *, rate: bool) -> dict[str, JudgedClip]:
    """Every judge task the metrics need over ``clips``, pipelined per clip; per clip id, the verdicts and metrics."""
    judged = {c.id: JudgedClip() for c in clips}
    flows: list[_ClipFlow] = []
    with engine.session() as session:
        waiting = iter(enumerate(clips))

        def next_clip() -> bool:
            """Start the next clip's questions (the judge asks for them as its queue runs low)."""
            position, clip = next(waiting, (-1, None))
            if clip is None:
                return False
            flows.append(_ClipFlow(session, clip, position, judged[clip.id], rate))
            return True

        session.wait_idle(next_clip)  # answers' callbacks ask the follow-up questions, so this runs to the end
    unfinished = [flow.clip.id for flow in flows if not flow.finished]
    if unfinished:
        raise RuntimeError(f"judging left {len(unfinished)} clips unfinished (first: {unfinished[0]})")
    return judged
