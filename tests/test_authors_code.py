"""The authors'-code adapters against their authors' code: tiny checkpoints run through `fecbench run --model-env`.

Needs what no CI machine has: a snapshot of each repository (FECBENCH_AUTHORS_SNAPSHOTS, folders
named ``owner+name``) and the model's environment built from it (FECBENCH_AUTHORS_ENVS/NAME, e.g.
by ``fecbench env create NAME --path ...``). Without them each test skips, saying which is missing.
The check itself is scripts/check_authors_code.py: tiny checkpoint from the authors' classes, a run
on the demo set, batched == unbatched, resume after SIGKILL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAPSHOTS = {
    "videollama2": "DAMO-NLP-SG+VideoLLaMA2",
    "humanomni": "HumanMLLM+HumanOmni",
    "sharegpt4video": "ShareGPT4Omni+ShareGPT4Video",
}


def _where(name: str) -> tuple[Path, Path]:
    snapshots, envs = os.environ.get("FECBENCH_AUTHORS_SNAPSHOTS"), os.environ.get("FECBENCH_AUTHORS_ENVS")
    if not snapshots or not (Path(snapshots) / SNAPSHOTS[name]).exists():
        pytest.skip(f"no snapshot of {SNAPSHOTS[name]}: set FECBENCH_AUTHORS_SNAPSHOTS to a folder holding one")
    if not envs or not (Path(envs) / name / "bin" / "python").exists():
        pytest.skip(
            f"no {name} environment: set FECBENCH_AUTHORS_ENVS to a folder holding {name}/ (fecbench env create)"
        )
    return Path(snapshots), Path(envs)


@pytest.mark.parametrize("name", list(SNAPSHOTS))
def test_the_adapter_runs_its_authors_code_end_to_end(name: str, tmp_path: Path) -> None:
    snapshots, envs = _where(name)
    command = [sys.executable, str(REPO / "scripts" / "check_authors_code.py"), str(snapshots)]
    command += ["--envs", str(envs), "--work", str(tmp_path), "--only", name]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, line
    assert line.startswith(f"{name}: ok"), line
    assert "batched==unbatched yes" in line, line
    assert "resume yes" in line, line


def test_a_snapshot_missing_large_blobs_still_gives_the_commits_code(tmp_path: Path) -> None:
    """Snapshots often leave out big assets; a plain checkout stops at the first missing blob, the export does not."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_authors_code", REPO / "scripts" / "check_authors_code.py")
    check = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = check  # its dataclasses look their module up there
    spec.loader.exec_module(check)
    repo = tmp_path / "snap"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "model.py").write_text("WEIGHTS = 1\n")
    (repo / "demo.mp4").write_bytes(b"big video")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)

    def rev(name: str) -> str:
        return subprocess.run([*git, "rev-parse", name], capture_output=True, text=True, check=True).stdout.strip()

    commit, blob = rev("HEAD"), rev("HEAD:demo.mp4")
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    plain = subprocess.run(["git", "clone", "-q", str(repo), str(tmp_path / "plain")], capture_output=True)
    assert plain.returncode != 0  # what `env create --source` meets with such a snapshot
    out = check.export_tree(repo, commit, tmp_path / "export")
    assert (out / "pkg" / "model.py").read_text() == "WEIGHTS = 1\n"
    assert not (out / "demo.mp4").exists() and not (out / ".git").exists()
