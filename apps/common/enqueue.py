"""Heavy work after a commit (consensus refresh) goes to Celery in production. Without a
worker it runs in this process: in the one-process `serve`, on a background thread that
coalesces what piles up (so the sync ticks never wait for it); in tests and on a laptop
without a broker (OP_RUN_TASKS_INLINE), right here."""
import logging
import threading
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)


class Coalescer:
    """Collects the ids asked for and runs `task(sorted(ids))` at most every `interval` s."""

    def __init__(self, task: Any, interval: float = 0.3) -> None:
        self.task = task
        self.interval = interval
        self._pending: set = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, ids: Iterable) -> None:
        with self._lock:
            self._pending.update(ids)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name=f"coalesce:{self.task.name}")
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                ids, self._pending = self._pending, set()
            if ids:
                try:
                    self.task(sorted(ids))
                except Exception:
                    logger.exception("%s failed", self.task.name)
                finally:
                    close_old_connections()
            self._wake.wait(self.interval)  # let the next ticks' ids pile up


_coalescers: dict[str, Coalescer] = {}


def enqueue(task: Any, ids: list) -> None:
    """Run `task(ids)` — by Celery, on the background coalescer, or inline (see above)."""
    mode = "inline" if settings.OP_RUN_TASKS_INLINE else settings.OP_TASKS_MODE
    if mode == "inline":
        task(ids)
    elif mode == "background":
        _coalescers.setdefault(task.name, Coalescer(task)).add(ids)
    else:
        task.delay(ids)
