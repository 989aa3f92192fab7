"""COCO-caption (Penn Treebank style) tokenisation, as the COCO caption metrics expect it.

pycocoevalcap tokenises every caption with a Java PTB tokenizer (``-preserveLines -lowerCase``)
and then drops the tokens in ``PUNCTUATIONS``. ``ptb_tokenize`` is an independent pure-Python
implementation of that pipeline. It was written from the published Penn Treebank conventions
(punctuation split off; "does n't", "he 's", "they 're"; "can not", "gon na"; brackets as -LRB- etc.;
quotes as `` and '') and verified black-box against pycocoevalcap's tokenizer output: identical on
all FEC-Bench reference captions and on tens of thousands of model-style variants of them.

Known differences on exotic input (none occur in FEC-Bench or in typical model output; examples are
pinned in tests/test_metrics_ngram.py):

* HTML entities other than &amp; &lt; &gt; &quot; &apos; &nbsp; &mdash; ("caf&eacute;");
* rare abbreviations: the words that keep their period ("etc.", "Mr.", "Jan.", "e.g.", single
  letters, ...) were found by probing, so rarer abbreviations may split differently;
* inner apostrophes beyond contractions and names ("e'er", "l'a", "single’and", "don‘t");
* rarer punctuation glued between words without spaces ("ab?cd-ef", "30-35/a", "i.e.-a.m.");
* URL / e-mail / hashtag edge cases ("mailto:a@b.c", "x@y,", "##a") and rarer emoticons;
* characters the reference deletes as untokenisable: we delete emoji (outside the Basic
  Multilingual Plane) and letter-like numerals (Ⅻ), but keep e.g. "‽" and "㊀" as tokens;
* runs that mix backticks with curly quotes ("“``x``“").
"""

from __future__ import annotations

import re
import unicodedata

# pycocoevalcap's list (BSD licence); compared after lower-casing, so "-lrb-" etc. are kept.
PUNCTUATIONS = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"]
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that keep their final period: in any case / only when capitalised / only before a number.
_ABBREVIATIONS = _words(
    """adm al ala apr ariz assn assoc asst atty aug ave bhd bldg blvd brig bros calif capt cf cie cmdr
    co col colo comdr conn corp cos cpl ct dec dept det dr ens esq est etc ext feb fla fri ft ga gen
    gov hon inc ind insp intl jan jr jul jun kan kans ky lieut lt ltd maj mar md messrs mfg mich
    minn mlle mme mo mon mont mr mrs ms msgr mt natl neb nev nov oct okla penn ph plc pres prof pty
    pvt rd rep rev sen sep sept seq sgt sq sr st ste supt tel tenn thu thurs treas tue tues univ va
    vs vt wed wis wisc wyo"""
)
_CAPITALISED_ABBREVIATIONS = _words("ark del ill la mass miss ore pa tex wash")
_NUMBER_ABBREVIATIONS = _words("art ca fig figs no nos op pp")
# Capitalised words that make a preceding single letter + period ("vitamin C. The") end a sentence.
_SENTENCE_STARTS = _words(
    """a about according additionally after an as at but earlier he her here however if in it last
    many more now once one other our she since so some such that the their then there these they
    this we what when while yet you"""
)
_SPLIT_AFTER_3 = _words("cannot gimme gonna gotta lemme wanna")  # "can not", "gon na", ...

_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&nbsp;": " ", "&mdash;": " -- "}
_ENTITY = re.compile("|".join(_ENTITIES))
_REPLACE = {"\u00ad": "", "\u200b": " ", "\x85": " ... ", "£": " # ", "€": " $ ", "¢": " cents "}
_QUOTES = str.maketrans({"“": "``", "”": "''", "‘": "`", "’": "'", "«": "``", "»": "''", "‹": "`", "›": "'"})
_SYMBOLS = str.maketrans(
    {"(": "-LRB-", ")": "-RRB-", "[": "-LSB-", "]": "-RSB-", "{": "-LCB-", "}": "-RCB-", '"': "''", "…": "..."}
)

_W = r"[^\W_]"  # letter or digit
_L = r"[^\W\d_]"  # letter
_SEG = rf"{_W}+(?:-{_W}+)*"  # hyphenated word
_CLITIC = r"(?i:s|re|ve|m|ll|d)"
# Alternatives are tried in order at each token start; the first that matches wins.
_TOKEN = re.compile(
    rf"""
    (?P<url>https?://[^\s()<>]*[^\s()<>.,;:!?'"])
    | (?P<email>\w[\w.]*@\w(?:[\w.]*\w)?)
    | (?P<tag>[#@]{_L}+ | </?[A-Za-z]\w*/?> | [A-Z]{{1,3}}\$ | [A-Z]+(?:&[A-Z]+)+(?:-{_SEG})?)  # #tag <b> US$ AT&T
    | (?P<emoticon>>?[:;=]['-]?[()\[\]|DPpdO](?!{_W}) | \([-^x>=][_.]?[-^x<=]\) | \(\^-\^\) | [-^>]_[-^<~])
    | (?P<joined>\(\d{{3}}\)\ ?\d{{3}}-\d{{4}} | \d+[\ \xa0]\d+/\d+)  # (650) 555-1234, 5 7/8
    | (?P<compound>{_W}+(?:[.,]+{_W}+)+(?:[.,]*-{_W}+)+)  # a.b-c, x,y-z
    | (?P<acronym>(?:[A-Za-z]\.){{2,}}(?:-{_SEG}|(?!{_W})) | (?i:ph\.d\.))  # e.g. U.S. a.k.a.
    | (?P<abbr>[A-Za-z]+)\.(?!{_L}|[.,]*-{_W})  # kept whole if _keeps_period, else split
    | (?P<apos>(?:[A-HJ-XZdlno]|[A-Za-z][aeiouyAEIOUY](?=['’][aeiouA-Z]))['’](?!{_CLITIC}(?!{_W})){_L}{{2,}})
    | (?P<clitic>['’][nN]['’] | ['’](?i:em|till?|cause) | ’(?:{_CLITIC}|[nN]) | '(?:{_CLITIC}|[nN])(?!{_W})
        | ['’]\d\d(?:[sS](?!{_W})|(?=\s|$)) | (?i:n['’]t)(?!{_W}) | '[tT](?=(?i:is|was)(?!{_W})) | [jyJY]['’](?={_L}))
    | (?P<slash>{_SEG}(?:/{_SEG}){{1,2}})  # and/or, 1/2
    | (?P<number>[-+]?\d*(?:[.,:]\d+)+)  # 3,000.50 10:30 .5
    | (?P<word>(?:[-+](?=\d))?{_W}+(?:(?<={_L})[.?!]{_L}{_W}*)*  # -5, example.com
        (?:[.,]+-{_W}+)?(?:[-_]{_W}+)*)  # middle-aged x_x
    | (?P<quotes>[“”‘’«»‹›]{{1,2}})
    | (?P<dashes>-{{2,4}}(?!-) | [—–])
    | (?P<other>\.\.\.|…|-+|[!?]+|``?|''?|\*+|_+|\\\*|\S)
    """,
    re.VERBOSE,
)
_CONTRACTION = re.compile(rf"['’]{_CLITIC}|(?i:n['’]t)")
_NOT = re.compile(r"['’][tT][^\W_]*")
_APOSTROPHE_LETTER = re.compile(r"['’][^\W\d_]")
_NO_PERIOD = re.compile(r"^[-+.]|^..['’]|\d[.,:]\d|/")  # numbers, "ma'am", "and/or"
_NEXT_WORD = re.compile(r"\s+([A-Z][A-Za-z]*)(?:\s|$)")
_DIGIT_NEXT = re.compile(r"\s*\d")


def _clean_char(ch: str) -> str:
    """Control characters, emoji and letter-like numerals vanish; superscripts, fractions stand alone."""
    if ch in _REPLACE:
        return _REPLACE[ch]
    category = unicodedata.category(ch)
    if ord(ch) > 0xFFFF or category in ("Cc", "Nl"):
        return " "
    if category == "No":
        if "FRACTION" in unicodedata.name(ch, ""):  # "½" -> "1/2"
            ch = unicodedata.normalize("NFKC", ch).replace("\u2044", "/")
        return f" {ch} "
    return ch


def _keeps_period(word: str, text: str, end: int) -> bool:
    """Whether ``word`` followed by "." at ``text[end - 1]`` is an abbreviation ("etc.", "Mr.", "A.")."""
    low = word.lower()
    if len(word) == 1:
        following = _NEXT_WORD.match(text, end)
        return not (following and following.group(1).lower() in _SENTENCE_STARTS)
    return (
        low in _ABBREVIATIONS
        or (low in _CAPITALISED_ABBREVIATIONS and word[0].isupper())
        or (low in _NUMBER_ABBREVIATIONS and bool(_DIGIT_NEXT.match(text, end)))
    )


def _word(word: str, text: str, end: int) -> tuple[list[str], int]:
    """Tokens for a word ending at ``text[end]``: "does n't", "can not", "word." before ",;:"."""
    n_t = _NOT.match(text, end)
    if n_t and word[-1:] in ("n", "N") and word[-2:-1] not in ("", "n", "N") and word.isalpha():
        token = word[-1] + n_t.group()  # "n't", or "n'thair" if letters follow
        return [word[:-1], token.replace("’", "'") if len(token) == 3 else token], n_t.end()
    if text[end : end + 1] == "." and text[end + 1 : end + 2] in (",", ";", ":") and not _NO_PERIOD.search(word):
        return [word + "."], end + 1
    if word.lower() in _SPLIT_AFTER_3 and not _APOSTROPHE_LETTER.match(text, end):
        return [word[:3], word[3:]], end
    return [word], end


def _raw_tokens(text: str) -> list[str]:
    """PTB tokens of ``text`` (whitespace, newlines included, separates tokens), before lower-casing."""
    text = _ENTITY.sub(lambda m: _ENTITIES[m.group()], text)
    if not (text.isascii() and text.isprintable()):
        text = "".join(ch if ch.isascii() and ch.isprintable() else _clean_char(ch) for ch in text)
    tokens: list[str] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        match = _TOKEN.match(text, pos)
        if match is None:
            return tokens
        kind, token, pos = match.lastgroup, match.group(), match.end()
        if kind == "abbr" and not _keeps_period(token[:-1], text, pos):
            kind, token, pos = "word", token[:-1], pos - 1  # the period becomes a token of its own
        if kind in ("word", "compound", "slash", "apos"):
            words, pos = _word(token, text, pos)
            tokens.extend(words)
        elif kind == "clitic" and _CONTRACTION.fullmatch(token):
            tokens.append(token.replace("’", "'"))
        elif kind in ("emoticon", "joined"):
            tokens.append(token.replace("(", "-LRB-").replace(")", "-RRB-").replace(" ", "\xa0"))
        elif kind == "quotes":
            tokens.append(token.translate(_QUOTES))
        elif kind == "dashes":
            tokens.append("--")
        elif kind == "other":
            tokens.append(token.translate(_SYMBOLS))
        else:
            tokens.append(token)


def ptb_tokenize(text: str) -> list[str]:
    """Lower-cased PTB tokens of one caption without punctuation, exactly as pycocoevalcap scores it."""
    return [t for t in (tok.lower() for tok in _raw_tokens(text)) if t not in PUNCTUATIONS]
