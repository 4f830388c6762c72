"""The in-process scheduler used by `manage.py serve` (one process, no broker).

One daemon thread per periodic task, so a slow task never delays the others.
"""
import logging
import threading
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

from oracle_platform.schedule import PeriodicTask

logger = logging.getLogger(__name__)


class InProcessScheduler:
    def __init__(self, tasks: Iterable[PeriodicTask] | None = None) -> None:
        self.tasks = tuple(settings.OP_PERIODIC_TASKS if tasks is None else tasks)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for task in self.tasks:
            thread = threading.Thread(
                target=self._loop, args=(task,), name=f"scheduler:{task.entry}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        logger.info("in-process scheduler started with %d task(s)", len(self.tasks))

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def run_once(self, task: PeriodicTask) -> bool:
        """Run one task now; returns False when it raised (the error is logged)."""
        func = import_string(task.path)
        started = time.monotonic()
        try:
            func(*task.args)
        except Exception:
            logger.exception("periodic task %s failed", task.entry)
            return False
        finally:
            close_old_connections()
        logger.debug("periodic task %s took %.3fs", task.entry, time.monotonic() - started)
        return True

    def _loop(self, task: PeriodicTask) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.run_once(task)
            elapsed = time.monotonic() - started
            self._stop.wait(max(0.0, task.every_seconds - elapsed))
