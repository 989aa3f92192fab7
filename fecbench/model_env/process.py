"""The driver's side of one worker process: start it, talk to it, notice at once when it dies, end its tree.

The worker runs in a process group of its own (a new session), so terminal signals reach only the
driver, which decides, and ending the worker ends everything the model's code started. The
lifecycle follows a local-server launcher's (inspect_ai's ``local_server``): wait for a ready
handshake while checking that the child is still alive, fail with its last stderr lines when it
exits, kill the tree when done or when starting fails; here the handshake comes over the pipe
rather than by polling a port.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import logging
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

from fecbench.model_env import protocol
from fecbench.model_env.interpreter import ModelEnv

log = logging.getLogger("fecbench.model_env")

#: Variables the worker reads: the driver's pid, and whether to arm the kernel's parent-death signal.
PARENT_ENV = "FECBENCH_WORKER_PARENT"
PDEATHSIG_ENV = "FECBENCH_WORKER_PDEATHSIG"
STDERR_TAIL = 40
#: ``python -m fecbench.worker``, minus the current directory on ``sys.path`` (which ``-m`` and ``-c``
#: put first): a folder named like a package in the directory the run starts from must not shadow the
#: environment's own fecbench or the model's packages.
WORKER_CODE = (
    "import sys\nif sys.path and sys.path[0] == '': del sys.path[0]\nfrom fecbench.worker import main\nsys.exit(main())"
)
_EOF = object()


class WorkerDied(Exception):
    """The worker exited (or closed its channel); the message has its exit status and last stderr lines."""

    def __init__(self, message: str, stderr_tail: list[str]) -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


class WorkerProcess:
    """One running ``python -m fecbench.worker``: framed messages in and out, stderr to the log."""

    def __init__(self, env: ModelEnv) -> None:
        self.env = env
        environ = {**env.worker_environment(), **os.environ}  # what the user set wins over the manifest
        environ.pop("PYTHONHOME", None)  # the driver's interpreter home is not the model's
        environ[PARENT_ENV] = str(os.getpid())
        # The kernel's parent-death signal follows the thread that started the child, so it is armed
        # only for a worker started from the main thread (which lives as long as the driver).
        environ[PDEATHSIG_ENV] = "1" if threading.current_thread() is threading.main_thread() else "0"
        try:
            self.proc = subprocess.Popen(
                [env.python, "-c", WORKER_CODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=environ,
                start_new_session=True,
            )
        except OSError as exc:
            from fecbench.errors import ConfigError

            raise ConfigError(f"--model-env {env.given}: cannot start {env.python} ({exc})") from exc
        self.pid = self.proc.pid
        self.busy = False
        self._tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._log: IO[str] | None = None
        if env.log_path:
            Path(env.log_path).parent.mkdir(parents=True, exist_ok=True)
            self._log = open(env.log_path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115 - closed in kill()
            self._log.write(f"--- fecbench model worker {self.pid}: {env.python} -m fecbench.worker\n")
            self._log.flush()
        self._stderr_thread = threading.Thread(target=self._pump_stderr, name="fecbench-worker-stderr", daemon=True)
        self._reader_thread = threading.Thread(target=self._pump_messages, name="fecbench-worker-reader", daemon=True)
        self._stderr_thread.start()
        self._reader_thread.start()
        atexit.register(self.kill)

    # -- background pumps ------------------------------------------------------------------------

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self._tail.append(line)
            log.debug("worker %s: %s", self.pid, line)
            if self._log is not None:
                try:
                    self._log.write(line + "\n")
                    self._log.flush()
                except ValueError:  # closed by kill() meanwhile
                    break

    def _pump_messages(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                message = protocol.receive(self.proc.stdout)
                if message is None:
                    break
                self._inbox.put(message)
        except (protocol.ProtocolError, OSError, ValueError) as exc:
            self._tail.append(f"(fecbench: the worker's channel broke: {exc})")
        self._inbox.put(_EOF)

    # -- talking -----------------------------------------------------------------------------------

    def send(self, message: dict[str, Any], doing: str) -> None:
        assert self.proc.stdin is not None
        try:
            protocol.send(self.proc.stdin, message)
        except (BrokenPipeError, OSError, ValueError):
            raise self._died(doing) from None

    def receive(self, doing: str, timeout: float | None = None) -> dict[str, Any]:
        """The worker's next message; :class:`WorkerDied` as soon as it exits, TimeoutError after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                message = self._inbox.get(timeout=0.2)
            except queue.Empty:
                if _has_exited(self.proc):
                    # exited; its channel may still be held open by a process it started: stop waiting
                    self._reader_thread.join(timeout=1.0)
                    try:
                        message = self._inbox.get_nowait()
                    except queue.Empty:
                        raise self._died(doing) from None
                elif deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"the model worker sent nothing for {timeout:.0f} s while {doing}") from None
                else:
                    continue
            if message is _EOF:
                raise self._died(doing)
            return message

    def call(self, message: dict[str, Any], doing: str) -> dict[str, Any]:
        """Send a request and wait for its answer; ``busy`` meanwhile (an interrupted call ends the worker)."""
        self.busy = True
        self.send(message, doing)
        reply = self.receive(doing)
        self.busy = False
        return reply

    def stderr_tail(self, lines: int = 8) -> list[str]:
        self._stderr_thread.join(timeout=0.5)  # the last lines of a worker that just died
        return [line for line in list(self._tail) if line.strip()][-lines:]

    def _died(self, doing: str) -> WorkerDied:
        _wait_exit(self.proc, 5.0)
        exited = _has_exited(self.proc)
        tail = self.stderr_tail()
        self.kill()  # its group first (whatever it started), then reap it
        code = self.proc.returncode if exited else None
        if code is None:
            status = "closed its channel"
        elif code < 0:
            status = f"was killed by {_signal_name(-code)}"
        else:
            status = f"exited with code {code}"
        where = f"; full log: {self.env.log_path}" if self.env.log_path else ""
        last = f"; its last stderr lines: {' | '.join(tail)}" if tail else "; it wrote nothing to stderr"
        return WorkerDied(
            f"the model worker (pid {self.pid}, {self.env.python}) {status} while {doing}{last}{where}", tail
        )

    # -- ending ------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Close the adapter in the worker and let it exit; a busy or unresponsive worker is killed."""
        if not _has_exited(self.proc) and not self.busy:
            try:
                self.send({"op": "close"}, "closing")
                self.receive("closing the model", timeout=self.env.close_timeout)
                _wait_exit(self.proc, self.env.close_timeout)
            except (WorkerDied, TimeoutError):
                pass
        self.kill()

    def kill(self) -> None:
        """End the worker's process group (the worker and all it started), then reap it. Idempotent."""
        if self.proc.returncode is None:  # not reaped yet, so the group id still names this worker's group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)  # its own session: the worker and everything it started
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.warning("model worker %s did not exit after SIGKILL", self.pid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self._stderr_thread.join(timeout=1.0)
        if self._log is not None:
            self._log.close()
            self._log = None
        atexit.unregister(self.kill)


def _has_exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether ``proc`` has exited, without reaping it where the OS allows (so its group can still be killed)."""
    if proc.returncode is not None:
        return True
    waitid = getattr(os, "waitid", None)
    if waitid is None:  # no waitid (macOS): reaping is the only way to ask
        return proc.poll() is not None
    try:
        return waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait up to ``timeout`` seconds for ``proc`` to exit, without reaping it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not _has_exited(proc):
        time.sleep(0.02)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
