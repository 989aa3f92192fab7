"""The judge check: a known-answer suite from real FEC-Bench reference captions, put to any judge.

``events`` cuts single-event sentences from captions and defines the edits (opposite actions,
synonym swaps); ``suite`` builds the cases with their answers by construction; ``run`` asks the
judge and scores it (per-task accuracy, AutoDQ and TEM error, bootstrap intervals); ``store`` keeps
one result per judge identity beside the verdict cache, for scoring to cite. See docs/judges.md.
"""
