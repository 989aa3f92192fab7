"""Tracks: the settings that must be equal before two runs are ranked against each other.

A track fixes the benchmark (annotation set and clip selection), the frame protocol, the prompt
and the judge (backend, model, prompt version and prompt hash). Runs are grouped by exactly these
settings; a group is ranked only within itself.

A group is a *standard* track when it runs FEC-Bench's whole test set with the authors' own
instruction on frames fecbench sampled. Frame protocol and judge are not published by the paper,
so they name a track rather than disqualify it: two judges make two standard tracks. Any other
group (a subset, another annotation set, another prompt, predictions made elsewhere, whose frame
protocol is unknown) is shown apart, with its deviations written out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from fecbench.prompts import DEFAULT_INSTRUCTION
from fecbench_leaderboard.records import RunRecord, prompt_sha256

AUTHORS_PROMPT_SHA256 = prompt_sha256(DEFAULT_INSTRUCTION)


def track_settings(record: RunRecord) -> dict[str, object]:
    """The settings a track fixes, as plain data (their hash is the track's id)."""
    return {
        "benchmark": [record.benchmark.annotations_sha256, record.benchmark.subset],
        "frame_protocol": record.frame_protocol.model_dump(mode="json"),
        "prompt": record.prompt.sha256,
        "judge": record.judge.key if record.judge else None,
    }


def track_id(record: RunRecord) -> str:
    blob = json.dumps(track_settings(record), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:10]


def deviations(record: RunRecord) -> list[str]:
    """Why a run is not on a standard track, in words; empty when it is."""
    found = []
    if not record.benchmark.fec_bench:
        found.append(
            f"another annotation set ({record.benchmark.name}, sha256 {record.benchmark.annotations_sha256[:12]})"
        )
    if record.benchmark.subset:
        found.append(record.benchmark.subset)
    if record.frame_protocol.made_elsewhere:
        found.append("predictions made elsewhere (their frame protocol is unknown)")
    if record.prompt.sha256 != AUTHORS_PROMPT_SHA256:
        found.append(f"a prompt other than the authors' instruction (sha256 {record.prompt.sha256[:12]})")
    return found


def benchmark_label(record: RunRecord) -> str:
    bench = record.benchmark
    if bench.fec_bench and not bench.subset:
        return f"FEC-Bench, all {bench.records} clips"
    name = "FEC-Bench" if bench.fec_bench else f"custom set {bench.name}"
    return f"{name}, {bench.subset}" if bench.subset else f"{name}, {bench.clips} clips"


def frames_label(record: RunRecord) -> str:
    protocol = record.frame_protocol
    if protocol.made_elsewhere:
        return "made elsewhere (frame protocol unknown)"
    extra = ", ".join(f"{k} {v}" for k, v in sorted((protocol.model_extra or {}).items()))
    text = f"{protocol.num_frames} frames, {protocol.name}, max side {protocol.max_side}"
    return f"{text}, {extra}" if extra else text


def prompt_label(record: RunRecord) -> str:
    if record.prompt.sha256 == AUTHORS_PROMPT_SHA256:
        return "the authors' instruction"
    return f"own prompt (sha256 {record.prompt.sha256[:12]})"


def judge_label(record: RunRecord) -> str:
    judge = record.judge
    if judge is None:
        return "no judge (n-gram metrics only)"
    return f"{judge.backend} judge {judge.model}, prompts {judge.prompt_version} (sha256 {judge.prompts_sha256[:12]})"


_METRIC_LABELS = {"autodq": "AutoDQ", "tem": "TEM"}


def judge_check_label(records: list[RunRecord]) -> str:
    """The most recent ``fecbench judge check`` of the records' judge, in one line ("" when never checked)."""
    checks = [r.judge.check for r in records if r.judge is not None and r.judge.check is not None]
    if not checks:
        return ""
    check = max(checks, key=lambda c: c.checked_at)
    where = "FEC-Bench" if check.fec_bench else "other"
    accuracy = ", ".join(f"{task} {value:.3f}" for task, value in check.accuracy.items() if value is not None)
    errors = []
    for name, value in check.error.items():
        if value is not None:
            ci = check.error_ci95.get(name)
            interval = f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else ""
            errors.append(f"{_METRIC_LABELS.get(name, name)} error {value:+.3f}{interval}")
    return (
        f"· judge check ({check.cases} known-answer cases from {check.captions} {where} reference captions, "
        f"{check.checked_at[:10]}): accuracy {accuracy}; {'; '.join(errors)}"
    )


@dataclass
class Track:
    id: str
    benchmark: str
    frames: str
    prompt: str
    judge: str
    deviations: list[str]
    records: list[RunRecord] = field(default_factory=list)

    @property
    def standard(self) -> bool:
        return not self.deviations

    @property
    def title(self) -> str:
        return " · ".join((self.benchmark, self.frames, self.prompt, self.judge))


def group_tracks(records: list[RunRecord]) -> list[Track]:
    """Runs grouped by their settings: standard tracks first, then by size, then by title."""
    tracks: dict[str, Track] = {}
    for record in records:
        key = track_id(record)
        if key not in tracks:
            tracks[key] = Track(
                id=key,
                benchmark=benchmark_label(record),
                frames=frames_label(record),
                prompt=prompt_label(record),
                judge=judge_label(record),
                deviations=deviations(record),
            )
        tracks[key].records.append(record)
    return sorted(tracks.values(), key=lambda t: (not t.standard, -len(t.records), t.title))
