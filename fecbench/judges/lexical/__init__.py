"""The offline ``lexical`` judge: events from caption structure and a facial-action vocabulary,
relations from lemmas, synonyms, antonyms and negation. No model, no download, deterministic.

See docs/lexical-judge.md. Modules: ``vocabulary`` (the word tables), ``lexicon`` (inflections),
``parse`` (one clause -> a canonical frame), ``render`` (one piece -> an event sentence),
``extract`` (a caption -> events), ``relate`` (frames -> entailment / neutral / contradiction),
``judge`` (the Judge interface), ``embeddings`` (the optional MiniLM similarity).
"""

from fecbench.judges.lexical.judge import LexicalJudge

__all__ = ["LexicalJudge"]
