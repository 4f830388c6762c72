"""Heavy work after a commit goes to Celery in production; in the one-process `serve` (and
tests), where no worker would pick it up, it runs right here (OP_RUN_TASKS_INLINE)."""
from typing import Any

from django.conf import settings


def enqueue(task: Any, *args: Any) -> None:
    if settings.OP_RUN_TASKS_INLINE:
        task(*args)
    else:
        task.delay(*args)
