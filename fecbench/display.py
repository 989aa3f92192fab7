"""How scores are written for people, the same on the terminal and on leaderboard pages."""

from __future__ import annotations

#: decimals per metric scale: the Video-ChatGPT ratings (0 to 5) take two, every other metric three
RATING_PREFIX = "vcgpt_"


def decimals(metric: str) -> int:
    return 2 if metric.startswith(RATING_PREFIX) else 3


def format_metric(metric: str, value: float, *, signed: bool = False) -> str:
    """``value`` at its metric's scale, never in scientific notation (CIDEr-D 1.766e-05 reads 0.000).

    ``signed`` writes differences with their sign (``+0.035``); a value that rounds to zero has none.
    """
    places = decimals(metric)
    if round(value, places) == 0:
        return f"{0:.{places}f}"
    return f"{value:+.{places}f}" if signed else f"{value:.{places}f}"
