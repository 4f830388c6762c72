// Against a live server: OP_BASE_URL (e.g. http://127.0.0.1:8000), OP_API_KEY (a read_write
// key) and OP_PAIR (a pair with prices); OP_WEBHOOK_URL, a URL the server accepts for a webhook
// endpoint (without it the webhook test is skipped). tests/api/test_sdks.py starts the server
// and sets them.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, Client, connectPrices } from "../dist/index.js";

const { OP_BASE_URL: baseUrl, OP_API_KEY: apiKey, OP_PAIR: slug = "ETH-USD",
        OP_WEBHOOK_URL: webhookUrl } = process.env;
const skip = !baseUrl || !apiKey ? "OP_BASE_URL and OP_API_KEY are not set" : false;
const client = () => new Client({ baseUrl, apiKey, timeoutMs: 5000 });

test("pairs: every page with limit=1", { skip }, async () => {
  const pages = [];
  for await (const page of client().pairs({ limit: 1 }).pages()) pages.push(page);
  assert.ok(pages.length >= 2, `expected several pages, got ${pages.length}`);
  assert.ok(pages.every((page) => page.length <= 1));
  const slugs = pages.flat().map((pair) => pair.slug);
  assert.ok(slugs.includes(slug));
  assert.equal(new Set(slugs).size, slugs.length);
});

test("latest, history, feeds: prices stay strings", { skip }, async () => {
  const api = client();
  const latest = await api.pairLatest(slug);
  assert.equal(latest.pair, slug);
  assert.equal(typeof latest.consensus.price, "string");
  assert.match(latest.consensus.price, /^\d+\.\d+$/);
  const history = await api.pairHistory(slug, { from: new Date(Date.now() - 3600_000),
                                                to: new Date(), interval: "5m" });
  assert.equal(history.subject, slug);
  assert.equal(history.interval, "5m");
  assert.ok(history.bars.every((bar) => typeof bar.close === "string"));
  const feeds = await api.feeds({ pair: slug }).toArray();
  assert.ok(feeds.length >= 1);
  assert.equal((await api.feedLatest(feeds[0].key)).pair, slug);
});

test("an unknown pair is an ApiError not_found", { skip }, async () => {
  const error = await client().pairLatest("NOPE-USD").catch((e) => e);
  assert.ok(error instanceof ApiError, String(error));
  assert.equal(error.status, 404);
  assert.equal(error.code, "not_found");
});

test("keys: create, rotate, revoke; usage", { skip }, async () => {
  const api = client();
  const created = await api.createKey({ name: "js-sdk", scope: "read" });
  assert.match(created.key, /^op_live_/);
  const fresh = new Client({ baseUrl, apiKey: created.key });
  assert.equal((await fresh.pair(slug)).slug, slug);
  const rotated = await api.rotateKey(created.id);
  assert.equal(rotated.replaces, created.id);
  assert.notEqual(rotated.key, created.key);
  const revoked = await api.revokeKey(rotated.id);
  assert.equal(revoked.active, false);
  await api.revokeKey(created.id);
  const usage = await api.usage({ from: new Date(Date.now() - 86400_000), to: new Date() });
  // calls reach the database once a minute: only the shape is certain here
  assert.equal(typeof usage.total_calls, "number");
  assert.equal(typeof usage.limits.requests_per_minute, "number");
});

test("webhooks: create, list, update, rotate, test, messages, redeliver, delete",
     { skip: skip || (!webhookUrl && "OP_WEBHOOK_URL is not set") }, async () => {
  const api = client();
  const created = await api.createWebhook({ url: webhookUrl, events: ["alert.opened"],
                                            description: "js-sdk" });
  assert.match(created.secret, /^whsec_/);
  const listed = await api.webhooks().toArray();
  assert.ok(listed.some((endpoint) => endpoint.id === created.id));
  assert.equal("secret" in (await api.webhook(created.id)), false);
  const updated = await api.updateWebhook(created.id, { url: webhookUrl, enabled: false,
                                                        events: ["alert.resolved"] });
  assert.deepEqual([updated.events, updated.enabled], [["alert.resolved"], false]);
  const rotated = await api.rotateWebhookSecret(created.id);
  assert.notEqual(rotated.secret, created.secret);
  const sent = await api.testWebhook(created.id);
  assert.equal(sent.event_type, "webhook.test");
  const messages = await api.webhookMessages(created.id).toArray();
  assert.deepEqual(messages.map((message) => message.msg_id), [sent.msg_id]);
  assert.ok(Array.isArray(messages[0].recent_attempts));
  const again = await api.redeliverWebhookMessage(created.id, sent.msg_id);
  assert.equal(again.status, "pending");
  assert.equal(await api.deleteWebhook(created.id), undefined);
  const error = await api.webhook(created.id).catch((e) => e);
  assert.ok(error instanceof ApiError && error.status === 404, String(error));
});

test("alerts: channels without secrets, rules (escalation, mute), incidents, maintenance", { skip }, async () => {
  const api = client();
  const channel = await api.createAlertChannel({ kind: "email", name: "js-sdk",
                                                 config: { to: ["ops@example.com"] } });
  assert.deepEqual(channel.config_summary, { to: ["ops@example.com"] });
  assert.ok((await api.alertChannels().toArray()).some((c) => c.id === channel.id));
  const renamed = await api.updateAlertChannel(channel.id, { name: "js-sdk 2", enabled: false });
  assert.deepEqual([renamed.name, renamed.enabled, renamed.config_summary],
                   ["js-sdk 2", false, channel.config_summary]);
  assert.equal((await api.testAlertChannel(channel.id)).ok, true);
  const rule = await api.createAlertRule({ name: "js-sdk", kind: "status", scope: "all",
                                           params: { statuses: ["down"] },
                                           channels: [channel.id] });
  assert.deepEqual([rule.params, rule.channels], [{ statuses: ["down"] }, [channel.id]]);
  const changed = await api.updateAlertRule(rule.id, { name: "js-sdk", kind: "status",
                                                       scope: "all", severity: "critical" });
  assert.deepEqual([changed.severity, changed.channels], ["critical", []]);
  assert.equal((await api.alertRule(rule.id)).name, "js-sdk");
  const escalated = await api.setAlertRuleEscalation(rule.id, { channels: [channel.id],
                                                                afterMinutes: 15 });
  assert.deepEqual([escalated.escalation_channels, escalated.escalate_after_minutes],
                   [[channel.id], 15]);
  const until = new Date(Date.now() + 3600_000);
  const muted = await api.muteAlertRule(rule.id, until);
  assert.equal(Date.parse(muted.muted_until), until.getTime());
  assert.equal((await api.muteAlertRule(rule.id, null)).muted_until, null);
  const window = await api.createMaintenanceWindow({ startsAt: new Date(), endsAt: until,
                                                     reason: "js-sdk" });
  assert.deepEqual([window.reason, window.state], ["js-sdk", "current"]);
  assert.ok((await api.maintenanceWindows().toArray()).some((w) => w.id === window.id));
  const late = await api.createMaintenanceWindow({ startsAt: until, endsAt: new Date() })
    .catch((e) => e);
  assert.ok(late instanceof ApiError && late.status === 400 && "ends_at" in late.details,
            String(late));
  assert.equal(await api.deleteMaintenanceWindow(window.id), undefined);
  const bad = await api.createAlertRule({ name: "x", kind: "deviation", scope: "all",
                                          params: { bps: "-5" } }).catch((e) => e);
  assert.ok(bad instanceof ApiError && bad.status === 400 && "params.bps" in bad.details,
            String(bad));
  assert.deepEqual(await api.incidents({ state: "open", rule: rule.id }).toArray(), []);
  const missing = await api.acknowledgeIncident(2147483647).catch((e) => e);
  assert.ok(missing instanceof ApiError && missing.status === 404, String(missing));
  assert.equal(await api.deleteAlertRule(rule.id), undefined);
  assert.equal(await api.deleteAlertChannel(channel.id), undefined);
  const gone = await api.alertChannel(channel.id).catch((e) => e);
  assert.ok(gone instanceof ApiError && gone.status === 404, String(gone));
});

test("the price WebSocket, when the server has it", { skip }, async (t) => {
  let stream;
  const first = new Promise((resolve) => {
    connectPrices(baseUrl, apiKey, { pairs: [slug], onMessage: resolve })
      .then((opened) => { stream = opened; }, resolve);
  });
  let timer;
  const message = await Promise.race([first, new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timeout: true }), 3000);
  })]);
  clearTimeout(timer);
  if (message instanceof Error && (message.status === 404 || message.status === 400)) {
    t.skip(`the server has no WebSocket endpoint here (HTTP ${message.status})`);
    return;
  }
  stream?.close();
  assert.ok(!(message instanceof Error), String(message));
  assert.ok(!message.timeout, "no message within 3 s");
  assert.equal(message.type, "snapshot");
});
