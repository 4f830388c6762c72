from celery import shared_task

from . import services


@shared_task(name="api_keys.flush_usage")
def flush_usage() -> int:
    """Move the API usage counters (calls, bytes, last use) into the database."""
    return services.flush_usage()


@shared_task(name="api_keys.republish_limits")
def republish_limits() -> int:
    """Every organization's plan for the throttle again (repairs a lost publish)."""
    return services.republish_limits()
