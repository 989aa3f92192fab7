"""Repeat the authors'-code check: each model's own environment, a tiny checkpoint, and `fecbench run` through it.

    python scripts/check_authors_code.py SNAPSHOTS [--work DIR] [--envs DIR] [--only NAME ...]

SNAPSHOTS (or the environment variable FECBENCH_AUTHORS_SNAPSHOTS) is a folder of repository
snapshots named ``owner+name`` (a git directory, or a folder holding one as ``repo``), e.g.
``DAMO-NLP-SG+VideoLLaMA2``. For each model with a snapshot:

1. its environment: ``fecbench env create NAME --source ...`` into ENVS/NAME, unless one is there;
2. a tiny random-weight checkpoint built from the authors' own classes, inside that environment
   (``tests/authors_tiny/build_NAME.py``);
3. ``fecbench run --model NAME --model-env ENVS/NAME`` on the demo set (``fecbench demo``), CPU;
4. the same run with ``--batch-size 4``: predictions must be identical;
5. a third run killed (SIGKILL) after its first finished clip, then the same command again: it must
   resume and end with the first run's predictions.

One line per model. Tiny random weights prove the code path (loading, preprocessing, prompt,
generation, the worker), not the scores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILDERS = REPO / "tests" / "authors_tiny"


@dataclass(frozen=True)
class ModelCheck:
    """How to check one adapter: its snapshot's name, its builder, and what its run needs."""

    name: str
    snapshot: str  # owner+name
    code_dir_env: str | None = None  # a repository that is not a package: its clone is on PYTHONPATH / code_dir
    hub_cache: bool = False  # the builder writes a hub cache (TINY/hub) the model loads a fixed hub id from
    extra_args: dict[str, str] = field(default_factory=dict)  # model args, {tiny} standing for the checkpoint

    def model_args(self, tiny: Path, clone: Path | None) -> str:
        args = {"pretrained": str(tiny), "device": "cpu"}
        args.update({k: v.replace("{tiny}", str(tiny)) for k, v in self.extra_args.items()})
        if self.code_dir_env and clone is not None:
            args["code_dir"] = str(clone)
        return ",".join(f"{k}={v}" for k, v in args.items())

    def environment(self, tiny: Path) -> dict[str, str]:
        if not self.hub_cache:
            return {}
        return {"HF_HUB_CACHE": str(tiny / "hub"), "HF_HUB_OFFLINE": "1"}


CHECKS = (
    ModelCheck("videollama2", "DAMO-NLP-SG+VideoLLaMA2"),
    ModelCheck(
        "humanomni",
        "HumanMLLM+HumanOmni",
        code_dir_env="FECBENCH_HUMANOMNI_CODE",
        hub_cache=True,
        extra_args={"bert_tokenizer": "{tiny}/bert-base-uncased"},
    ),
    ModelCheck("sharegpt4video", "ShareGPT4Omni+ShareGPT4Video"),
)


class CheckFailed(Exception):
    """One step of one model's check failed; the message says which and why."""


def run(command: list[str], *, env: dict[str, str] | None = None, timeout: float = 1800, step: str) -> str:
    done = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise CheckFailed(f"{step} failed (exit {done.returncode}): {' | '.join(tail)}")
    return done.stdout


def find_snapshot(root: Path, check: ModelCheck) -> Path | None:
    for candidate in (root / check.snapshot / "repo", root / check.snapshot):
        if (candidate / "HEAD").is_file() or (candidate / ".git").exists():
            return candidate
    return None


def export_tree(snapshot: Path, commit: str, target: Path) -> Path:
    """The commit's files as a plain folder, leaving out blobs the snapshot lacks (large assets often are).

    ``fecbench env create --source`` clones a git snapshot, and a checkout stops at the first missing
    blob; the files a model needs are all there, so the check hands it this folder instead.
    """
    if target.exists():
        shutil.rmtree(target)
    git = ["git", "-C", str(target)]
    run(["git", "clone", "--quiet", "--no-checkout", str(snapshot), str(target)], step="git clone")
    listing = run([*git, "ls-tree", "-r", commit], step="git ls-tree")
    missing = []
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        kind, sha = meta.split()[1:3]
        if kind == "blob" and subprocess.run([*git, "cat-file", "-e", sha], capture_output=True).returncode != 0:
            missing.append(path)
    run([*git, "sparse-checkout", "set", "--no-cone", "/*", *(f"!/{p}" for p in missing)], step="sparse-checkout")
    run([*git, "checkout", "--quiet", "--detach", commit], step=f"git checkout {commit}")
    shutil.rmtree(target / ".git")
    return target


def fecbench(*args: str, env: dict[str, str] | None = None, timeout: float = 1800, step: str) -> str:
    return run([sys.executable, "-m", "fecbench.cli", *args], env=env, timeout=timeout, step=step)


def ensure_env(check: ModelCheck, snapshot: Path, envs: Path, work: Path) -> tuple[Path, str]:
    """The model's environment (created unless present) and how it came to be."""
    env = envs / check.name
    if (env / "bin" / "python").exists():
        return env, "reused"
    sys.path.insert(0, str(REPO / "adapters"))
    from fecbench.plugins import get_adapter

    recipe = get_adapter(check.name).spec.recipe
    source = export_tree(snapshot, recipe.commit, work / "src" / check.name)
    fecbench("env", "create", check.name, "--source", str(source), "--path", str(env), timeout=3600, step="env create")
    return env, "created"


def clone_of(check: ModelCheck, env: Path) -> Path | None:
    """Where the authors' code is, for repositories that are not packages (from the env's manifest)."""
    if not check.code_dir_env:
        return None
    manifest = env / "fecbench-env.json"
    if manifest.is_file():
        variables = json.loads(manifest.read_text()).get("environment", {})
        if check.code_dir_env in variables:
            return Path(variables[check.code_dir_env])
    given = os.environ.get(check.code_dir_env)
    if not given:
        raise CheckFailed(f"no {manifest.name} in {env} and {check.code_dir_env} is not set: where is the clone?")
    return Path(given)


def versions(env: Path) -> str:
    code = "import sys, torch, transformers, numpy; print(sys.version.split()[0], torch.__version__, "
    code += "transformers.__version__, numpy.__version__)"
    py, torch, tf, np = run([str(env / "bin" / "python"), "-c", code], step="versions").split()
    return f"Python {py}, torch {torch}, transformers {tf}, numpy {np}"


def predictions(run_dir: Path) -> dict[str, tuple[str, str]]:
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    return {r["id"]: (r["status"], r["prediction"]) for r in rows}


def finished(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store, timeout=5) as db:
            return db.execute("SELECT count(*) FROM clips WHERE status='ok'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def check_model(check: ModelCheck, snapshot: Path, envs: Path, work: Path, demo: Path) -> str:
    started = time.monotonic()
    env, how = ensure_env(check, snapshot, envs, work)
    clone = clone_of(check, env)
    tiny = work / "tiny" / check.name
    builder_env = {"PYTHONPATH": str(clone)} if clone else {}
    builder = [str(env / "bin" / "python"), str(BUILDERS / f"build_{check.name}.py"), str(tiny)]
    run(builder, env=builder_env, timeout=900, step="tiny checkpoint")
    base = ["run", "--model", check.name, "--model-env", str(env), "--model-args", check.model_args(tiny, clone)]
    base += ["--annotations", str(demo / "annotations.json"), "--video-root", str(demo / "videos")]
    base += ["--max-new-tokens", "12", "--no-score"]
    runs = work / "runs" / check.name
    shutil.rmtree(runs, ignore_errors=True)
    extra = check.environment(tiny)
    fecbench(*base, "--output", str(runs / "one"), "--batch-size", "1", env=extra, step="run")
    one = predictions(runs / "one")
    failed = [i for i, (status, _) in one.items() if status != "ok"]
    if failed:
        raise CheckFailed(f"run: clips {failed} failed (see {runs / 'one' / 'predictions.jsonl'})")
    fecbench(*base, "--output", str(runs / "four"), "--batch-size", "4", env=extra, step="batched run")
    batched = "yes" if predictions(runs / "four") == one else "NO"
    resumed = check_resume(base, runs / "killed", extra, one)
    took = time.monotonic() - started
    return (
        f"{check.name}: ok | env {how}: {versions(env)} | run {len(one)}/{len(one)} clips | "
        f"batched==unbatched {batched} | {resumed} | {took:.0f} s"
    )


def check_resume(base: list[str], run_dir: Path, extra: dict[str, str], expected: dict) -> str:
    command = [sys.executable, "-m", "fecbench.cli", *base, "--output", str(run_dir), "--batch-size", "1"]
    victim = subprocess.Popen(
        command,
        env={**os.environ, **extra},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 900
    while finished(run_dir / "store.sqlite") < 1:
        if victim.poll() is not None or time.monotonic() > deadline:
            victim.kill()
            raise CheckFailed("resume: the run to be killed ended or stalled before its first clip")
        time.sleep(0.05)
    os.killpg(victim.pid, signal.SIGKILL)  # the driver and its worker, as a crash would
    victim.wait()
    before = finished(run_dir / "store.sqlite")
    if before >= len(expected):
        return f"resume not tested (all {before} clips finished before the kill)"
    fecbench(*base, "--output", str(run_dir), "--batch-size", "1", env=extra, step="resumed run")
    same = "yes" if predictions(run_dir) == expected else "NO (predictions differ)"
    return f"resume {same} (SIGKILL after {before}/{len(expected)} clips)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshots", nargs="?", default=os.environ.get("FECBENCH_AUTHORS_SNAPSHOTS"))
    parser.add_argument("--work", type=Path, default=Path("authors-check"), help="tiny checkpoints, demo set, runs")
    parser.add_argument("--envs", type=Path, default=None, help="model environments (default: WORK/envs)")
    parser.add_argument("--only", nargs="*", default=None, help="check only these adapters")
    args = parser.parse_args(argv)
    if not args.snapshots:
        parser.error("name the folder of snapshots (or set FECBENCH_AUTHORS_SNAPSHOTS)")
    root, work = Path(args.snapshots), args.work.resolve()
    envs = (args.envs or work / "envs").resolve()
    demo = work / "demo"
    if not (demo / "annotations.json").exists():
        fecbench("demo", str(demo), "--clips", "4", step="demo set")
    failures = 0
    for check in CHECKS:
        if args.only and check.name not in args.only:
            continue
        snapshot = find_snapshot(root, check)
        if snapshot is None:
            print(f"{check.name}: skipped | no snapshot {check.snapshot} in {root}", flush=True)
            continue
        try:
            print(check_model(check, snapshot, envs, work, demo), flush=True)
        except (CheckFailed, subprocess.TimeoutExpired) as exc:
            failures += 1
            print(f"{check.name}: FAILED | {exc}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
