"""Monthly range partitions of the observation table (PostgreSQL only).

Partitions are created on demand for the months of each batch, so a history backfill into
old months works. A month outside [OP_PARTITION_EARLIEST, now + OP_PARTITION_MONTHS_AHEAD]
is implausible for a price and is left to the DEFAULT partition, which the `feeds.W001`
check reports. If a month's partition is created while the DEFAULT partition already holds
rows of that month, those rows are moved into it first (PostgreSQL refuses otherwise).
"""
from collections.abc import Iterable
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

PARENT = "feeds_priceobservation"
DEFAULT_PARTITION = f"{PARENT}_default"
_LOCK_KEY = 0x0B5E_0001  # advisory lock serialising partition DDL across processes

# Months whose partition is known to exist, per database; filled only after a commit so a
# rolled-back DDL is never remembered.
_known: dict[str, set[date]] = {}


def month_of(moment: datetime) -> date:
    moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_y{month.year}m{month.month:02d}"


def month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def current_and_upcoming_months(now: datetime | None = None) -> list[date]:
    months = [month_of(now or timezone.now())]
    for _ in range(settings.OP_PARTITION_MONTHS_AHEAD):
        months.append(next_month(months[-1]))
    return months


def is_partitionable(month: date, now: datetime | None = None) -> bool:
    earliest = settings.OP_PARTITION_EARLIEST
    latest = current_and_upcoming_months(now)[-1]
    return date(earliest.year, earliest.month, 1) <= month <= latest


def is_partitioned() -> bool:
    return connection.vendor == "postgresql"


def existing_partitions() -> set[date]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    prefix = f"{PARENT}_y"
    months = set()
    for name in names:
        if name.startswith(prefix):
            year, month = name[len(prefix):].split("m")
            months.add(date(int(year), int(month), 1))
    return months


def ensure_partitions(moments: Iterable[datetime]) -> list[date]:
    """Make sure every plausible month among `moments` has its partition; returns new ones."""
    if not is_partitioned():
        return []
    known = _known.setdefault(connection.settings_dict["NAME"], set())
    wanted = {m for m in map(month_of, moments) if m not in known and is_partitionable(m)}
    if not wanted:
        return []
    created = []
    with transaction.atomic():
        missing = wanted - existing_partitions()
        if missing:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            missing -= existing_partitions()  # another process may have won the race
        for month in sorted(missing):
            _create_partition(month)
            created.append(month)
        transaction.on_commit(lambda: known.update(wanted))
    return created


def _create_partition(month: date) -> None:
    name = partition_name(month)
    start, end = month_start(month), month_start(next_month(month))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} "  # noqa: S608 (fixed names)
            "WHERE source_ts >= %s AND source_ts < %s)",
            [start, end],
        )
        (stranded,) = cursor.fetchone()
        if not stranded:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {PARENT} "
                "FOR VALUES FROM (%s) TO (%s)",
                [start, end],
            )
            return
        # Rows of this month sit in DEFAULT: move them into a fresh table, then attach it.
        cursor.execute(
            f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "  # noqa: S608 (fixed names)
            "WHERE source_ts >= %s AND source_ts < %s RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved",
            [start, end],
        )
        cursor.execute(
            f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
            [start, end],
        )


def default_partition_row_count() -> int:
    if not is_partitioned():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {DEFAULT_PARTITION}")  # noqa: S608 (fixed name)
        return cursor.fetchone()[0]


def forget_known_partitions() -> None:
    """Call after dropping partitions (retention) so they are re-created when needed."""
    _known.clear()
