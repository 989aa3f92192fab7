"""The leaderboard: versioned result records (``results/``), tracks, the authors' reported figures, and a
static site rendered from them (summaries computed in Python, then jinja2; see docs/leaderboard.md)."""
