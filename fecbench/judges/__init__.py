"""Judges: the models (or rules) that extract events, relate them and rate captions.

A judge is a plugin, registered through the ``fecbench_register_judges`` hook exactly like model
adapters; :mod:`fecbench.judges.base` defines the four judge tasks and their validated shapes.
Nothing heavy is imported here.
"""
