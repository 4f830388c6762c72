"""Child processes that must not outlive their parent (the devnet under `serve`, the history
seeder under `devnet`), even when the parent is killed without a chance to clean up."""
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """A Popen preexec_fn (runs in the child between fork and exec)."""
    with contextlib.suppress(OSError):  # not Linux: the parent's own cleanup still applies
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn_manage(*args: str, niceness: int = 0) -> subprocess.Popen:
    """Run `manage.py <args>` as a child that receives SIGTERM when this process dies;
    `niceness` > 0 for background work that should yield the CPU."""

    def prepare() -> None:
        die_with_parent()
        if niceness:
            os.nice(niceness)

    command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args]
    return subprocess.Popen(command, preexec_fn=prepare)  # noqa: S603 (our manage.py)


def stop(process: subprocess.Popen | None, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
