from django.core.checks import Tags, Warning, register
from django.db import DatabaseError

from .partitions import DEFAULT_PARTITION, default_partition_row_count


@register(Tags.database)
def default_partition_is_empty(app_configs, databases=None, **kwargs) -> list[Warning]:
    """Rows in the DEFAULT partition have implausible timestamps: someone should look."""
    if not databases or "default" not in databases:
        return []
    try:
        rows = default_partition_row_count()
    except DatabaseError:  # not migrated yet
        return []
    if not rows:
        return []
    return [
        Warning(
            f"{rows} observation(s) sit in the DEFAULT partition {DEFAULT_PARTITION}.",
            hint="Their source_ts is outside OP_PARTITION_EARLIEST … now + "
            "OP_PARTITION_MONTHS_AHEAD; inspect them in the admin and fix the source.",
            id="feeds.W001",
        )
    ]
