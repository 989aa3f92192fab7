"""Our CIDEr-D, ROUGE-L and PTB tokenizer against pycocoevalcap 1.2 on FEC-Bench's real captions."""

from __future__ import annotations

import importlib.util
import json
import math
import random
import shutil
import time

import numpy as np
import pytest
from conftest import fec_bench_captions

from fecbench.metrics.bootstrap import bootstrap_interval, multiplicities, resamples
from fecbench.metrics.cider import CiderStats, cider_d, cider_tokens
from fecbench.metrics.ngram import score_ngram
from fecbench.metrics.rouge import lcs_length, rouge_l, rouge_l_tokens
from fecbench.metrics.tokenize import ptb_tokenize


@pytest.fixture(scope="module")
def captions() -> dict[str, str]:
    return fec_bench_captions()


@pytest.fixture(scope="module")
def shuffled(captions: dict[str, str]) -> dict[str, str]:
    """Predictions = captions of other clips (a fixed permutation): realistic text, realistic overlap."""
    ids = sorted(captions)
    perm = ids[:]
    random.Random(7).shuffle(perm)
    return {i: captions[p] for i, p in zip(ids, perm, strict=True)}


# ---------------------------------------------------------------------------------------------------
# (1) Tokenizer: identical to the Java PTBTokenizer that pycocoevalcap runs.

TRICKY = [
    "The man doesn't smile; he's (slightly) annoyed -- isn't he?",
    "She’s smiling. It’s “quoted” — em dash – en dash",
    "can't won't shan't ain't DON'T Isn't. wasn't, they're we've I'd you'll I'm",
    "The character's eyes; the characters' eyes. Zoë's café, naïve résumé",
    "o'clock rock'n'roll y'all ma'am d'Artagnan O'Brien 'em 'cause 'til '90s the '80s",
    "cannot Cannot gonna wanna gotta gimme lemme 'twas 'tis",
    "He said \"hello\" and 'bye' ... ok!! ?! Really?? No!!! Hmm…",
    "e.g. i.e., etc. U.S. Mr. Smith vs. Dr. Mrs. a.k.a. Ph.D. Jr. Inc. Jan. fig. 3 no. 5 art. 7",
    "I. The end. Vitamin C. Then A. The U.S. The",
    "mid-20s 30-year-old twenty-five-year-old well-groomed, light-brown; half-closed. self-confident:",
    "1.5 3,000 50% 10:30 1/2 5 7/8 ½ 2020-01-05 12/25/2020 (650) 555-1234 +5 -5 −5 x² H₂O 100°",
    "and/or happy/sad/angry/neutral a/b/c/d x-ray T-shirt co-op re-evaluate well--being",
    "{braces} [brackets] (parens) ((double)) <b>bold</b> <br/> a & b AT&T R&D S&P-500",
    "$5 US$10 £3 €4 ¥5 ¢ #1 @user #happy email me at a.b@c.com or visit www.example.com/x.",
    "http://x.org/a?b=c. example.com Example.com file.txt video.mp4",
    "He smiled :) and :( then :D ;) =) :-) ^_^ x_x (^_^) -_-",
    "... . . . .. ....  ...... ---- --- -- - ----- * ** \\* // ~ ^ | = + _ __init__",
    "&amp; &lt; &gt; &quot;hi&quot; &apos;s &nbsp; &mdash;",
    "‘single’ «guillemets» „low“ ’’ ‘‘ ”” ““ ’” '' ''' `` `x`",
    "tab\there nb\u00a0sp zero\u200bwidth soft\u00adhyphen emoji 😀 here ℹ tm™ ©",
    "İstanbul ΣΑΣ straße ﬁ Ⅻ ٣ १२ ＡＢＣ！",
    "multiple\n\nnewlines\nand a trailing newline\n",
    "  leading and trailing spaces  ",
    "",
    "x",
    "!",
    "(",
    "They're",
    ":D",
    "'90",
    "He looks at the camera :P",
]

# pycocoevalcap only replaces "\n"; Java turns "\r" into an extra line and shifts every later caption, so
# for these the expected tokens are Java's on the text with the other line breaks made spaces (documented).
LINE_BREAKS = ["windows\r\nline\r\nends", "old mac\rline", "unicode\u2028line\u2029separators", "form\x0cfeed\x0bvt"]


# Exotic input on which ``ptb_tokenize`` knowingly differs from the Java tokenizer (listed in the docstring of
# fecbench/metrics/tokenize.py): text -> (Java's tokens after pycocoevalcap's filter, ours).
KNOWN_DIFFERENCES = {
    "caf&eacute; &eacute;t&eacute;": ("caf&eacute; &eacute;t&eacute;", "caf & eacute & eacute t & eacute"),
    "ne'er e'er": ("ne'er e'er", "ne'er e er"),
    "l'a d'1": ("l' a d' 1", "l a d 1"),
    "a single’and": ("a single’and", "a single and"),
    "ab?cd-ef 30-35/a": ("ab?cd ef 30-35 / a", "ab?cd-ef 30-35/a"),
    "i.e.-a.m.": ("i.e.-a.m.", "i.e.-a m."),
    "x@y, mailto:a@b.c ##a": ("x@y, mailto:a@b.c ## a", "x@y mailto a@b.c # #a"),
    "why‽ ㊀": ("why", "why ‽ ㊀"),
}


def model_style_variants(captions: dict[str, str]) -> list[str]:
    """Caption variants as models write them: contractions, curly quotes, dashes, parentheses, numbers."""
    rng = random.Random(3)
    inserts = ["doesn't", "he's", "it’s", "(slightly)", "“smiling”", "—", "--", "e.g.", "etc.", "30-35", "U.S.", "'s"]
    out = []
    for caption in sorted(captions.values())[:60]:
        words = caption.split(" ")
        for _ in range(6):
            k = rng.randrange(len(words))
            op = rng.randrange(4)
            if op == 0:
                words.insert(k, rng.choice(inserts))
            elif op == 1:
                words[k] = words[k].replace("'", "’") + rng.choice(["'s", "’s", ",", ".", ";", ":", "!", "?", "..."])
            elif op == 2:
                words[k] = rng.choice(['"{}"', "({})", "“{}”", "'{}'"]).format(words[k])
            else:
                words[k] = words[k].upper()
        out.append(" ".join(words))
    return out


def java_tokenize(texts: list[str]) -> list[str]:
    """pycocoevalcap's PTBTokenizer on all texts in one Java call.

    Each text is followed by a line holding only U+0001 (untokenizable, hence deleted) so that no rule's
    trailing context reaches into the next text; ``ptb_tokenize`` tokenizes each text on its own.
    """
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    batch = [x for t in texts for x in (t, "\x01")]
    out = PTBTokenizer().tokenize({str(k): [{"caption": t}] for k, t in enumerate(batch)})
    return [out[str(2 * k)][0] for k in range(len(texts))]


@pytest.mark.skipif(shutil.which("java") is None, reason="java not on PATH: pycocoevalcap's tokenizer needs it")
def test_tokenizer_matches_pycocoevalcap_java(captions: dict[str, str]) -> None:
    pytest.importorskip("pycocoevalcap")
    real = [captions[i] for i in sorted(captions)]
    variants = model_style_variants(captions)
    cleaned = [t.replace("\r\n", " ").replace("\r", " ") for t in LINE_BREAKS]
    cleaned = [t.translate({0x2028: " ", 0x2029: " ", 0x0C: " ", 0x0B: " "}) for t in cleaned]
    texts = real + variants + TRICKY + cleaned
    expected = java_tokenize(texts)
    ours = [" ".join(ptb_tokenize(t)) for t in real + variants + TRICKY + LINE_BREAKS]
    mismatches = [(t, e, o) for t, e, o in zip(texts, expected, ours, strict=True) if e != o]
    assert not mismatches, f"{len(mismatches)} of {len(texts)} differ, first: {mismatches[0]}"
    assert len(real) == 800


def test_tokenizer_known_differences() -> None:
    """Pins our output on the documented exotic differences (and, with Java, that Java still differs so)."""
    for text, (_, ours) in KNOWN_DIFFERENCES.items():
        assert " ".join(ptb_tokenize(text)) == ours, text
    if shutil.which("java") is not None and importlib.util.find_spec("pycocoevalcap") is not None:
        assert java_tokenize(list(KNOWN_DIFFERENCES)) == [java for java, _ in KNOWN_DIFFERENCES.values()]


def test_tokenizer_known_quirks() -> None:
    """Behaviour of the reference tokenizer that surprises people, pinned down."""
    assert ptb_tokenize("He doesn't smile, he's (slightly) tense!") == [
        "he", "does", "n't", "smile", "he", "'s", "-lrb-", "slightly", "-rrb-", "tense",
    ]  # fmt: skip
    assert ptb_tokenize("Wow!! e.g. U.S. etc.") == ["wow", "!!", "e.g.", "u.s.", "etc."]
    assert ptb_tokenize("It’s “fine” — really") == ["it", "'s", "fine", "really"]
    assert ptb_tokenize("cannot gonna") == ["can", "not", "gon", "na"]
    assert ptb_tokenize("grey colour") == ["grey", "colour"]  # no Americanisation in 3.4.1's defaults
    assert ptb_tokenize("a\nb") == ptb_tokenize("a b") == ptb_tokenize("a\r\nb") == ["a", "b"]
    assert ptb_tokenize("") == [] and ptb_tokenize(" . , ") == []


# ---------------------------------------------------------------------------------------------------
# (2) CIDEr-D and ROUGE-L against pycocoevalcap's scorers, corpus and per clip.


def reference_scores(refs: dict[str, str], preds: dict[str, str]) -> tuple[float, dict, float, dict]:
    """pycocoevalcap's Cider and Rouge, fed our tokens (the tokenizer is checked against Java above)."""
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    gts = {i: [" ".join(ptb_tokenize(refs[i]))] for i in refs}
    res = {i: [" ".join(ptb_tokenize(preds[i]))] for i in refs}
    c, cs = Cider().compute_score(gts, res)
    r, rs = Rouge().compute_score(gts, res)
    return float(c), dict(zip(gts, map(float, cs), strict=True)), float(r), dict(zip(gts, map(float, rs), strict=True))


def test_scores_match_pycocoevalcap(captions: dict[str, str], shuffled: dict[str, str]) -> None:
    pytest.importorskip("pycocoevalcap")
    ids = sorted(captions)[:300]
    refs = {i: captions[i] for i in ids}
    preds = {i: shuffled[i] for i in ids}
    # Corner cases mixed into the same corpus: exact copies, empty answers, repetition (clipping) and a
    # truncated answer (length penalty), a lone common word (idf 0).
    for k, i in enumerate(ids[:40]):
        preds[i] = [refs[i], "", refs[i] + " " + refs[i], " ".join(refs[i].split()[: 10 + k]), "the"][k % 5]
    c_ref, c_ref_clip, r_ref, r_ref_clip = reference_scores(refs, preds)

    c, c_clip = cider_d(refs, preds)
    r, r_clip = rouge_l(refs, preds)
    assert c == pytest.approx(c_ref, abs=1e-6)
    assert r == pytest.approx(r_ref, abs=1e-6)
    assert max(abs(c_clip[i] - c_ref_clip[i]) for i in ids) < 1e-6
    assert max(abs(r_clip[i] - r_ref_clip[i]) for i in ids) < 1e-6

    result = score_ngram(refs, preds, bootstrap=0)
    assert result["cider"]["value"] == pytest.approx(c_ref, abs=1e-6)
    assert result["rouge_l"]["value"] == pytest.approx(r_ref, abs=1e-6)
    assert result["per_clip"][ids[0]] == {"cider": pytest.approx(10.0), "rouge_l": pytest.approx(1.0)}  # copy
    assert result["per_clip"][ids[1]] == {"cider": 0.0, "rouge_l": 0.0}  # empty prediction
    assert 0.0 < c < 1.0 and 0.2 < r < 0.6


def test_identical_predictions_match_pycocoevalcap(captions: dict[str, str]) -> None:
    pytest.importorskip("pycocoevalcap")
    refs = {i: captions[i] for i in sorted(captions)[:200]}
    c_ref, _, r_ref, _ = reference_scores(refs, refs)
    assert cider_d(refs, refs)[0] == pytest.approx(c_ref, abs=1e-6) == pytest.approx(10.0, abs=1e-6)
    assert rouge_l(refs, refs)[0] == pytest.approx(r_ref, abs=1e-6) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------------
# (3) Small cases worked by hand.


def test_rouge_l_by_hand() -> None:
    # ref "a man smiles slowly" (4 words), pred "The man smiles" (3): LCS = "man smiles" = 2,
    # P = 2/3, R = 2/4, F = (1 + 1.2**2) P R / (R + 1.2**2 P) = 2.44 * (1/3) / (0.5 + 0.96) = 0.557078
    score, per_clip = rouge_l({"c": "a man smiles slowly"}, {"c": "The man smiles"})
    assert score == per_clip["c"] == pytest.approx(2.44 / 3 / 1.46, abs=1e-12)
    # identical -> 1; no common word -> 0; empty prediction -> 0 (one empty "word", as in the reference)
    assert rouge_l_tokens(["a", "b"], ["a", "b"]) == 1.0
    assert rouge_l_tokens(["a", "b"], ["c"]) == 0.0
    assert rouge_l({"c": "a b"}, {"c": ""})[0] == 0.0
    assert lcs_length("ABCBDAB", "BDCABA") == 4 and lcs_length([], ["a"]) == 0


def test_cider_d_by_hand() -> None:
    # One clip: N = 1, so every idf is log(1) - log(1) = 0 and even a perfect prediction scores 0.
    assert cider_d({"c": "a man smiles"}, {"c": "a man smiles"})[0] == 0.0
    # Two clips with disjoint two-word references predicted exactly: orders 1 and 2 have cosine 1, orders
    # 3 and 4 have no n-grams (norm 0 -> 0), so each clip scores 10 * (1 + 1 + 0 + 0) / 4 = 5.
    score, per_clip = cider_d({"a": "x y", "b": "z w"}, {"a": "x y", "b": "z w"})
    assert per_clip == {"a": pytest.approx(5.0), "b": pytest.approx(5.0)} and score == pytest.approx(5.0)
    # Clipping and length penalty: refs "x y" / "z w", predictions "x x y" / "". All reference n-grams
    # have df 1 of N = 2, so idf L = log 2 everywhere (also for "x x", found in no reference).
    # Unigrams: h = (2L, L), r = (L, L), clipped dot = min(2L, L) L + L L = 2L^2 -> 2 / sqrt(10).
    # Bigrams: h = ("x x": L, "x y": L), r = ("x y": L) -> 1 / sqrt(2). Trigrams: no reference -> 0.
    # Length: 2 bigrams vs 1 -> delta = 1 -> penalty exp(-1 / 72). The empty prediction scores 0.
    expected_a = 10 * (2 / math.sqrt(10) + 1 / math.sqrt(2)) / 4 * math.exp(-1 / 72)
    score, per_clip = cider_d({"a": "x y", "b": "z w"}, {"a": "x x y", "b": ""})
    assert per_clip["a"] == pytest.approx(expected_a, abs=1e-12) and per_clip["b"] == 0.0
    assert score == pytest.approx(expected_a / 2, abs=1e-12)


def test_score_ngram_shape_and_errors() -> None:
    refs = {"1": "a man smiles", "2": "a woman frowns", "3": "a child laughs loudly"}
    preds = {"2": "a woman frowns", "1": ""}
    out = score_ngram(refs, preds, bootstrap=50)
    assert set(out) == {"cider", "rouge_l", "per_clip"}
    assert out["cider"]["version"] == "cider-d-coco-v1" and out["rouge_l"]["version"] == "rouge-l-coco-v1"
    assert out["cider"]["n"] == out["rouge_l"]["n"] == 2 and set(out["per_clip"]) == {"1", "2"}
    assert out["per_clip"]["1"] == {"cider": 0.0, "rouge_l": 0.0}
    assert json.loads(json.dumps(out)) == out  # plain JSON types only
    with pytest.raises(KeyError):
        score_ngram(refs, {"9": "x"})
    with pytest.raises(ValueError):
        score_ngram(refs, {})


# ---------------------------------------------------------------------------------------------------
# (4) Bootstrap.


def test_bootstrap_intervals(captions: dict[str, str], shuffled: dict[str, str]) -> None:
    start = time.perf_counter()
    full = score_ngram(captions, shuffled, bootstrap=1000, seed=0)
    elapsed = time.perf_counter() - start
    for metric in ("cider", "rouge_l"):
        lo, hi = full[metric]["ci95"]
        assert lo < full[metric]["value"] < hi, metric
        assert full[metric]["n"] == 800
    assert elapsed < 30, f"800 clips with B=1000 took {elapsed:.1f}s"  # ~3.5s here; guards against O(slow)

    few = sorted(captions)[:100]
    refs, preds = {i: captions[i] for i in few}, {i: shuffled[i] for i in few}
    small = score_ngram(refs, preds, bootstrap=1000, seed=0)
    again = score_ngram(refs, dict(reversed(preds.items())), bootstrap=1000, seed=0)
    other = score_ngram(refs, preds, bootstrap=1000, seed=1)

    def width(result: dict, metric: str) -> float:
        return result[metric]["ci95"][1] - result[metric]["ci95"][0]

    for metric in ("cider", "rouge_l"):
        assert again[metric]["ci95"] == small[metric]["ci95"], metric  # same seed, any input order
        assert other[metric]["ci95"] != small[metric]["ci95"], metric
        assert small[metric]["ci95"][0] < small[metric]["value"] < small[metric]["ci95"][1], metric
        assert width(small, metric) > 1.5 * width(full, metric), metric  # ~sqrt(8) wider with 8x fewer clips


def test_cider_fast_bootstrap_equals_reference_recomputation(
    captions: dict[str, str], shuffled: dict[str, str]
) -> None:
    """Weighted fast path == pycocoevalcap's CiderScorer run on the resampled clips (duplicates included)."""
    pytest.importorskip("pycocoevalcap")
    from pycocoevalcap.cider.cider_scorer import CiderScorer

    ids = sorted(captions)[:150]
    refs = [cider_tokens(captions[i]) for i in ids]
    hyps = [cider_tokens(shuffled[i]) for i in ids]
    hyps[0] = refs[0]
    stats = CiderStats.from_tokens(refs, hyps)
    for idx in list(resamples(len(ids), B=3, seed=5)):
        scorer = CiderScorer(n=4, sigma=6.0)
        for k in idx:
            scorer += (" ".join(hyps[k]), [" ".join(refs[k])])
        slow, _ = scorer.compute_score()
        assert stats.corpus(multiplicities(idx, len(ids))) == pytest.approx(float(slow), abs=1e-9)


def test_bootstrap_interval_generic() -> None:
    values = np.arange(10, dtype=float)
    lo, hi = bootstrap_interval(lambda idx: float(values[idx].mean()), 10, B=500, seed=3)
    assert lo < 4.5 < hi
    assert (lo, hi) == bootstrap_interval(lambda idx: float(values[idx].mean()), 10, B=500, seed=3)
    assert bootstrap_interval(lambda idx: 1.0, 5, B=10) == (1.0, 1.0)
    assert multiplicities(np.array([0, 0, 2]), 4).tolist() == [2, 0, 1, 0]
    with pytest.raises(ValueError):
        bootstrap_interval(lambda idx: 0.0, 0)
