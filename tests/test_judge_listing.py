"""``fecbench judges`` and ``api.judge_listing()``: every installed judge, its tasks and what it lacks."""

from __future__ import annotations

import json

from conftest import TEST_PLUGINS
from import_probe import imported_by
from test_cli import fecbench

PLUGIN_ENV = {"FECBENCH_PLUGINS": "fecbench_test_judges", "PYTHONPATH": str(TEST_PLUGINS)}


def test_the_listing_names_provider_tasks_and_missing_dependencies() -> None:
    done = fecbench("judges", "--json", env=PLUGIN_ENV)
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["lexical"]["tasks"] == ["extract", "classify", "align"]
    assert rows["lexical"]["provider"] == "fecbench" and rows["lexical"]["dependencies_ok"]
    assert rows["openai"]["tasks"] == ["extract", "classify", "align", "rate"]
    assert rows["openai"]["requires"] == ["openai", "aiohttp"]
    assert rows["keyword-norate"]["provider"] == "fecbench_test_judges"
    assert rows["keyword-norate"]["tasks"] == ["extract", "classify", "align"]
    vllm = rows["vllm"]
    if vllm["missing"]:  # vllm is not installed where the tests run; the hint says how
        assert vllm["install_hint"] == "pip install 'fecbench[vllm]'" and not vllm["dependencies_ok"]
    assert set(rows["openai"]) == {
        "name", "aliases", "provider", "provider_version", "default_model", "tasks", "requires", "missing",
        "dependencies_ok", "install_hint", "summary", "factory",
    }  # fmt: skip


def test_the_table_and_the_details() -> None:
    done = fecbench("judges", env=PLUGIN_ENV)
    assert done.returncode == 0, done.stderr
    lines = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") > 3}
    assert "extract, classify, align" in lines["lexical"] and " ok " in lines["lexical"]
    assert "extract, classify, align, rate" in lines["keyword"] and "fecbench_test_judges" in lines["keyword"]
    details = fecbench("judges", "-v", env=PLUGIN_ENV)
    assert "  factory:    fecbench.judges.lexical:LexicalJudge" in details.stdout.splitlines()
    assert "  tasks:      extract, classify, align" in details.stdout.splitlines()


def test_the_api_listing_matches_and_imports_no_judge_module() -> None:
    code = (
        "from fecbench import api\n"
        "rows = api.judge_listing()\n"
        "assert [r['name'] for r in rows] == sorted(r['name'] for r in rows)\n"
        "assert {'lexical', 'openai', 'transformers', 'vllm'} <= {r['name'] for r in rows}\n"
    )
    assert imported_by(code, ("openai", "torch", "transformers", "vllm", "fecbench.judges.lexical.judge")) == []
