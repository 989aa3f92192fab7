"""Static leaderboard pages rendered from scored run folders (summaries in Python, then jinja2)."""
