"""How scores are written for people, the same on the terminal and on leaderboard pages."""

from __future__ import annotations


def format_score(value: float) -> str:
    """Four decimals, or four significant digits for tiny values (CIDEr-D of short captions)."""
    return f"{value:.4f}" if value == 0 or abs(value) >= 0.001 else f"{value:.3e}"
