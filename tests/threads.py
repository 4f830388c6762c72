"""Two database sessions racing, for tests of what locks keep apart (PostgreSQL only: SQLite
has one writer at a time)."""
from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


class Racer(threading.Thread):
    """Runs `work` on its own database connection (closed when it ends); what it raises is kept
    in `error` for the test to assert on, rather than lost in the thread."""

    def __init__(self, work: Callable[[], object], name: str | None = None) -> None:
        super().__init__(target=self._run, name=name, args=(work,))
        self.error: BaseException | None = None

    def _run(self, work: Callable[[], object]) -> None:
        try:
            work()
        except BaseException as error:  # kept for the test to assert on
            self.error = error
        finally:
            connection.close()


def race(first: Racer, second: Racer, *, started: threading.Event, timeout: float = 20
         ) -> None:
    """Start `first`, then `second` once `first` sets `started`; wait for both and fail on what
    either raised or on either still running."""
    first.start()
    assert started.wait(timeout), "the first never got to the point of the race"
    second.start()
    first.join(timeout), second.join(timeout)
    assert not first.is_alive() and not second.is_alive(), "deadlocked or stuck"
    assert (first.error, second.error) == (None, None)
