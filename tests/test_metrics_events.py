"""AutoDQ, TEM (tem-v1) and Video-ChatGPT arithmetic on hand-computed cases (docs/metrics.md)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fecbench.metrics.events import (
    AUTODQ_VERSION,
    TEM_VERSION,
    VCGPT_VERSION,
    autodq_clip,
    corpus_f,
    event_metric_entry,
    f_measure,
    longest_increasing_matches,
    tem_clip,
    unsupported_entry,
    vcgpt_entries,
)

E, N, C = "entailment", "neutral", "contradiction"


def align(*pairs: tuple[int | None, str]) -> list[dict]:
    return [{"reference": k, "relation": rel} for k, rel in pairs]


def test_worked_example_of_metrics_md() -> None:
    # E_R = [r1..r4], E_P = [p1, p2, p3] with m = (3, 1, 2): B = [3, 1, 2], L = 2 (r1, r2 in order)
    clip = tem_clip(4, align((3, E), (1, E), (2, E)))
    assert clip["L"] == 2
    assert clip["recall"] == pytest.approx(2 / 4) and clip["precision"] == pytest.approx(2 / 3)
    assert clip["matched"] == [[2, 1], [3, 2]]
    assert clip["out_of_order"] == [1] and clip["repeated"] == []
    assert clip["missed"] == [3, 4]
    assert clip["contradicted"] == []


def test_empty_lists_score_one_on_their_side() -> None:
    assert autodq_clip([], []) == {"reference_labels": [], "prediction_labels": [], "recall": 1.0, "precision": 1.0}
    no_prediction = autodq_clip([E, N], [])
    assert (no_prediction["recall"], no_prediction["precision"]) == (0.5, 1.0)
    no_reference = tem_clip(0, align((None, N), (None, N)))
    assert (no_reference["L"], no_reference["recall"], no_reference["precision"]) == (0, 1.0, 0.0)
    nothing_predicted = tem_clip(3, [])
    assert (nothing_predicted["recall"], nothing_predicted["precision"], nothing_predicted["missed"]) == (
        0.0,
        1.0,
        [1, 2, 3],
    )
    both_empty = tem_clip(0, [])
    assert (both_empty["L"], both_empty["recall"], both_empty["precision"]) == (0, 1.0, 1.0)


def test_autodq_counts_only_entailment() -> None:
    clip = autodq_clip([E, C, N, E], [E, E, C])
    assert clip["recall"] == pytest.approx(2 / 4) and clip["precision"] == pytest.approx(2 / 3)


def test_reference_matched_twice_counts_once() -> None:
    clip = tem_clip(3, align((1, E), (1, E), (2, E)))
    assert clip["L"] == 2 and clip["matched"] == [[1, 1], [3, 2]]
    assert clip["repeated"] == [2] and clip["out_of_order"] == []
    assert clip["recall"] == pytest.approx(2 / 3) and clip["precision"] == pytest.approx(2 / 3)


def test_all_out_of_order() -> None:
    clip = tem_clip(4, align((4, E), (3, E), (2, E), (1, E)))
    assert clip["L"] == 1
    assert clip["matched"] == [[1, 4]]  # the earliest predicted event wins among equally long runs
    assert clip["out_of_order"] == [2, 3, 4]
    assert clip["missed"] == [1, 2, 3]
    assert clip["recall"] == pytest.approx(1 / 4) and clip["precision"] == pytest.approx(1 / 4)


def test_contradiction_and_neutral_are_not_matches() -> None:
    clip = tem_clip(3, align((1, C), (2, N), (3, E), (2, C)))
    assert clip["L"] == 1 and clip["matched"] == [[3, 3]]
    assert clip["contradicted"] == [1, 2]
    assert clip["missed"] == [1, 2]
    assert clip["out_of_order"] == [] and clip["repeated"] == []
    assert clip["precision"] == pytest.approx(1 / 4)


def test_alignment_outside_the_reference_list_is_refused() -> None:
    with pytest.raises(ValueError, match="outside 1..2"):
        tem_clip(2, align((3, E)))


def _brute_force_lis(ks: list[int]) -> int:
    best = 0
    for size in range(len(ks) + 1):
        for combo in itertools.combinations(ks, size):
            if all(a < b for a, b in itertools.pairwise(combo)):
                best = max(best, size)
    return best


def test_lis_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        ks = [int(k) for k in rng.integers(1, 7, size=int(rng.integers(0, 9)))]
        chosen = longest_increasing_matches(list(enumerate(ks, start=1)))
        assert len(chosen) == _brute_force_lis(ks)
        assert all(a[0] < b[0] and a[1] < b[1] for a, b in itertools.pairwise(chosen))


def test_tem_never_exceeds_autodq_like_content() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        n_ref = int(rng.integers(0, 6))
        entries = [
            (int(rng.integers(1, n_ref + 1)) if n_ref and rng.random() < 0.8 else None, str(rng.choice([E, N, C])))
            for _ in range(int(rng.integers(0, 6)))
        ]
        clip = tem_clip(n_ref, align(*entries))
        entailed = sum(1 for k, rel in entries if k is not None and rel == E)
        assert clip["L"] <= entailed and clip["L"] <= n_ref


def test_corpus_f() -> None:
    # mean recall (0.5 + 1) / 2 = 0.75, mean precision (1/3 + 1) / 2 = 2/3
    assert corpus_f([0.5, 1.0], [1 / 3, 1.0]) == pytest.approx(2 * 0.75 * (2 / 3) / (0.75 + 2 / 3))
    assert corpus_f([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert f_measure(0.0, 1.0) == 0.0
    # the corpus formula is F1 of the means, not the mean of per-clip F1s
    assert corpus_f([1.0, 0.0], [0.0, 1.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        corpus_f([], [])


def test_entry_has_interval_containing_value() -> None:
    rng = np.random.default_rng(0)
    recalls, precisions = rng.random(40), rng.random(40)
    entry = event_metric_entry(recalls, precisions, TEM_VERSION, n_failed=2, bootstrap=300)
    assert entry["version"] == TEM_VERSION and entry["n"] == 40 and entry["n_failed"] == 2
    assert entry["value"] == pytest.approx(corpus_f(recalls, precisions))
    assert entry["recall"] == pytest.approx(recalls.mean()) and entry["precision"] == pytest.approx(precisions.mean())
    low, high = entry["ci95"]
    assert low < entry["value"] < high and high - low < 0.5
    assert event_metric_entry(recalls, precisions, AUTODQ_VERSION, bootstrap=0)["ci95"] is None


def test_entry_without_clips_is_no_number() -> None:
    entry = event_metric_entry([], [], AUTODQ_VERSION, n_failed=3)
    assert entry["value"] is None and entry["n"] == 0 and entry["n_failed"] == 3


def test_vcgpt_means_per_dimension() -> None:
    ratings = [
        {"correctness": 4, "detail": 3, "context": 5, "temporal": 2},
        {"correctness": 2, "detail": 3, "context": 4, "temporal": 0},
        {"correctness": 3, "detail": 1, "context": 3, "temporal": 1},
    ]
    entries = vcgpt_entries(ratings, n_failed=1, bootstrap=200)
    assert {name: e["value"] for name, e in entries.items()} == {
        "correctness": 3.0,
        "detail": pytest.approx(7 / 3),
        "context": 4.0,
        "temporal": 1.0,
    }
    for entry in entries.values():
        assert entry["version"] == VCGPT_VERSION and entry["n"] == 3 and entry["n_failed"] == 1
        assert entry["ci95"][0] <= entry["value"] <= entry["ci95"][1]
    assert vcgpt_entries([], n_failed=2)["temporal"]["value"] is None


def test_unsupported_is_no_number() -> None:
    entry = unsupported_entry(VCGPT_VERSION, "judge 'lexical' does not rate captions")
    assert entry["value"] is None and "lexical" in entry["unsupported"]
