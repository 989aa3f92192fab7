"""What each metric is called, what it measures and on what scale: one table for every page.

The keys are the metric names of ``scores.json`` and of result records; the paper's reported
figures use the same keys, so a reported row and a measured row line up column by column. A metric
that is not in this table is still shown (under its own key), never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    scale: str
    definition: str
    #: largest value the metric can take: chart axes and record validation (None: unbounded)
    maximum: float | None = None
    #: smallest value the metric can take (every metric here is 0 at worst)
    minimum: float = 0.0


METRICS: tuple[MetricInfo, ...] = (
    MetricInfo(
        "tem",
        "TEM",
        "0 to 1",
        "Temporal Event Matching (tem-v1, the paper's own metric as fecbench defines it). The judge extracts "
        "at most 10 events from the reference and from the prediction, then aligns each predicted event to a "
        "reference event with a relation (entailment, neutral, contradiction). L is the longest run of entailed "
        "matches whose reference events are in increasing order; recall = L / reference events, precision = "
        "L / predicted events (an empty list scores 1); TEM is the F1 of mean recall and mean precision over clips.",
        1.0,
    ),
    MetricInfo(
        "autodq",
        "AutoDQ",
        "0 to 1",
        "AutoDQ (autodq-v1, from the Tarsier / DREAM-1K work). Each reference event is classified against the "
        "whole prediction, each predicted event against the whole reference; recall = share of reference events "
        "entailed, precision = share of predicted events entailed (an empty list scores 1); AutoDQ is the F1 of "
        "mean recall and mean precision over clips.",
        1.0,
    ),
    MetricInfo(
        "cider",
        "CIDEr",
        "COCO scale (an identical caption scores 10)",
        "CIDEr-D as in the COCO caption evaluation (cider-d-coco-v1): tf-idf vectors of 1- to 4-grams after "
        "PTB tokenisation, document frequencies from the references of the clips scored, clipped dot product, "
        "Gaussian length penalty (sigma 6), mean over n, times 10. A corpus metric: a subset's CIDEr is "
        "recomputed on that subset, not averaged.",
        # one reference per clip: the clipped cosine and the length penalty are each at most 1
        10.0,
    ),
    MetricInfo(
        "rouge_l",
        "ROUGE-L",
        "0 to 1",
        "ROUGE-L as in the COCO caption evaluation (rouge-l-coco-v1): the F-measure (beta 1.2) of the longest "
        "common subsequence of words between prediction and reference, averaged over clips.",
        1.0,
    ),
    MetricInfo(
        "vcgpt_correctness",
        "Correctness",
        "0 to 5",
        "Video-ChatGPT correctness (vcgpt-v1): the judge sees the question, the reference and the prediction "
        "and rates factual accuracy with an integer 0 to 5; the mean over clips.",
        5.0,
    ),
    MetricInfo(
        "vcgpt_detail",
        "Detail",
        "0 to 5",
        "Video-ChatGPT detail orientation (vcgpt-v1): completeness and specificity of the description, an "
        "integer 0 to 5 per clip from the judge; the mean over clips.",
        5.0,
    ),
    MetricInfo(
        "vcgpt_context",
        "Context",
        "0 to 5",
        "Video-ChatGPT contextual understanding (vcgpt-v1): whether the description fits the video's context, "
        "an integer 0 to 5 per clip from the judge; the mean over clips.",
        5.0,
    ),
    MetricInfo(
        "vcgpt_temporal",
        "Temporal",
        "0 to 5",
        "Video-ChatGPT temporal understanding (vcgpt-v1): whether the order of the expression changes is right, "
        "an integer 0 to 5 per clip from the judge; the mean over clips.",
        5.0,
    ),
)

BY_KEY: dict[str, MetricInfo] = {m.key: m for m in METRICS}

#: ranking preference inside a track: the first metric that every run of the track has a value for
RANKING_ORDER: tuple[str, ...] = ("tem", "autodq", "cider", "rouge_l")

#: FEC-Bench's seven source datasets, in the order of the shared README (largest first)
FEC_BENCH_SOURCES: tuple[str, ...] = ("CAER_mp4", "RAVDESS", "DFEW", "MER24", "MAFW", "AFEW-VA", "FERV39k")


def info(key: str) -> MetricInfo:
    """The catalogue entry of ``key``, or a plain one for a metric this version does not know."""
    return BY_KEY.get(key) or MetricInfo(key, key, "", f"{key}: a metric this leaderboard version does not know.")


#: column order of every table: the paper's (judge scores, n-gram metrics, event metrics)
DISPLAY_ORDER: tuple[str, ...] = (
    "vcgpt_correctness",
    "vcgpt_detail",
    "vcgpt_context",
    "vcgpt_temporal",
    "cider",
    "rouge_l",
    "autodq",
    "tem",
)


def ordered(keys: set[str] | list[str]) -> list[str]:
    """Metric keys in the paper's column order, unknown ones last in name order."""
    known = [k for k in DISPLAY_ORDER if k in keys]
    return known + sorted(k for k in keys if k not in DISPLAY_ORDER)
