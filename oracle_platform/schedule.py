"""Periodic work, declared once.

Production runs these through Celery beat (`CELERY_BEAT_SCHEDULE`, synced into
django-celery-beat); `manage.py serve` runs the very same task functions from the
in-process scheduler so that a laptop needs no broker.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicTask:
    name: str  # the Celery task name
    path: str  # dotted path of the task function
    every_seconds: float


PERIODIC_TASKS: tuple[PeriodicTask, ...] = (
    PeriodicTask("feeds.ensure_partitions", "apps.feeds.tasks.ensure_partitions", 3600),
)


def celery_beat_schedule() -> dict[str, dict]:
    return {t.name: {"task": t.name, "schedule": t.every_seconds} for t in PERIODIC_TASKS}
