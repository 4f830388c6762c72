"""Writes for feeds: the one way observations get into the database."""
import hashlib
import json
import logging
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date

from . import partitions
from .fields import sqlite_datetime
from .models import Asset, PriceObservation, QuarantinedRead
from .signals import observations_stored, pairs_refreshed

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


# --- status and consensus ---------------------------------------------------------------------
STATE_TTL = 3600  # seconds the cached state of a pair lives (it is rewritten on every change)


def state_key(pair_id: int) -> str:
    return f"feeds:pair-state:{pair_id}"


def latest_body_key(slug: str) -> str:
    """The cache key of a pair's `GET /api/v1/pairs/<slug>/latest` answer, pre-serialized:
    (ETag, Last-Modified, JSON bytes), written with the state so the API serves it as is."""
    return f"feeds:latest-body:{slug}"


def latest_body(public: dict) -> tuple[str, str, bytes]:
    content = json.dumps(public, separators=(",", ":")).encode()
    etag = f'"{hashlib.blake2b(content, digest_size=12).hexdigest()}"'
    modified = http_date(datetime.fromisoformat(public["computed_at"]).timestamp())
    return etag, modified, content


def refresh_pairs(pair_ids: Iterable[int], *, now: datetime | None = None) -> dict[int, dict]:
    """Recompute the status of every feed of these pairs and their consensus, and cache it
    (the latest-state cache the dashboard and the API read without touching the database).
    A pair quoted in USD also takes votes from feeds quoted in a stablecoin (X-USDC), converted
    through that stablecoin's own USD consensus."""
    from apps.protocols.selectors import failing_feeds, ingestion_delays

    from .consensus import Vote, compute
    from .models import Feed, Pair
    from .selectors import latest_observations
    from .status import FeedStatus, feed_status

    now = now or timezone.now()
    pairs = {p.pk: p for p in Pair.objects.filter(pk__in=set(pair_ids))
             .select_related("base", "quote")}
    if not pairs:
        return {}
    # Stablecoin-quoted cousins (ETH-USDC for ETH-USD) and the stablecoins' own USD pairs.
    cousins = Pair.objects.filter(base__symbol__in={p.base.symbol for p in pairs.values()},
                                  quote__kind=Asset.Kind.STABLECOIN).values("pk")
    bridges = {p.base.symbol: p for p in Pair.objects.filter(
        base__kind=Asset.Kind.STABLECOIN, quote__symbol="USD").select_related("base")}
    feeds = list(Feed.objects.filter(Q(pair__in=list(pairs)) | Q(pair__in=cousins), enabled=True)
                 .select_related("protocol", "pair__quote"))
    latest = latest_observations([f.pk for f in feeds])
    feeds_by_base = defaultdict(list)  # a pair's own feeds and its cousins' share its base
    for feed in feeds:
        feeds_by_base[feed.pair.base_id].append(feed)
    delays, failing = ingestion_delays(now), failing_feeds()
    states: dict[int, dict] = {}
    cached_rates: dict[int, str | None] = {}

    def usd_rate(stablecoin: str) -> str | None:
        # This call's own result if the bridge pair was just refreshed, else the cache (once).
        bridge = bridges[stablecoin].pk
        if bridge in states:
            return states[bridge]["consensus"]
        if bridge not in cached_rates:
            cached_rates[bridge] = (cache.get(state_key(bridge)) or {}).get("consensus")
        return cached_rates[bridge]

    history = []  # consensus points, rolled up into the pairs' consensus OHLC bars
    for pair_id, pair in pairs.items():
        votes, rows, prices = [], [], {}
        for feed in feeds_by_base[pair.base_id]:
            same = feed.pair_id == pair_id
            converted = (not same and pair.quote.symbol == "USD"
                         and feed.pair.quote.symbol in bridges)
            if not (same or converted):
                continue
            obs = latest.get(feed.pk)
            since, failure = failing.get(feed.pk, (None, ""))
            verdict = feed_status(
                source_ts=obs.source_ts if obs else None,
                heartbeat_seconds=feed.heartbeat_seconds, now=now,
                failing_since=since, failure=failure,
                ingestion_delayed=(feed.protocol_id, feed.chain_id) in delays,
            )
            price = obs.price if obs else None
            if price is not None and converted:
                rate = usd_rate(feed.pair.quote.symbol)
                price = price * Decimal(rate) if rate else None
            if price is not None:
                prices[feed.pk] = price
            if (price is not None and verdict.status == FeedStatus.FRESH
                    and obs.verified is not False):
                votes.append(Vote(feed.pk, feed.protocol.slug, price,
                                  obs.source_ts.timestamp(),
                                  feed.pair.quote.symbol if converted else None))
            rows.append({
                "feed": feed.pk, "key": feed.key, "protocol": feed.protocol.slug,
                "heartbeat": feed.heartbeat_seconds,
                "status": verdict.status, "reason": verdict.reason, "age": verdict.age_seconds,
                "price": str(price) if price is not None else None,
                "source_ts": obs.source_ts.isoformat() if obs else None,
                "verified": obs.verified if obs else None,
                "converted_from": feed.pair.quote.symbol if converted else None,
            })
        result = compute(votes, outlier_bps=settings.OP_CONSENSUS_OUTLIER_BPS, all_prices=prices)
        outliers = {v.feed_id for v in result.outliers}
        for row in rows:
            deviation = result.deviations.get(row["feed"])
            row["deviation_bps"] = str(deviation.quantize(Decimal("0.01"))) \
                if deviation is not None else None
            row["outlier"] = row["feed"] in outliers
        states[pair_id] = {
            "pair": pair.slug, "computed_at": now.isoformat(),
            "consensus": str(result.price) if result.available else None,
            "reason": result.reason, "votes": len(result.votes), "feeds": rows,
        }
        if result.available:
            history.append((pair_id, result.price, now))
    from .state import public_state, summarise

    public = {pair_id: public_state(summarise(state)) for pair_id, state in states.items()}
    cached = {}
    for pair_id, state in states.items():
        cached[state_key(pair_id)] = state
        cached[latest_body_key(state["pair"])] = latest_body(public[pair_id])
    cache.set_many(cached, STATE_TTL)
    if history:
        from .rollups import record_consensus_points

        record_consensus_points(history)
    from .live import publish_states

    publish_states(states, public)
    for receiver, result in pairs_refreshed.send_robust(sender=Pair, states=states):
        if isinstance(result, Exception):
            logger.error("pairs_refreshed receiver %s failed", receiver, exc_info=result)
    return states


def refresh_aged_states(*, max_age: float | None = None, now: datetime | None = None) -> int:
    """Recompute the pairs whose cached state is older than `max_age` seconds (or missing):
    statuses age with time even when no price arrives — a frozen source must turn late, then
    stale, and alerts must see it. Returns how many pairs were refreshed."""
    from .models import Pair

    now = now or timezone.now()
    max_age = settings.OP_STATE_MAX_AGE_SECONDS if max_age is None else max_age
    live = set(Pair.objects.filter(feeds__enabled=True).values_list("pk", flat=True))
    pair_ids = list(Pair.objects.values_list("pk", flat=True))
    found = cache.get_many([state_key(pk) for pk in pair_ids])
    # A pair whose last feed was disabled still has a cached state (and API body) to renew.
    aged = [pk for pk in pair_ids if ((state := found.get(state_key(pk))) is None and pk in live)
            or (state is not None and (now - datetime.fromisoformat(state["computed_at"]))
                .total_seconds() > max_age)]
    if aged:
        refresh_pairs(aged, now=now)
    return len(aged)


def toggle_watch(membership, pair) -> bool:
    """Put the pair on the membership's organization's watchlist, or take it off; returns
    whether it is watched now."""
    from django.core.exceptions import PermissionDenied

    from apps.accounts.permissions import Action, can

    from .models import WatchedPair

    if not can(membership, Action.EDIT_WATCHLIST):
        raise PermissionDenied("Viewers cannot change the watchlist.")
    deleted, _ = WatchedPair.objects.filter(organization=membership.organization,
                                            pair=pair).delete()
    if deleted:
        return False
    WatchedPair.objects.create(organization=membership.organization, pair=pair,
                               added_by=membership.user)
    return True
