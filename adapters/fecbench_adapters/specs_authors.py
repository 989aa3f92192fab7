"""Registrations (descriptions only, no heavy imports) of one family of built-in adapters."""

from __future__ import annotations

from fecbench import AdapterSpec

SPECS: list[AdapterSpec] = []
