"""Writes of observations: the one way prices (and quarantined reads) get into the database.

Pair state lives in pair_state.py, the watchlist in watchlist.py."""
import logging
import weakref
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import partitions
from .fields import sqlite_datetime
from .models import PriceObservation, QuarantinedRead
from .signals import observations_stored

logger = logging.getLogger(__name__)

MAX_RAW_DIGITS = 78
_RAW_LIMIT = 10**MAX_RAW_DIGITS  # abs(raw) below this has at most 78 digits
# Column order of the staging table, the COPY and the INSERT … SELECT.
_COLUMNS = (
    "feed_id", "raw_answer", "decimals", "price", "source_ts", "fetched_at",
    "round_id", "confidence", "block_number", "verified",
)
_PG_TYPES = (  # id, then _COLUMNS
    "int8", "int8", "numeric", "int2", "numeric", "timestamptz", "timestamptz",
    "numeric", "numeric", "int8", "bool",
)
_SEQUENCE = "feeds_priceobservation_id_seq"  # created by migration feeds.0002
_STAGING = "_op_observation_staging"
_TRUNCATE_FROM = 1000  # batches this big empty the staging table by TRUNCATE
# Raw psycopg connections whose session already holds the staging table (after a commit).
_staging_ready: "weakref.WeakSet[object]" = weakref.WeakSet()
_SQLITE_CHUNK = 500  # rows per INSERT, well under SQLite's bound-parameter limit


def store_observations(batch: Iterable[PriceObservation]) -> list[PriceObservation]:
    """Store a batch of unsaved observations; return only those newly inserted.

    Idempotent: a row whose (feed, source_ts, round_id) is already stored is skipped.
    The batch is written in one transaction without a query per row (PostgreSQL: binary
    COPY into a session staging table, then one INSERT … ON CONFLICT DO NOTHING). After
    commit, `observations_stored` is sent once with the new rows, if there are any.
    """
    observations = [_prepared(obs) for obs in batch]
    if not observations:
        return []
    with transaction.atomic():
        # One timestamp per month is enough to decide which partitions must exist.
        months = {(obs.source_ts.year, obs.source_ts.month): obs.source_ts for obs in observations}
        partitions.ensure_partitions(months.values())
        if connection.vendor == "postgresql":
            new_rows = _insert_postgresql(observations)
        elif connection.vendor == "sqlite":
            new_rows = _match_inserted(observations, _insert_sqlite(observations))
        else:
            raise NotImplementedError(f"{connection.vendor} is not supported")
        if new_rows:
            transaction.on_commit(lambda: _announce(new_rows))
    return new_rows


def forget_session_state() -> None:
    """Forget which sessions hold the staging table and which partitions exist.

    Both are remembered only after a real commit; tests that fake commits inside a
    rolled-back transaction (django_capture_on_commit_callbacks) call this afterwards."""
    _staging_ready.clear()
    partitions.forget_known_partitions()


def quarantine_reads(reads: Iterable[QuarantinedRead]) -> list[QuarantinedRead]:
    """Record rejected reads; they are never prices, and always visible."""
    reads = list(reads)
    for read in reads:
        if read.source_ts is not None and timezone.is_naive(read.source_ts):
            raise ValueError("QuarantinedRead.source_ts must be timezone-aware")
    return QuarantinedRead.objects.bulk_create(reads)


def _prepared(obs: PriceObservation) -> PriceObservation:
    if obs.pk is not None:
        raise ValueError("store_observations takes unsaved observations")
    if obs.feed_id is None:
        raise ValueError("observation has no feed")
    raw = obs.raw_answer
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise TypeError(f"raw_answer must be an int, not {type(raw).__name__}")
    if not -_RAW_LIMIT < raw < _RAW_LIMIT:
        raise ValueError(f"raw_answer has more than {MAX_RAW_DIGITS} digits")
    if not isinstance(obs.decimals, int) or not 0 <= obs.decimals < MAX_RAW_DIGITS:
        raise ValueError(f"decimals must be an int in [0, {MAX_RAW_DIGITS}), not {obs.decimals!r}")
    obs.source_ts = _utc(obs.source_ts, "source_ts")
    obs.fetched_at = _utc(obs.fetched_at, "fetched_at")
    if obs.round_id is not None and not isinstance(obs.round_id, int):
        raise TypeError("round_id must be an int or None")
    if obs.confidence is not None and not isinstance(obs.confidence, Decimal):
        raise TypeError("confidence must be a Decimal or None")
    price = PriceObservation.scale(raw, obs.decimals)
    if obs.price is not None and Decimal(obs.price) != price:
        raise ValueError(f"price {obs.price} does not equal raw_answer / 10**decimals = {price}")
    obs.price = price
    return obs


def _utc(moment: object, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def _insert_postgresql(observations: Sequence[PriceObservation]) -> list[PriceObservation]:
    table = PriceObservation._meta.db_table
    columns = ", ".join(_COLUMNS)
    with connection.cursor() as cursor:
        raw_connection = connection.connection
        if raw_connection not in _staging_ready:
            # Created per session; remembered only after a commit, because a rollback
            # also rolls back the CREATE. No defaults: ids are reserved per batch below.
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} AS "  # noqa: S608 (fixed names)
                f"SELECT id, {columns} FROM {table} WITH NO DATA"
            )
            transaction.on_commit(lambda: _staging_ready.add(raw_connection))
        # Ids are taken up front, so `RETURNING id` alone says which rows were new: no keys
        # come back to be parsed and matched in Python.
        cursor.execute(
            "SELECT nextval(%s) FROM generate_series(1, %s)", [_SEQUENCE, len(observations)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(
            f"COPY {_STAGING} (id, {columns}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_PG_TYPES)  # the numeric binary dumper takes ints as they are
            write_row = copy.write_row
            for pk, obs in zip(ids, observations, strict=True):
                write_row((
                    pk, obs.feed_id, obs.raw_answer, obs.decimals, obs.price, obs.source_ts,
                    obs.fetched_at, obs.round_id, obs.confidence, obs.block_number, obs.verified,
                ))
        big = len(observations) >= _TRUNCATE_FROM
        cursor.execute(
            f"WITH inserted AS (INSERT INTO {table} (id, {columns}) "  # noqa: S608 (fixed names)
            f"SELECT id, {columns} FROM {_STAGING} "
            # Naming the arbiter spares a probe of the primary key index per row (its ids
            # come from the sequence, so it cannot conflict); ~13 % of the INSERT's time.
            "ON CONFLICT (feed_id, source_ts, round_id) DO NOTHING RETURNING id)"
            + ("" if big else f", emptied AS (DELETE FROM {_STAGING})")  # noqa: S608
            + " SELECT id FROM inserted"
        )
        inserted = {row[0] for row in cursor.fetchall()}
        if big:
            # Temp tables are never autovacuumed: the rows a DELETE leaves behind a bulk COPY
            # pile up (~150 pages per 10,000 rows) and every later scan reads them. TRUNCATE
            # costs ~0.5 ms, as much as a whole small batch, so only big batches pay it.
            cursor.execute(f"TRUNCATE {_STAGING}")
    new_rows = []
    # A key repeated inside the batch is inserted once, from its first row (scan order).
    for pk, obs in zip(ids, observations, strict=True):
        if pk in inserted:
            obs.pk = pk
            obs._state.adding = False
            new_rows.append(obs)
    return new_rows


def _sqlite_text(value: object) -> str | None:
    return None if value is None else str(value)


def _sqlite_params(obs: PriceObservation) -> tuple:
    """The row as SQLite stores it (exact numbers as TEXT, see fields.py); done by hand
    because the generic per-field preparation costs more than the insert itself."""
    return (
        obs.feed_id, str(obs.raw_answer), obs.decimals, str(obs.price),
        sqlite_datetime(obs.source_ts), sqlite_datetime(obs.fetched_at),
        _sqlite_text(obs.round_id), _sqlite_text(obs.confidence), obs.block_number,
        obs.verified,
    )


def _insert_sqlite(observations: Sequence[PriceObservation]) -> list[tuple]:
    table = PriceObservation._meta.db_table
    placeholders = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    rows = []
    with connection.cursor() as cursor:
        for start in range(0, len(observations), _SQLITE_CHUNK):
            chunk = observations[start:start + _SQLITE_CHUNK]
            params = [value for obs in chunk for value in _sqlite_params(obs)]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608
                + ", ".join([placeholders] * len(chunk))
                + " ON CONFLICT DO NOTHING RETURNING id, feed_id, source_ts, round_id",
                params,
            )
            rows.extend(cursor.fetchall())
    return rows


def _match_inserted(
    observations: Sequence[PriceObservation], inserted: Iterable[tuple]
) -> list[PriceObservation]:
    ids = {}
    for pk, feed_id, source_ts, round_id in inserted:
        if isinstance(source_ts, str):  # SQLite may return the stored text…
            source_ts = parse_datetime(source_ts)
        if timezone.is_naive(source_ts):  # …or a naive datetime, UTC by construction
            source_ts = source_ts.replace(tzinfo=UTC)
        ids[(feed_id, source_ts, None if round_id is None else int(round_id))] = pk
    new_rows = []
    for obs in observations:
        pk = ids.pop((obs.feed_id, obs.source_ts, obs.round_id), None)
        if pk is not None:  # pop: a duplicate inside the batch is returned once
            obs.pk = pk
            obs._state.adding = False
            new_rows.append(obs)
    return new_rows


def _announce(new_rows: list[PriceObservation]) -> None:
    for receiver, result in observations_stored.send_robust(
        sender=PriceObservation, observations=new_rows
    ):
        if isinstance(result, Exception):
            logger.error(
                "observations_stored receiver %r failed", receiver, exc_info=result
            )
