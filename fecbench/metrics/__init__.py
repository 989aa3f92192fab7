"""FEC-Bench metrics. N-gram metrics (CIDEr-D, ROUGE-L) follow the COCO caption evaluation code exactly,
in pure Python and numpy, so scores match published numbers without Java; see ``ngram.score_ngram``."""

from fecbench.metrics.ngram import score_ngram
from fecbench.metrics.tokenize import ptb_tokenize

__all__ = ["ptb_tokenize", "score_ngram"]
