from celery import shared_task

from . import services


@shared_task(name="api_keys.flush_usage")
def flush_usage() -> int:
    """Move the API usage counters (calls, bytes, last use) into the database."""
    return services.flush_usage()
