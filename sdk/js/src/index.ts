/**
 * Client for the Oracle Platform REST API (`/api/v1/`) and its price WebSocket (`/ws/v1/prices`).
 *
 * - fetch-based: Node 20+, browsers, Deno, Bun; inject `fetch` for tests or proxies.
 * - one method per OpenAPI operation (see `OPERATIONS`), list operations return a `Paginator`
 *   (`for await (const pair of client.pairs())` walks every page through the `next` links).
 * - 429 (and 503 on idempotent methods) are retried, waiting what `Retry-After` says.
 * - errors are `ApiError` with the API's `{error: {code, message, details}}`.
 * - prices stay strings, exactly as the API sends them (no float rounding).
 */

export const VERSION = "0.1.0";
const API_PREFIX = "/api/v1";
const WS_PATH = "/ws/v1/prices";

/** Every operationId of the OpenAPI schema → the `Client` method that calls it. */
export const OPERATIONS = {
  assets_list: "assets",
  chains_list: "chains",
  pairs_list: "pairs",
  pairs_retrieve: "pair",
  pairs_latest_retrieve: "pairLatest",
  pairs_history_retrieve: "pairHistory",
  pairs_deviation_retrieve: "pairDeviation",
  pairs_health_retrieve: "pairHealth",
  feeds_list: "feeds",
  feeds_retrieve: "feed",
  feeds_latest_retrieve: "feedLatest",
  feeds_history_retrieve: "feedHistory",
  feeds_health_retrieve: "feedHealth",
  feeds_quarantine_list: "feedQuarantine",
  protocols_list: "protocols",
  protocols_retrieve: "protocol",
  protocols_health_retrieve: "protocolHealth",
  keys_list: "keys",
  keys_create: "createKey",
  keys_retrieve: "key",
  keys_destroy: "revokeKey",
  keys_rotate_create: "rotateKey",
  usage_retrieve: "usage",
  audit_events_list: "auditEvents",
  webhooks_list: "webhooks",
  webhooks_create: "createWebhook",
  webhooks_retrieve: "webhook",
  webhooks_update: "updateWebhook",
  webhooks_destroy: "deleteWebhook",
  webhooks_rotate_secret_create: "rotateWebhookSecret",
  webhooks_test_create: "testWebhook",
  webhooks_messages_list: "webhookMessages",
  webhooks_messages_redeliver_create: "redeliverWebhookMessage",
  alerts_channels_list: "alertChannels",
  alerts_channels_create: "createAlertChannel",
  alerts_channels_retrieve: "alertChannel",
  alerts_channels_update: "updateAlertChannel",
  alerts_channels_destroy: "deleteAlertChannel",
  alerts_channels_test_create: "testAlertChannel",
  alerts_rules_list: "alertRules",
  alerts_rules_create: "createAlertRule",
  alerts_rules_retrieve: "alertRule",
  alerts_rules_update: "updateAlertRule",
  alerts_rules_destroy: "deleteAlertRule",
  alerts_rules_escalation_update: "setAlertRuleEscalation",
  alerts_rules_mute_update: "muteAlertRule",
  alerts_maintenance_windows_list: "maintenanceWindows",
  alerts_maintenance_windows_create: "createMaintenanceWindow",
  alerts_maintenance_windows_destroy: "deleteMaintenanceWindow",
  alerts_incidents_list: "incidents",
  alerts_incidents_retrieve: "incident",
  alerts_incidents_acknowledge_create: "acknowledgeIncident",
} as const satisfies Record<string, string>;

export type OperationId = keyof typeof OPERATIONS;

// --- response shapes ------------------------------------------------------------------------

/** An exact decimal as a string, e.g. "3012.45000000". */
export type DecimalString = string;
/** An ISO-8601 UTC time, e.g. "2026-11-26T18:00:00Z". */
export type Timestamp = string;
export type FeedStatus = "fresh" | "late" | "stale" | "down" | "unknown";
export type Scope = "read" | "read_write";
export type Interval = "1m" | "5m" | "15m" | "30m" | "1h" | "4h" | "1d" | "1w";
export type WebhookEvent = "price.updated" | "alert.opened" | "alert.resolved"
  | "feed.status_changed";
export type WebhookMessageStatus = "pending" | "delivered" | "failed";

export interface Page<T> {
  next: string | null;
  previous: string | null;
  results: T[];
}
export interface Asset { symbol: string; name: string; kind: string }
export interface Chain { slug: string; name: string; chain_id: number | null; family: string }
export interface Pair { slug: string; base: string; quote: string }
export interface Protocol {
  slug: string; name: string; website: string; description: string; feeds: number;
}
export interface ProtocolHealth {
  protocol: string;
  score: number | null;
  statuses: Record<string, number>;
  latency_seconds: Record<string, number | null>;
  sources: Array<Record<string, unknown>>;
}
export interface Feed {
  key: string; protocol: string; pair: string; chain: string | null; source_kind: string;
  address: string; feed_id: string; decimals: number; heartbeat_seconds: number;
  deviation_threshold_bps: DecimalString; enabled: boolean;
}
export interface FeedState {
  feed: string; protocol: string; price: DecimalString | null; source_ts: Timestamp | null;
  status: FeedStatus; reason: string; age_seconds: number | null; heartbeat_seconds: number;
  deviation_bps: DecimalString | null; outlier: boolean; verified: boolean | null;
  verified_share: DecimalString | null; converted_from: string | null;
}
export interface Consensus {
  price: DecimalString | null; reason: string; votes: number; spread_bps: DecimalString | null;
}
export interface PairLatest {
  pair: string; computed_at: Timestamp; status: FeedStatus; consensus: Consensus;
  feeds: FeedState[];
}
export interface FeedLatest {
  feed: string; pair: string; computed_at: Timestamp; consensus: DecimalString | null;
  state: FeedState; observation: Record<string, unknown> | null;
}
export interface Bar {
  start: Timestamp; seconds: number; open: DecimalString; high: DecimalString;
  low: DecimalString; close: DecimalString; count: number;
}
export interface History {
  subject: string; from: Timestamp; to: Timestamp; interval: Interval | null; bars: Bar[];
}
export interface Deviation {
  pair: string; computed_at: Timestamp; consensus: DecimalString | null;
  spread_bps: DecimalString | null; max_abs_deviation_bps: DecimalString | null;
  feeds: Array<{
    feed: string; protocol: string; price: DecimalString | null; status: FeedStatus;
    deviation_bps: DecimalString | null; outlier: boolean;
  }>;
}
export interface Health {
  feed: string; protocol: string; status: FeedStatus; score: number | null; uptime: number;
  error_rate: number; deviation_bps: DecimalString | null; verified_share: DecimalString | null;
  explanation: string;
}
export interface PairHealth { pair: string; feeds: Health[] }
export interface QuarantinedRead {
  id: number; raw_value: string; reason: string; detail: string; source_ts: Timestamp | null;
  created_at: Timestamp;
}
export interface ApiKey {
  id: number; name: string; prefix: string; scope: Scope; active: boolean;
  /** Why the plan pauses the key (refused with 403 `key_paused`); "" when not paused. */
  paused_reason: string;
  created_at: Timestamp; created_by: string | null; expires_at: Timestamp | null;
  revoked_at: Timestamp | null; replaces: number | null; last_used_at: Timestamp | null;
  last_used_ip: string | null;
}
/** A new key: `key` is the key itself, shown this once. */
export interface NewApiKey extends ApiKey { key: string }
export interface UsageDay {
  day: string; key: string; key_name: string; calls: number; response_bytes: number;
}
export interface Usage {
  tier: string; limits: Record<string, number>; from: string; to: string;
  total_calls: number; days: UsageDay[];
}
/** One entry of the audit log: only the changed fields, never a secret. */
export interface AuditEvent {
  id: number; created_at: Timestamp;
  /** `<group>.<verb>`, e.g. `api_keys.created`. */
  action: string;
  target_type: string; target_id: string; target_repr: string;
  before: Record<string, unknown> | null; after: Record<string, unknown> | null;
  via: "session" | "api_key" | "system"; actor_email: string; api_key_prefix: string;
  ip: string | null;
}
export interface WebhookEndpoint {
  id: number; url: string; description: string; events: WebhookEvent[]; pairs: string[];
  enabled: boolean; disabled_reason: string;
  /** Why the plan pauses it (no new messages); "" when not paused. */
  paused_reason: string;
  failing_since: Timestamp | null; created_at: Timestamp;
}
/** An endpoint with its signing secret (`whsec_…`): shown on creation and rotation only. */
export interface NewWebhookEndpoint extends WebhookEndpoint { secret: string }
export interface DeliveryAttempt {
  started_at: Timestamp; status_code: number | null; latency_ms: number;
  response_snippet: string; error: string;
}
export interface WebhookMessage {
  /** The `webhook-id` header. */
  msg_id: string;
  event_type: WebhookEvent | "webhook.test";
  /** The JSON body, byte for byte as signed and sent. */
  body: string;
  status: WebhookMessageStatus; created_at: Timestamp; attempts_made: number;
  next_attempt_at: Timestamp; delivered_at: Timestamp | null;
  /** The latest attempts (up to 5), newest first. */
  recent_attempts: DeliveryAttempt[];
}
export type ChannelKind = "email" | "telegram" | "slack" | "pagerduty" | "webhook";
export type RuleKind = "price_above" | "price_below" | "deviation" | "status"
  | "consensus_unavailable";
export type RuleScope = "feed" | "pair" | "protocol" | "all";
export type Severity = "critical" | "warning" | "info";
export type IncidentState = "open" | "acknowledged" | "resolved";
/** What a channel's config may show (never a token, key or secret URL), by kind. */
export interface ChannelConfigSummary {
  /** email */
  to?: string[];
  /** telegram */
  chat_id?: string; bot_token_last4?: string;
  /** pagerduty */
  routing_key_last4?: string;
  /** slack, webhook: the URL's host (its path is secret) */
  host?: string;
}
export interface Channel {
  id: number; kind: ChannelKind; name: string; enabled: boolean; disabled_reason: string;
  /** Why the plan pauses it (its kind is not in the plan); "" when not paused. */
  paused_reason: string;
  config_summary: ChannelConfigSummary; created_at: Timestamp;
}
/** How a test notification went; `permanent` failures disable the channel. */
export interface Delivery {
  ok: boolean; permanent: boolean; retry_after: number | null; detail: string;
}
export interface Rule {
  id: number; name: string; kind: RuleKind; scope: RuleScope; target: string;
  /** e.g. `{price: "3500", hysteresis_bps: "10"}`, `{bps: "50"}`, `{statuses: ["stale"]}` */
  params: Record<string, unknown>;
  for_seconds: number; resolve_after_seconds: number; severity: Severity; channels: number[];
  /** Told once when an incident stays unacknowledged `escalate_after_minutes` (0: never). */
  escalation_channels: number[]; escalate_after_minutes: number;
  /** Until then incidents still open and resolve, but nobody is notified. */
  muted_until: Timestamp | null;
  enabled: boolean;
  /** Why the plan pauses it (not evaluated); "" when not paused. */
  paused_reason: string;
  created_at: Timestamp;
}
export type MaintenanceWindowState = "current" | "upcoming" | "past";
/** Planned work: incidents still open and resolve, nobody is notified. */
export interface MaintenanceWindow {
  id: number; starts_at: Timestamp; ends_at: Timestamp; reason: string;
  state: MaintenanceWindowState;
}
export interface Incident {
  id: number; rule: number; rule_name: string; subject: string; state: IncidentState;
  summary: string; value: string; opened_at: Timestamp; acknowledged_at: Timestamp | null;
  resolved_at: Timestamp | null;
}
export interface IncidentEvent { at: Timestamp; kind: string; detail: string }
/** An incident with its timeline, oldest first. */
export interface IncidentDetail extends Incident { events: IncidentEvent[] }

// --- errors and retries -----------------------------------------------------------------------

/** A non-2xx answer, with the API's error body. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  /** `Retry-After` in seconds, when sent (429, 503). */
  readonly retryAfter: number | null;
  readonly headers: Headers;

  constructor(status: number, code: string, message: string,
              details: Record<string, unknown> = {}, retryAfter: number | null = null,
              headers: Headers = new Headers()) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
    this.headers = headers;
  }

  static async fromResponse(response: Response): Promise<ApiError> {
    let code = `http_${response.status}`;
    let message = response.statusText || code;
    let details: Record<string, unknown> = {};
    const text = await response.text().catch(() => "");
    try {
      const body = JSON.parse(text);
      if (body && typeof body.error === "object" && body.error) {
        code = String(body.error.code ?? code);
        message = String(body.error.message ?? message);
        details = body.error.details ?? {};
      }
    } catch {
      if (text) message = text.slice(0, 200);
    }
    return new ApiError(response.status, code, message, details, retryAfter(response.headers),
                        response.headers);
  }
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date), or null. */
export function retryAfter(headers: Headers): number | null {
  const raw = headers.get("Retry-After")?.trim();
  if (!raw) return null;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw);
  const when = Date.parse(raw);
  return Number.isNaN(when) ? null : Math.max(0, (when - Date.now()) / 1000);
}

export interface RetryOptions {
  /** Retries after the first attempt (default 3). */
  maxRetries?: number;
  /** Wait when no `Retry-After` is sent: backoffMs * 2^attempt (default 500). */
  backoffMs?: number;
  /** A `Retry-After` longer than this is not waited for: the ApiError is thrown (default 60 s). */
  maxWaitMs?: number;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

// --- the client ---------------------------------------------------------------------------

export interface ClientOptions {
  /** `https://oracles.example.com` (with or without `/api/v1`). */
  baseUrl: string;
  /** `op_live_…`, sent as `Authorization: Bearer`. */
  apiKey: string;
  fetch?: typeof fetch;
  retry?: RetryOptions;
  /** Used between retries; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Per request (default 10 000 ms). */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

type Query = Record<string, string | number | Date | null | undefined>;
type When = Date | string;

export interface SpanOptions { from?: When; to?: When; interval?: Interval }
export interface PageOptions { limit?: number }
export interface WebhookOptions {
  url: string; events: WebhookEvent[]; pairs?: string[]; description?: string;
}
export interface ChannelOptions {
  kind: ChannelKind; name: string; config: Record<string, unknown>;
}
export interface ChannelUpdateOptions {
  name: string; enabled?: boolean;
  /** Left out (or null): the stored config, secrets included, is kept. */
  config?: Record<string, unknown> | null;
}
export interface RuleOptions {
  name: string; kind: RuleKind; scope: RuleScope; target?: string;
  params?: Record<string, unknown>; forSeconds?: number; resolveAfterSeconds?: number;
  severity?: Severity; channels?: number[]; enabled?: boolean;
}
export interface EscalationOptions {
  /** Ids of your channels; at least one unless `afterMinutes` is 0 (escalation off). */
  channels: number[]; afterMinutes: number;
}
export interface MaintenanceWindowOptions { startsAt: When; endsAt: When; reason?: string }

/** Every item of a list operation, page after page, fetched lazily. */
export class Paginator<T> implements AsyncIterable<T> {
  constructor(private readonly fetchPage: (query: URLSearchParams) => Promise<Page<T>>,
              private readonly query: URLSearchParams) {}

  async *pages(): AsyncGenerator<T[], void, undefined> {
    let query: URLSearchParams | null = this.query;
    while (query) {
      const page: Page<T> = await this.fetchPage(query);
      yield page.results;
      // Only the query of `next` is used: the next page is asked of the configured base URL,
      // so the key never goes to another host a `next` link might name.
      query = page.next ? new URL(page.next, "http://next.invalid").searchParams : null;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page;
  }

  async toArray(): Promise<T[]> {
    const items: T[] = [];
    for await (const item of this) items.push(item);
    return items;
  }
}

function toQuery(values: Query): URLSearchParams {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === null) continue;
    query.set(name, value instanceof Date ? value.toISOString() : String(value));
  }
  return query;
}

function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}

function day(value: When | undefined): string | undefined {
  return value instanceof Date ? value.toISOString().slice(0, 10) : value;
}

export class Client {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly fetchImpl: typeof fetch;
  private readonly retry: Required<RetryOptions>;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly timeoutMs: number;
  private readonly extraHeaders: Record<string, string>;

  constructor(options: ClientOptions) {
    const base = options.baseUrl.replace(/\/+$/, "");
    this.baseUrl = base.endsWith(API_PREFIX) ? base : base + API_PREFIX;
    this.apiKey = options.apiKey;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.retry = { maxRetries: 3, backoffMs: 500, maxWaitMs: 60_000, ...options.retry };
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.extraHeaders = options.headers ?? {};
  }

  /** One call with retries: the parsed JSON body, or an ApiError. */
  async request<T>(method: string, path: string,
                   options: { query?: URLSearchParams; body?: unknown } = {}): Promise<T> {
    const url = new URL(`${this.baseUrl}/${path.replace(/^\/+/, "")}`);
    options.query?.forEach((value, name) => url.searchParams.set(name, value));
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.apiKey}`, Accept: "application/json", ...this.extraHeaders,
    };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    for (let attempt = 0; ; attempt++) {
      const response = await this.fetchImpl(url, {
        method, headers, signal: AbortSignal.timeout(this.timeoutMs),
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      if (response.ok) {
        const text = await response.text();
        return (text ? JSON.parse(text) : null) as T;
      }
      const wait = this.retryDelay(method, response, attempt);
      if (wait === null) throw await ApiError.fromResponse(response);
      await response.body?.cancel().catch(() => undefined);
      await this.sleep(wait);
    }
  }

  private retryDelay(method: string, response: Response, attempt: number): number | null {
    if (attempt >= this.retry.maxRetries) return null;
    if (response.status !== 429 && response.status !== 503) return null;
    if (response.status === 503 && !IDEMPOTENT.has(method.toUpperCase())) return null;
    const seconds = retryAfter(response.headers);
    const wait = seconds === null ? this.retry.backoffMs * 2 ** attempt : seconds * 1000;
    return wait <= this.retry.maxWaitMs ? wait : null;
  }

  paginate<T>(path: string, query: Query = {}): Paginator<T> {
    return new Paginator<T>((q) => this.request<Page<T>>("GET", path, { query: q }),
                            toQuery(query));
  }

  private get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("GET", path, { query: query && toQuery(query) });
  }

  // reference data
  assets(options: PageOptions = {}): Paginator<Asset> {
    return this.paginate("assets", { limit: options.limit });
  }
  chains(options: PageOptions = {}): Paginator<Chain> {
    return this.paginate("chains", { limit: options.limit });
  }
  protocols(options: PageOptions = {}): Paginator<Protocol> {
    return this.paginate("protocols", { limit: options.limit });
  }
  protocol(slug: string): Promise<Protocol> {
    return this.get(`protocols/${seg(slug)}`);
  }
  protocolHealth(slug: string): Promise<ProtocolHealth> {
    return this.get(`protocols/${seg(slug)}/health`);
  }

  // pairs
  pairs(options: { base?: string; quote?: string } & PageOptions = {}): Paginator<Pair> {
    return this.paginate("pairs", { base: options.base, quote: options.quote,
                                    limit: options.limit });
  }
  pair(slug: string): Promise<Pair> {
    return this.get(`pairs/${seg(slug)}`);
  }
  pairLatest(slug: string): Promise<PairLatest> {
    return this.get(`pairs/${seg(slug)}/latest`);
  }
  pairHistory(slug: string, span: SpanOptions = {}): Promise<History> {
    return this.get(`pairs/${seg(slug)}/history`, { ...span });
  }
  pairDeviation(slug: string): Promise<Deviation> {
    return this.get(`pairs/${seg(slug)}/deviation`);
  }
  pairHealth(slug: string): Promise<PairHealth> {
    return this.get(`pairs/${seg(slug)}/health`);
  }

  // feeds
  feeds(options: { protocol?: string; pair?: string; chain?: string; status?: FeedStatus }
        & PageOptions = {}): Paginator<Feed> {
    return this.paginate("feeds", { ...options });
  }
  feed(key: string): Promise<Feed> {
    return this.get(`feeds/${seg(key)}`);
  }
  feedLatest(key: string): Promise<FeedLatest> {
    return this.get(`feeds/${seg(key)}/latest`);
  }
  feedHistory(key: string, span: SpanOptions = {}): Promise<History> {
    return this.get(`feeds/${seg(key)}/history`, { ...span });
  }
  feedHealth(key: string): Promise<Health> {
    return this.get(`feeds/${seg(key)}/health`);
  }
  feedQuarantine(key: string, options: PageOptions = {}): Paginator<QuarantinedRead> {
    return this.paginate(`feeds/${seg(key)}/quarantine`, { limit: options.limit });
  }

  // keys and usage
  keys(options: PageOptions = {}): Paginator<ApiKey> {
    return this.paginate("keys", { limit: options.limit });
  }
  key(id: number): Promise<ApiKey> {
    return this.get(`keys/${seg(id)}`);
  }
  createKey(options: { name: string; scope?: Scope; expiresAt?: When | null }
            ): Promise<NewApiKey> {
    const body: Record<string, unknown> = { name: options.name, scope: options.scope ?? "read" };
    if (options.expiresAt != null) {
      body.expires_at = options.expiresAt instanceof Date
        ? options.expiresAt.toISOString() : options.expiresAt;
    }
    return this.request("POST", "keys", { body });
  }
  revokeKey(id: number): Promise<ApiKey> {
    return this.request("DELETE", `keys/${seg(id)}`);
  }
  rotateKey(id: number): Promise<NewApiKey> {
    return this.request("POST", `keys/${seg(id)}/rotate`);
  }
  usage(span: { from?: When; to?: When } = {}): Promise<Usage> {
    return this.get("usage", { from: day(span.from), to: day(span.to) });
  }
  /** The audit log, newest first (owners, admins and read-write keys). */
  auditEvents(options: { action?: string; actor?: string; since?: When; until?: When }
              & PageOptions = {}): Paginator<AuditEvent> {
    return this.paginate("audit-events", { action: options.action, actor: options.actor,
                                           since: options.since, until: options.until,
                                           limit: options.limit });
  }

  // webhooks
  webhooks(options: PageOptions = {}): Paginator<WebhookEndpoint> {
    return this.paginate("webhooks", { limit: options.limit });
  }
  webhook(id: number): Promise<WebhookEndpoint> {
    return this.get(`webhooks/${seg(id)}`);
  }
  /** The answer holds the endpoint's signing `secret`, shown this once (and on rotation). */
  createWebhook(options: WebhookOptions): Promise<NewWebhookEndpoint> {
    return this.request("POST", "webhooks", { body: webhookBody(options) });
  }
  /** Every field, as on creation; enabling a disabled endpoint resumes its pending messages. */
  updateWebhook(id: number, options: WebhookOptions & { enabled?: boolean }
                ): Promise<WebhookEndpoint> {
    return this.request("PUT", `webhooks/${seg(id)}`,
                        { body: { ...webhookBody(options), enabled: options.enabled ?? true } });
  }
  /** Resolves with nothing (204). */
  async deleteWebhook(id: number): Promise<void> {
    await this.request<null>("DELETE", `webhooks/${seg(id)}`);
  }
  rotateWebhookSecret(id: number): Promise<NewWebhookEndpoint> {
    return this.request("POST", `webhooks/${seg(id)}/rotate-secret`);
  }
  /** Queues a `webhook.test` event (202); it shows up under `webhookMessages`. */
  testWebhook(id: number): Promise<WebhookMessage> {
    return this.request("POST", `webhooks/${seg(id)}/test`);
  }
  webhookMessages(id: number, options: PageOptions = {}): Paginator<WebhookMessage> {
    return this.paginate(`webhooks/${seg(id)}/messages`, { limit: options.limit });
  }
  redeliverWebhookMessage(id: number, msgId: string): Promise<WebhookMessage> {
    return this.request("POST", `webhooks/${seg(id)}/messages/${seg(msgId)}/redeliver`);
  }

  // alerts: channels, rules, incidents
  /** Channels never show their credentials: `config_summary` tells them apart. */
  alertChannels(options: PageOptions = {}): Paginator<Channel> {
    return this.paginate("alerts/channels", { limit: options.limit });
  }
  alertChannel(id: number): Promise<Channel> {
    return this.get(`alerts/channels/${seg(id)}`);
  }
  createAlertChannel(options: ChannelOptions): Promise<Channel> {
    return this.request("POST", "alerts/channels", {
      body: { kind: options.kind, name: options.name, config: options.config } });
  }
  updateAlertChannel(id: number, options: ChannelUpdateOptions): Promise<Channel> {
    const body: Record<string, unknown> = { name: options.name,
                                            enabled: options.enabled ?? true };
    if (options.config != null) body.config = options.config;
    return this.request("PUT", `alerts/channels/${seg(id)}`, { body });
  }
  /** Resolves with nothing (204). */
  async deleteAlertChannel(id: number): Promise<void> {
    await this.request<null>("DELETE", `alerts/channels/${seg(id)}`);
  }
  /** Sends a test notification now, even to a disabled channel. */
  testAlertChannel(id: number): Promise<Delivery> {
    return this.request("POST", `alerts/channels/${seg(id)}/test`);
  }
  alertRules(options: PageOptions = {}): Paginator<Rule> {
    return this.paginate("alerts/rules", { limit: options.limit });
  }
  alertRule(id: number): Promise<Rule> {
    return this.get(`alerts/rules/${seg(id)}`);
  }
  createAlertRule(options: RuleOptions): Promise<Rule> {
    return this.request("POST", "alerts/rules", { body: ruleBody(options) });
  }
  /** Every field, as on creation. */
  updateAlertRule(id: number, options: RuleOptions): Promise<Rule> {
    return this.request("PUT", `alerts/rules/${seg(id)}`, { body: ruleBody(options) });
  }
  /** Resolves with nothing (204); the rule's incidents go with it. */
  async deleteAlertRule(id: number): Promise<void> {
    await this.request<null>("DELETE", `alerts/rules/${seg(id)}`);
  }
  setAlertRuleEscalation(id: number, options: EscalationOptions): Promise<Rule> {
    return this.request("PUT", `alerts/rules/${seg(id)}/escalation`, {
      body: { channels: options.channels, after_minutes: options.afterMinutes } });
  }
  /** Mute until `until` (with a zone, within 90 days); `null` unmutes. */
  muteAlertRule(id: number, until: When | null): Promise<Rule> {
    return this.request("PUT", `alerts/rules/${seg(id)}/mute`,
                        { body: { until: until == null ? null : moment(until) } });
  }
  maintenanceWindows(options: PageOptions = {}): Paginator<MaintenanceWindow> {
    return this.paginate("alerts/maintenance-windows", { limit: options.limit });
  }
  createMaintenanceWindow(options: MaintenanceWindowOptions): Promise<MaintenanceWindow> {
    return this.request("POST", "alerts/maintenance-windows", {
      body: { starts_at: moment(options.startsAt), ends_at: moment(options.endsAt),
              reason: options.reason ?? "" } });
  }
  /** Resolves with nothing (204). */
  async deleteMaintenanceWindow(id: number): Promise<void> {
    await this.request<null>("DELETE", `alerts/maintenance-windows/${seg(id)}`);
  }
  incidents(options: { state?: IncidentState; rule?: number } & PageOptions = {}
            ): Paginator<Incident> {
    return this.paginate("alerts/incidents", { state: options.state, rule: options.rule,
                                               limit: options.limit });
  }
  incident(id: number): Promise<IncidentDetail> {
    return this.get(`alerts/incidents/${seg(id)}`);
  }
  /** Leaves an incident that is not open as it is. */
  acknowledgeIncident(id: number): Promise<IncidentDetail> {
    return this.request("POST", `alerts/incidents/${seg(id)}/acknowledge`);
  }
}

function moment(value: When): string {
  return value instanceof Date ? value.toISOString() : value;
}

function ruleBody(options: RuleOptions): Record<string, unknown> {
  return { name: options.name, kind: options.kind, scope: options.scope,
           target: options.target ?? "", params: options.params ?? {},
           for_seconds: options.forSeconds ?? 0,
           resolve_after_seconds: options.resolveAfterSeconds ?? 60,
           severity: options.severity ?? "warning", channels: options.channels ?? [],
           enabled: options.enabled ?? true };
}

function webhookBody(options: WebhookOptions): Record<string, unknown> {
  return { url: options.url, description: options.description ?? "",
           events: options.events, pairs: options.pairs ?? [] };
}

// --- WebSocket ------------------------------------------------------------------------------

export type PriceMessage =
  | { type: "snapshot"; pair?: string; feed?: string; state: PairLatest | FeedState | null }
  | { type: "delta"; pair: string; computed_at: Timestamp; status: FeedStatus;
      consensus: PairLatest["consensus"]; feeds: FeedState[] }
  | { type: "delta"; feed: string; state: FeedState }
  | { type: "heartbeat"; time?: Timestamp }
  | { type: "unsubscribed"; pairs: string[]; feeds: string[] }
  | { type: "error"; code: string; message: string; details?: Record<string, unknown> };

export interface Subscription { pairs?: string[]; feeds?: string[] }

export interface ConnectOptions extends Subscription {
  /** Every message from the server, parsed (snapshots, updates, heartbeats, errors). */
  onMessage: (message: PriceMessage) => void;
  onError?: (error: unknown) => void;
  onClose?: (code: number, reason: string) => void;
  /** A WebSocket constructor to use instead of `ws` (Node) / `globalThis.WebSocket`. */
  WebSocket?: unknown;
  /** Send the key as `?api_key=` even where headers could be set (default: Node uses the
   *  Authorization header, browsers the query parameter, as they cannot set headers). */
  keyInQuery?: boolean;
}

export interface PriceStream {
  subscribe(subscription: Subscription): void;
  unsubscribe(subscription: Subscription): void;
  close(code?: number, reason?: string): void;
  /** Resolves with the close code once the connection is closed. */
  readonly closed: Promise<number>;
}

/** Raised when the connection cannot be opened; `status` is the HTTP answer when known. */
export class WebSocketError extends Error {
  readonly status: number | null;
  constructor(message: string, status: number | null = null) {
    super(message);
    this.name = "WebSocketError";
    this.status = status;
  }
}

interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  on?: (event: string, listener: (...args: any[]) => void) => void;
}
type SocketConstructor = new (url: string, protocols?: unknown, options?: unknown) => SocketLike;

const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } })
  .process?.versions?.node === "string";

async function socketConstructor(): Promise<{ ctor: SocketConstructor; node: boolean }> {
  if (isNode) {
    try {
      const specifier = "ws"; // a variable, so browser bundlers leave it alone
      const mod = await import(specifier);
      return { ctor: (mod.WebSocket ?? mod.default) as SocketConstructor, node: true };
    } catch (error) {
      if (!("WebSocket" in globalThis)) {
        throw new WebSocketError(`connectPrices needs the "ws" package on Node: npm install ws `
                                 + `(${String(error)})`);
      }
    }
  }
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (!global) throw new WebSocketError("No WebSocket implementation is available");
  return { ctor: global as SocketConstructor, node: false };
}

/** `https://host`, `wss://host` or a full `…/ws/v1/prices` URL → the WebSocket URL. */
export function priceStreamUrl(url: string): URL {
  const target = new URL(url);
  if (target.protocol === "http:") target.protocol = "ws:";
  if (target.protocol === "https:") target.protocol = "wss:";
  if (!target.pathname.endsWith(WS_PATH)) {
    target.pathname = target.pathname.replace(/\/+$/, "").replace(/\/api\/v1$/, "") + WS_PATH;
  }
  return target;
}

/**
 * Open the price stream, subscribe to `pairs` / `feeds`, and hand every message to `onMessage`.
 * Resolves once the connection is open; rejects with WebSocketError if it cannot be opened.
 */
export async function connectPrices(url: string, key: string,
                                    options: ConnectOptions): Promise<PriceStream> {
  const found = options.WebSocket
    ? { ctor: options.WebSocket as SocketConstructor, node: false }
    : await socketConstructor();
  const target = priceStreamUrl(url);
  const headerKey = found.node && !options.keyInQuery;
  if (!headerKey) target.searchParams.set("api_key", key);
  const socket = headerKey
    ? new found.ctor(target.toString(), undefined, { headers: { Authorization: `Bearer ${key}` } })
    : new found.ctor(target.toString());

  const send = (action: "subscribe" | "unsubscribe", subscription: Subscription) => {
    socket.send(JSON.stringify({ action, pairs: subscription.pairs ?? [],
                                 feeds: subscription.feeds ?? [] }));
  };
  let resolveClosed!: (code: number) => void;
  const closed = new Promise<number>((resolve) => { resolveClosed = resolve; });
  const stream: PriceStream = {
    subscribe: (subscription) => send("subscribe", subscription),
    unsubscribe: (subscription) => send("unsubscribe", subscription),
    close: (code = 1000, reason = "") => socket.close(code, reason),
    closed,
  };

  return new Promise<PriceStream>((resolve, reject) => {
    let open = false;
    let status: number | null = null;
    // ws (Node) tells the HTTP status of a refused upgrade, e.g. 404 or 401.
    socket.on?.("unexpected-response", (_request: unknown, response: { statusCode?: number }) => {
      status = response.statusCode ?? null;
      reject(new WebSocketError(`The server answered ${status} instead of switching to `
                                + "WebSocket", status));
      socket.close();
    });
    socket.onopen = () => {
      open = true;
      if (options.pairs?.length || options.feeds?.length) {
        send("subscribe", { pairs: options.pairs, feeds: options.feeds });
      }
      resolve(stream);
    };
    socket.onmessage = (event) => {
      const data = typeof event.data === "string" ? event.data
        : new TextDecoder().decode(event.data as ArrayBuffer);
      let message: PriceMessage;
      try {
        message = JSON.parse(data) as PriceMessage;
      } catch (error) {
        options.onError?.(error);
        return;
      }
      options.onMessage(message);
    };
    socket.onerror = (event) => {
      const error = (event as { error?: unknown }).error ?? event;
      if (!open) {
        reject(error instanceof Error && !(error instanceof WebSocketError)
          ? new WebSocketError(error.message, status) : error);
      } else {
        options.onError?.(error);
      }
    };
    socket.onclose = (event) => {
      if (!open) reject(new WebSocketError(`Closed before opening (${event.code})`, status));
      options.onClose?.(event.code, event.reason);
      resolveClosed(event.code);
    };
  });
}
