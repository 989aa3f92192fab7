"""One writer per run folder: an advisory lock on ``run.lock`` that dies with the process holding it.

Two ``fecbench run`` (or ``score``, ``merge``) processes writing one folder would run the same
clips twice and race on its files. Every command that writes a run folder holds it with
:func:`hold_run_folder`: an exclusive ``flock`` on ``<folder>/run.lock``. The kernel drops the lock
when the holder's file descriptor closes, so a process that exits, crashes or is killed with
SIGKILL frees the folder at once; nothing has to be cleaned up by hand. The file also says who
holds it (pid, host, start time, command), for the message the next process prints.

Holding is reentrant within a thread (``fecbench.run`` holds the folder across running and
scoring, and both hold it again); another thread or process gets :class:`RunFolderBusy` at once.
Forked children (the decoding workers) close their copy of the descriptor, so a worker that
outlives its killed parent for a moment never keeps the folder held.

A folder that was missing or empty when it was first held is *fresh*: when the command that held it
could not start (:meth:`HeldFolder.discard`), everything it wrote and the folders it created are
removed, so a failed start leaves nothing behind. A folder that already held anything is never
removed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fecbench.errors import ConfigError
from fecbench.runner.spec import public_model_args

LOCK_FILE = "run.lock"

try:  # POSIX
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

except ImportError:  # Windows: lock the first byte; holder details are written after it
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True


_INFO_OFFSET = 0 if "fcntl" in sys.modules else 1


class RunFolderBusy(ConfigError):
    """Another process (or thread) is writing the run folder."""


@dataclass
class HeldFolder:
    """A run folder this thread holds; ``fresh`` when it was missing or empty before."""

    path: Path
    fd: int
    fresh: bool
    created: list[Path] = field(default_factory=list)  # folders this hold made, outermost first
    depth: int = 1
    discarded: bool = False

    def discard(self) -> None:
        """Remove what a command that could not start wrote here; a folder that held a run is kept as it was.

        The lock file and the folders this hold created go when the outermost hold ends.
        """
        if not self.fresh:
            return
        for entry in self.path.iterdir():
            if entry.name == LOCK_FILE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        self.discarded = True


_held: dict[tuple[str, int], HeldFolder] = {}
_held_guard = threading.Lock()


def _close_in_child() -> None:
    """A forked child must not keep the parent's folders held (its copies of the descriptors are closed)."""
    for hold in list(_held.values()):
        with suppress(OSError):
            os.close(hold.fd)
    _held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_in_child)


@contextmanager
def hold_run_folder(
    run_dir: str | Path, *, create: bool = True, discard_on_error: bool = False
) -> Iterator[HeldFolder]:
    """Hold ``run_dir`` for writing (creating it with ``create``) or raise :class:`RunFolderBusy` naming the holder.

    With ``discard_on_error``, an exception leaving the block discards a fresh folder (see :meth:`HeldFolder.discard`).
    """
    run_dir = Path(run_dir)
    key = (os.path.realpath(run_dir), threading.get_ident())
    with _held_guard:
        hold = _held.get(key)
        if hold is not None:
            hold.depth += 1
    if hold is None:
        hold = _acquire(run_dir, create=create)
        with _held_guard:
            _held[key] = hold
    try:
        yield hold
    except BaseException:
        if discard_on_error:
            hold.discard()
        raise
    finally:
        with _held_guard:
            hold.depth -= 1
            last = hold.depth == 0
            if last:
                _held.pop(key, None)
        if last:
            _release(hold)


def _acquire(run_dir: Path, *, create: bool) -> HeldFolder:
    created: list[Path] = []
    lock_path = run_dir / LOCK_FILE
    while True:
        if create:
            created += _make_dirs(run_dir)
        elif not run_dir.is_dir():
            raise ConfigError(f"{run_dir}: no such run folder")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # the folder was removed meanwhile (a holder discarding it): again
            if not create:
                raise ConfigError(f"{run_dir}: no such run folder") from None
            continue
        except OSError as exc:  # not a folder, not writable...
            _remove_dirs(created)
            raise ConfigError(f"{run_dir}: cannot write in this run folder ({exc.strerror or exc})") from exc
        if not _try_lock(fd):
            holder = _read_holder(lock_path)
            os.close(fd)
            _remove_dirs(created)
            raise RunFolderBusy(f"{run_dir} is in use by another fecbench process ({holder}); {_ADVICE}")
        # The file may have been removed between open and lock by a holder discarding the folder: then
        # this lock guards nothing, and the next try makes a new one.
        try:
            same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    fresh = all(entry.name == LOCK_FILE for entry in run_dir.iterdir())
    _write_holder(fd)
    return HeldFolder(path=run_dir, fd=fd, fresh=fresh, created=created)


_ADVICE = "wait for it to end or use another folder (a holder that dies frees the folder at once)"


def _release(hold: HeldFolder) -> None:
    if hold.discarded:
        (hold.path / LOCK_FILE).unlink(missing_ok=True)  # still held: no one can have taken it meanwhile
    os.close(hold.fd)
    if hold.discarded:
        _remove_dirs(hold.created)


def _make_dirs(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents; returns those this call created, outermost first."""
    missing = []
    for folder in [path, *path.parents]:
        if folder.is_dir():
            break
        missing.append(folder)
    created = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(f"{path}: cannot create the run folder ({exc.strerror or exc})") from exc
        created.append(folder)
    return created


def _remove_dirs(created: list[Path]) -> None:
    """Remove the folders a hold created, innermost first, where they are empty."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return


def _write_holder(fd: int) -> None:
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": _command(),
    }
    data = (json.dumps(info) + "\n").encode()
    os.ftruncate(fd, _INFO_OFFSET)
    os.lseek(fd, _INFO_OFFSET, os.SEEK_SET)
    os.write(fd, data)


def _command() -> str:
    """This process's command line as the user typed it (``python -m fecbench.cli run`` reads ``fecbench run``).

    Credentials in ``k=v`` arguments (``--model-args api_key=...``) are masked, as run.json leaves them out.
    """
    if not sys.argv or not sys.argv[0]:
        return "python"
    program = os.path.basename(sys.argv[0])
    if program in ("cli.py", "__main__.py", "fecbench"):
        program = "fecbench"
    return " ".join([program, *map(_masked, sys.argv[1:])])


def _masked(argument: str) -> str:
    parts = []
    for part in argument.split(","):
        key, sep, value = part.partition("=")
        secret = sep and not public_model_args({key.strip(): value})
        parts.append(f"{key}=***" if secret else part)
    return ",".join(parts)


def _read_holder(lock_path: Path) -> str:
    """Who holds the folder, in words; the holder writes it just after locking, so wait a moment for it."""
    deadline = time.monotonic() + 1.0
    while True:
        info = _holder_info(lock_path)
        if info is not None and not _dead_here(info):
            return f"pid {info.get('pid')} on {info.get('host')}, since {info.get('started')}: {info.get('command')}"
        if time.monotonic() > deadline:
            return "holder details not written yet"
        time.sleep(0.05)


def _holder_info(lock_path: Path) -> dict[str, Any] | None:
    try:
        with open(lock_path, "rb") as handle:
            handle.seek(_INFO_OFFSET)
            info = json.loads(handle.read().decode("utf-8", "replace") or "null")
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _dead_here(info: dict[str, Any]) -> bool:
    """True for details left by an earlier holder on this host that has since died (the new one writes soon)."""
    pid = info.get("pid")
    if info.get("host") != socket.gethostname() or not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
