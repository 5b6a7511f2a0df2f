"""Child processes the harness starts, and the one way to wait: a condition with a timeout.

Every child runs in its own process group, is registered, and is stopped on exit, on failure, on SIGINT and
SIGTERM (the CLI turns SIGTERM into SystemExit so `finally` blocks run) and, on Linux, when the harness itself
dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

from hgharness.errors import HarnessError

_live: list["ManagedProcess"] = []
BASE_TIMEOUT = float(os.environ.get("HGHARNESS_TIMEOUT", "30"))


def wait_until(predicate, timeout: float = BASE_TIMEOUT, interval: float = 0.05, what: str = "condition"):
    """Poll predicate() until it returns a truthy value; returns it. Raises TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    delay = interval
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.5)


def _die_with_parent():
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class ManagedProcess:
    def __init__(self, argv: list[str], name: str, env: dict | None = None, cwd: str | None = None,
                 stdout_path: str | Path | None = None, stderr_path: str | Path | None = None):
        self.name = name
        self.argv = argv
        self.stdout_path = Path(stdout_path) if stdout_path else None
        self.stderr_path = Path(stderr_path) if stderr_path else None
        out = open(self.stdout_path, "ab") if self.stdout_path else subprocess.DEVNULL
        err = open(self.stderr_path, "ab") if self.stderr_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         start_new_session=True, preexec_fn=_die_with_parent)
        except FileNotFoundError:
            raise HarnessError(f"cannot start {name}: {argv[0]} not found") from None
        finally:
            for f in (out, err):
                if f is not subprocess.DEVNULL:
                    f.close()
        _live.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tree_pids(self) -> list[int]:
        """This process and all its descendants (for tests that prove nothing is left behind)."""
        import psutil

        try:
            top = psutil.Process(self.proc.pid)
            return [top.pid] + [c.pid for c in top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM the whole process group, then SIGKILL what is left after `timeout`."""
        if self in _live:
            _live.remove(self)
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # workers that outlived their master
        _signal_group(self.proc.pid, signal.SIGKILL)
        return self.proc.returncode

    def tail(self, n: int = 20) -> str:
        path = self.stderr_path or self.stdout_path
        return read_log(path, n) if path else ""


def read_log(path: Path, lines: int | None = None) -> str:
    """A log's text ('' when there is none yet); with `lines`, only its last lines."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text if lines is None else "\n".join(text.splitlines()[-lines:])


def terminate_tree(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Stop a child started in its own session and everything it started (xdist workers, chromedriver, the
    browser), even those that left its process group: SIGTERM, then SIGKILL what is left after `timeout`."""
    import psutil

    try:
        tree = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    def signal_all(procs, sig) -> None:
        _signal_group(proc.pid, sig)
        for p in procs:
            try:
                p.send_signal(sig)
            except psutil.NoSuchProcess:
                pass

    signal_all(tree, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    _, alive = psutil.wait_procs(tree, timeout=max(0.1, timeout / 2))
    signal_all(alive, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def _signal_group(pid: int, sig) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all() -> None:
    for p in list(_live):
        p.stop()


atexit.register(stop_all)


GRACE_AFTER_SIGNAL = 30.0


def _watchdog(signum: int) -> None:
    """Whatever happens to the unwinding, the harness is gone GRACE_AFTER_SIGNAL seconds after a signal."""
    import threading

    def last_resort():
        stop_all()
        os._exit(128 + signum)

    t = threading.Timer(GRACE_AFTER_SIGNAL, last_resort)
    t.daemon = True
    t.start()


class Interrupted(KeyboardInterrupt):
    """A signal ended the run; the exit status is 128 + signum (130 Ctrl-C, 143 SIGTERM), as shells expect."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(f"signal {signum}")
        self.signum = int(signum)


def interrupt_status(exc: BaseException) -> int:
    return 128 + getattr(exc, "signum", int(signal.SIGINT))


def install_signal_handlers() -> None:
    """SIGTERM (and SIGHUP) end the harness like Ctrl-C does: unwinding, so children are stopped."""
    def handler(signum, frame):
        _watchdog(signum)
        raise Interrupted(signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):
            pass
