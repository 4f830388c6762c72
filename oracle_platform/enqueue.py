"""Heavy work after a commit goes to Celery in production; without a broker (a laptop under
`make run`) it runs right here, in the thread that triggered it."""
from typing import Any

from django.conf import settings


def enqueue(task: Any, *args: Any) -> None:
    if settings.CELERY_BROKER_URL.startswith("memory://"):
        task(*args)
    else:
        task.delay(*args)
