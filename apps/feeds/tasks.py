from celery import shared_task

from . import partitions


@shared_task(name="feeds.ensure_partitions")
def ensure_partitions() -> list[str]:
    """Create this month's and the coming months' partitions ahead of the first write."""
    months = partitions.current_and_upcoming_months()
    created = partitions.ensure_partitions(map(partitions.month_start, months))
    return [partitions.partition_name(month) for month in created]
