"""The command line as a user meets it: light imports, listings, exit codes and messages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import TEST_PLUGINS, fec_bench_test_json_path
from import_probe import imported_by

from fecbench import __version__
from fecbench.display import format_metric


def fecbench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "fecbench.cli", *args], capture_output=True, text=True, env=full_env, timeout=300
    )


def test_import_and_help_never_load_heavy_frameworks() -> None:
    code = (
        "import fecbench, fecbench.cli\n"
        "from typer.testing import CliRunner\n"
        "CliRunner().invoke(fecbench.cli.app, ['--help'])\n"
        "CliRunner().invoke(fecbench.cli.app, ['run', '--help'])\n"
        "CliRunner().invoke(fecbench.cli.app, ['models'])\n"
    )
    assert imported_by(code, ("torch", "transformers", "vllm", "cv2")) == []


def test_help_lists_the_commands() -> None:
    done = fecbench("--help")
    assert done.returncode == 0
    for command in ("run", "score", "models", "data", "demo", "leaderboard"):
        assert command in done.stdout


def test_models_lists_builtin_and_plugin_adapters_with_dependency_state() -> None:
    env = {"FECBENCH_PLUGINS": "fecbench_test_adapters", "PYTHONPATH": str(TEST_PLUGINS)}
    done = fecbench("models", env=env)
    assert done.returncode == 0, done.stderr
    lines = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") > 3}
    assert "baseline" in lines and f"fecbench {__version__}" in lines["baseline"] and " ok " in lines["baseline"]
    qwen = next(v for k, v in lines.items() if k.startswith("qwen2-vl"))
    assert "Qwen/Qwen2-VL-7B-Instruct" in qwen
    assert "missing fecbench_no_such_package" in lines["needs-missing"]
    assert "  needs-missing: pip install fecbench-no-such-package" in done.stdout.splitlines()
    assert "fecbench_test_adapters" in lines["frame-stats"]


def test_user_errors_exit_2_with_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": "1", "video": "A/1.mp4"}]')
    done = fecbench("run", "--model", "baseline", "--annotations", str(bad))
    assert done.returncode == 2
    assert "record 0 (id '1'): field 'caption' must be a non-empty string (missing)" in done.stderr
    assert "Traceback" not in done.stderr
    done = fecbench("run", "--model", "no-such-model", "--annotations", str(bad))
    assert done.returncode == 2 and "unknown model 'no-such-model'" in done.stderr
    done = fecbench("run", "--model", "baseline", "--model-args", "oops")
    assert done.returncode == 2 and "'oops' is not of the form key=value" in done.stderr
    done = fecbench("score", str(tmp_path))
    assert done.returncode == 2 and "not a run folder (no run.json)" in done.stderr
    done = fecbench("run", "--model", "baseline")  # no --annotations, offline, nothing cached
    assert done.returncode == 2 and "pass --annotations /path/to/test.json" in done.stderr


def test_failed_clips_exit_1_with_a_summary(tmp_path: Path, clip_set: Path) -> None:
    (clip_set.parent / "videos" / "SRCA" / "clips" / "clip_000.mp4").unlink()
    env = {"FECBENCH_PLUGINS": "fecbench_test_adapters", "PYTHONPATH": str(TEST_PLUGINS)}
    args = ["run", "--model", "frame-stats", "--annotations", str(clip_set)]
    done = fecbench(*args, "--video-root", str(clip_set.parent / "videos"), "--output", str(tmp_path / "r"), env=env)
    assert done.returncode == 1
    assert "1 of 6 clips failed" in done.stderr and "1 x video not found" in done.stderr
    scores = json.loads((tmp_path / "r" / "scores.json").read_text())
    assert (scores["n"], scores["n_failed"], scores["failures"]) == (5, 1, {"video not found": 1})


def test_data_check_command(tmp_path: Path, clip_set: Path) -> None:
    (clip_set.parent / "videos" / "SRCB" / "clips" / "clip_001.mp4").write_bytes(b"")
    done = fecbench("data", "check", "--annotations", str(clip_set), "--video-root", str(clip_set.parent / "videos"))
    assert done.returncode == 1
    rows = [line.replace("│", " ").split() for line in done.stdout.splitlines() if "│" in line]
    assert ["SRCA", "3", "3", "0", "0", "3"] in rows
    assert ["SRCB", "3", "3", "0", "1", "2"] in rows
    assert "clip_001.mp4: empty file" in done.stdout


def test_score_prints_every_number_at_its_metric_scale(tmp_path: Path) -> None:
    """`fecbench score` writes its table as `compare` and the site do: three decimals, two for the ratings,
    never scientific notation (a terse caption's CIDEr-D, about 1e-25, once read 8.134e-26)."""
    clips = json.loads(fec_bench_test_json_path().read_text(encoding="utf-8"))[:20]
    annotations, predictions = tmp_path / "test.json", tmp_path / "predictions.jsonl"
    annotations.write_text(json.dumps(clips), encoding="utf-8")
    terse = "The person smiles and then blinks."
    predictions.write_text("".join(json.dumps({"id": c["id"], "prediction": terse}) + "\n" for c in clips))
    env = {"FECBENCH_PLUGINS": "fecbench_test_judges", "PYTHONPATH": str(TEST_PLUGINS)}
    args = ["--annotations", str(annotations), "--out", str(tmp_path / "run"), "--judge", "keyword"]
    done = fecbench("score", str(predictions), *args, "--bootstrap", "200", env=env)
    assert done.returncode == 0, done.stderr
    scores = json.loads((tmp_path / "run" / "scores.json").read_text())["metrics"]
    assert 0 < scores["cider"]["value"] < 1e-10 and "vcgpt_context" in scores  # a tiny value and a rating
    rows = {r[0]: r[2:5] for r in (line.replace("│", " ").split() for line in done.stdout.splitlines()) if r}
    for name, metric in scores.items():
        low, high = (format_metric(name, bound) for bound in metric["ci95"])
        assert rows[name] == [format_metric(name, metric["value"]), f"[{low},", f"{high}]"], (name, rows[name])
    assert rows["cider"][0] == "0.000" and len(rows["vcgpt_context"][0].split(".")[1]) == 2
    assert re.search(r"\d[eE][+-]?\d", done.stdout) is None  # no number in scientific notation
