"""Benchmark data: annotation files, where their videos live, the default FEC-Bench set."""
