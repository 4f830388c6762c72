"""Response shapes of /api/v1/, as TypedDicts. Times are ISO-8601 UTC strings, as sent.

Price fields — `price`, `open`, `high`, `low`, `close`, `consensus.price` and a bare `consensus`
price — are `decimal.Decimal` (exact; the API sends them as strings). Basis points, shares and
raw on-chain answers stay strings, exactly as the API sends them.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, TypedDict

FeedStatusName = Literal["fresh", "late", "stale", "down", "unknown"]
Scope = Literal["read", "read_write"]
Interval = Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"]
WebhookEvent = Literal["price.updated", "alert.opened", "alert.resolved", "feed.status_changed"]
WebhookMessageStatus = Literal["pending", "delivered", "failed"]


class Asset(TypedDict):
    symbol: str
    name: str
    kind: str


class Chain(TypedDict):
    slug: str
    name: str
    chain_id: int | None
    family: str


class Pair(TypedDict):
    slug: str
    base: str
    quote: str


class Protocol(TypedDict):
    slug: str
    name: str
    website: str
    description: str
    feeds: int


class ProtocolHealth(TypedDict):
    protocol: str
    score: int | None
    statuses: dict[str, int]
    latency_seconds: dict[str, Any]
    sources: list[dict[str, Any]]


class Feed(TypedDict):
    key: str
    protocol: str
    pair: str
    chain: str | None
    source_kind: str
    address: str
    feed_id: str
    decimals: int
    heartbeat_seconds: int
    deviation_threshold_bps: str
    enabled: bool


class FeedState(TypedDict):
    feed: str
    protocol: str
    price: Decimal | None
    source_ts: str | None
    status: FeedStatusName
    reason: str
    age_seconds: float | None
    heartbeat_seconds: int
    deviation_bps: str | None
    outlier: bool
    verified: bool | None
    verified_share: str | None
    converted_from: str | None


class Consensus(TypedDict):
    price: Decimal | None
    reason: str
    votes: int
    spread_bps: str | None


class PairLatest(TypedDict):
    pair: str
    computed_at: str
    status: FeedStatusName
    consensus: Consensus
    feeds: list[FeedState]


class FeedLatest(TypedDict):
    feed: str
    pair: str
    computed_at: str
    consensus: Decimal | None
    state: FeedState
    observation: dict[str, Any] | None


class Bar(TypedDict):
    start: str
    seconds: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    count: int


# `from` is a keyword, hence the functional syntax.
History = TypedDict("History", {"subject": str, "from": str, "to": str,
                                "interval": str | None, "bars": list[Bar]})


class DeviationRow(TypedDict):
    feed: str
    protocol: str
    price: Decimal | None
    status: FeedStatusName
    deviation_bps: str | None
    outlier: bool


class Deviation(TypedDict):
    pair: str
    computed_at: str
    consensus: Decimal | None
    spread_bps: str | None
    max_abs_deviation_bps: str | None
    feeds: list[DeviationRow]


class Health(TypedDict):
    feed: str
    protocol: str
    status: FeedStatusName
    score: int | None
    uptime: float
    error_rate: float
    deviation_bps: str | None
    verified_share: str | None
    explanation: str


class PairHealth(TypedDict):
    pair: str
    feeds: list[Health]


class QuarantinedRead(TypedDict):
    id: int
    raw_value: str
    reason: str
    detail: str
    source_ts: str | None
    created_at: str


class ApiKey(TypedDict):
    id: int
    name: str
    prefix: str
    scope: Scope
    active: bool
    paused_reason: str  # why the plan pauses it; "" when not paused (refused with 403 key_paused)
    created_at: str
    created_by: str | None
    expires_at: str | None
    revoked_at: str | None
    replaces: int | None
    last_used_at: str | None
    last_used_ip: str | None


class NewApiKey(ApiKey):
    key: str  # the key itself: shown this once, never again


class UsageDay(TypedDict):
    day: str
    key: str
    key_name: str
    calls: int
    response_bytes: int


Usage = TypedDict("Usage", {"tier": str, "limits": dict[str, int], "from": str, "to": str,
                            "total_calls": int, "days": list[UsageDay]})


class AuditEvent(TypedDict):
    """One entry of the audit log: who changed what (only the changed fields), when, from
    where. Secrets are never in `before` or `after`."""

    id: int
    created_at: str
    action: str  # "<group>.<verb>", e.g. "api_keys.created"
    target_type: str
    target_id: str
    target_repr: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    via: Literal["session", "api_key", "system"]
    actor_email: str
    api_key_prefix: str
    ip: str | None


class WebhookEndpoint(TypedDict):
    id: int
    url: str
    description: str
    events: list[WebhookEvent]
    pairs: list[str]
    enabled: bool
    disabled_reason: str
    paused_reason: str  # why the plan pauses it; "" when not paused
    failing_since: str | None
    created_at: str


class NewWebhookEndpoint(WebhookEndpoint):
    secret: str  # whsec_…: verifies signatures; shown on creation and rotation only


class DeliveryAttempt(TypedDict):
    started_at: str
    status_code: int | None
    latency_ms: int
    response_snippet: str
    error: str


class WebhookMessage(TypedDict):
    msg_id: str  # the `webhook-id` header
    event_type: WebhookEvent | Literal["webhook.test"]
    body: str  # the JSON body, byte for byte as signed and sent
    status: WebhookMessageStatus
    created_at: str
    attempts_made: int
    next_attempt_at: str
    delivered_at: str | None
    recent_attempts: list[DeliveryAttempt]  # the latest (up to 5), newest first


ChannelKind = Literal["email", "telegram", "slack", "pagerduty", "webhook"]
RuleKind = Literal["price_above", "price_below", "deviation", "status", "consensus_unavailable"]
RuleScope = Literal["feed", "pair", "protocol", "all"]
Severity = Literal["critical", "warning", "info"]
IncidentState = Literal["open", "acknowledged", "resolved"]


class ChannelConfigSummary(TypedDict, total=False):
    """What a channel's config may show (never a token, key or secret URL), by kind."""

    to: list[str]  # email
    chat_id: str  # telegram
    bot_token_last4: str  # telegram
    routing_key_last4: str  # pagerduty
    host: str  # slack, webhook


class Channel(TypedDict):
    id: int
    kind: ChannelKind
    name: str
    enabled: bool
    disabled_reason: str
    paused_reason: str  # why the plan pauses it; "" when not paused
    config_summary: ChannelConfigSummary
    created_at: str


class Delivery(TypedDict):
    ok: bool
    permanent: bool  # retrying cannot help: the channel has been disabled
    retry_after: float | None
    detail: str


class Rule(TypedDict):
    id: int
    name: str
    kind: RuleKind
    scope: RuleScope
    target: str
    params: dict[str, Any]  # `price` as Decimal; `bps`, `hysteresis_bps` strings
    for_seconds: int
    resolve_after_seconds: int
    severity: Severity
    channels: list[int]
    escalation_channels: list[int]  # told once when an incident stays unacknowledged…
    escalate_after_minutes: int  # …this long (0: never)
    muted_until: str | None  # until then incidents open and resolve, nobody is notified
    enabled: bool
    paused_reason: str  # why the plan pauses it; "" when not paused (not evaluated)
    created_at: str


MaintenanceWindowState = Literal["current", "upcoming", "past"]


class MaintenanceWindow(TypedDict):
    """Planned work: incidents still open and resolve, nobody is notified."""

    id: int
    starts_at: str
    ends_at: str
    reason: str
    state: MaintenanceWindowState


class Incident(TypedDict):
    id: int
    rule: int
    rule_name: str
    subject: str
    state: IncidentState
    summary: str
    value: str
    opened_at: str
    acknowledged_at: str | None
    resolved_at: str | None


class IncidentEvent(TypedDict):
    at: str
    kind: str  # opened, notified, acknowledged, resolved…
    detail: str


class IncidentDetail(Incident):
    events: list[IncidentEvent]  # the timeline, oldest first
