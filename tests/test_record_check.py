"""`fecbench leaderboard check` and the record pull-request script (``scripts/check-records.sh``).

The command is what a contributor runs before opening a pull request, and what the records workflow runs on
the records a pull request changes; the script adds the rebuilt site and the pages the merge would change.
Both run here on copies of the committed records, in scratch git repositories where git is involved.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
DEMO_RECORD = "runs/baseline-offline-demo.json"
BIN = Path(sys.executable).parent


def fecbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fecbench.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "300"},
    )


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def another_run(name: str, run_id: str) -> dict[str, Any]:
    """A second valid run record: the demo record under another name and run id."""
    record = json.loads((RESULTS / DEMO_RECORD).read_text(encoding="utf-8"))
    record.update(name=name, run_id=run_id)
    return record


def write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def test_check_prints_one_line_per_valid_file(tmp_path: Path) -> None:
    done = fecbench("leaderboard", "check", str(RESULTS), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    files = sorted(RESULTS.rglob("*.json"))
    assert len(lines) == len(files) + 1 and lines[-1] == f"{len(files)} record files checked, all valid"
    demo = next(line for line in lines if line.startswith(str(RESULTS / DEMO_RECORD)))
    assert ': ok: run "baseline on the offline demo set (not FEC-Bench)"' in demo
    assert "12 of 12 clips scored" in demo and "other settings: another annotation set" in demo
    paper = next(line for line in lines if "fec-bench-paper.json" in line)
    assert "18 rows, 8 metrics (shown beside runs, never ranked)" in paper


def test_a_bad_record_fails_with_exit_2_naming_the_file_and_field(tmp_path: Path) -> None:
    """Every file is checked, the good ones still get their line, the bad ones their field; exit 2."""
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    bad = json.loads((results / DEMO_RECORD).read_text(encoding="utf-8"))
    bad["metrics"]["tem"]["value"] = 7.5
    write(results / "runs" / "tem-7.5.json", bad)
    counts = another_run("counts", "c0ffee")
    counts["n_failed"] = 99
    write(results / "runs" / "counts.json", counts)
    done = fecbench("leaderboard", "check", "results", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "error: results/runs/tem-7.5.json: invalid run record:\n" in done.stderr
    assert "  metrics.tem.value: 7.5 is outside TEM's scale 0 to 1\n" in done.stderr
    assert "  metrics.tem.ci95: [0.568" in done.stderr  # every problem of the file, each with its field
    assert "error: results/runs/counts.json: invalid run record:" in done.stderr
    assert "n_failed: n 12 + n_failed 99 is 111, not n_total 12" in done.stderr
    assert done.stderr.strip().splitlines()[-1] == "2 of 5 record files are invalid"
    assert f"results/{DEMO_RECORD}: ok:" in done.stdout


def test_a_path_that_is_not_there_is_exit_2(tmp_path: Path) -> None:
    done = fecbench("leaderboard", "check", "no-such-folder", cwd=tmp_path)
    assert done.returncode == 2 and "no-such-folder: no such file or folder" in done.stderr


@pytest.fixture
def scratch_repo(tmp_path: Path) -> tuple[Path, str]:
    """A git repository holding a copy of results/ and the record script, with one commit (its id returned)."""
    repo = tmp_path / "repo"
    shutil.copytree(RESULTS, repo / "results")
    (repo / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "check-records.sh", repo / "scripts" / "check-records.sh")
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "base", cwd=repo)
    return repo, git("rev-parse", "HEAD", cwd=repo).strip()


def test_changed_since_checks_only_what_changed(scratch_repo: tuple[Path, str]) -> None:
    repo, base = scratch_repo
    write(repo / "results" / "runs" / "committed.json", another_run("committed", "aaaaaaaaaaaa"))
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "a record", cwd=repo)
    write(repo / "results" / "runs" / "untracked.json", another_run("untracked", "bbbbbbbbbbbb"))
    (repo / "results" / "reported" / "humanomni-readme.json").unlink()  # a removed record is not checked
    done = fecbench("leaderboard", "check", "results", "--changed-since", base, cwd=repo)
    assert done.returncode == 0, done.stderr
    checked = sorted(line.split(": ok:")[0] for line in done.stdout.splitlines() if ": ok:" in line)
    assert checked == ["results/runs/committed.json", "results/runs/untracked.json"]
    assert done.stdout.splitlines()[-1] == f"2 record files changed since {base} checked, all valid"
    unknown = fecbench("leaderboard", "check", "results", "--changed-since", "no-such-ref", cwd=repo)
    assert unknown.returncode == 2 and "--changed-since no-such-ref: no such commit" in unknown.stderr


def record_script(repo: Path, base: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "COLUMNS": "300"}
    return subprocess.run(
        ["bash", "scripts/check-records.sh", base, str(out)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_record_script_previews_the_changed_pages(scratch_repo: tuple[Path, str], tmp_path: Path) -> None:
    """The records workflow's one step: check the changed records, build the site, keep the pages that change."""
    repo, base = scratch_repo
    write(repo / "results" / "runs" / "new-lab.json", another_run("New lab model", "0123456789ab"))
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "add a record", cwd=repo)
    out = tmp_path / "preview"
    done = record_script(repo, base, out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'results/runs/new-lab.json: ok: run "New lab model"' in done.stdout
    changes = (out / "CHANGES.txt").read_text(encoding="utf-8").splitlines()
    assert "added runs/new-lab-model-0123456789ab.html" in changes
    assert "changed index.html" in changes and "changed charts.html" in changes
    changed = sorted(str(p.relative_to(out / "changed")) for p in (out / "changed").rglob("*.html"))
    assert changed == sorted(line.split(" ", 1)[1] for line in changes)
    assert (out / "site" / "index.html").is_file() and (out / "site" / "metrics.html").is_file()

    bad = another_run("Broken", "ba0ba0ba0ba0")
    bad["per_source"][0]["n_failed"] = 3
    write(repo / "results" / "runs" / "broken.json", bad)
    refused = record_script(repo, base, out)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "error: results/runs/broken.json: invalid run record:\n  per_source[0].n_failed: n 12" in refused.stderr
    assert "new-lab.json: ok" in refused.stdout  # the other changed record is still checked


def test_record_script_with_nothing_changed_says_so(scratch_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, base = scratch_repo
    done = record_script(repo, base, tmp_path / "preview")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no record file changed since" in done.stdout and "no published page changes" in done.stdout
    assert not list((tmp_path / "preview" / "changed").iterdir())


def test_a_scored_run_folder_is_checked_as_its_record_would_be(tmp_path: Path) -> None:
    """A run folder (one with a failed clip) is turned into its record and checked; nothing is written."""
    from conftest import fec_bench_test_json_path
    from test_leaderboard import fec_clips, make_run, strong

    run_dir = make_run(tmp_path / "runs", "lab", fec_clips(fec_bench_test_json_path(), 1), strong, judge=None)
    done = fecbench("leaderboard", "check", str(run_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    line = done.stdout.splitlines()[0]
    assert line.startswith(f"{run_dir}: ok: run ") and "6 of 7 clips scored, 1 failed" in line and "no judge" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
