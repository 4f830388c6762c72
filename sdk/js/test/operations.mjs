// Prints, as JSON, what each entry of OPERATIONS does: {operationId: {method, httpMethod, path}},
// calling every Client method against a fetch that records the request and answers an empty page.
// tests/api/test_sdks.py compares it with the OpenAPI schema.
import { Client, OPERATIONS } from "../dist/index.js";

const seen = [];
const fetch = async (url, init) => {
  seen.push({ url: new URL(url), method: init.method });
  return new Response(JSON.stringify({ next: null, previous: null, results: [] }),
                      { status: 200, headers: { "Content-Type": "application/json" } });
};
const client = new Client({ baseUrl: "http://sdk.invalid", apiKey: "op_live_probe", fetch });
const webhook = { url: "https://probe.invalid/x", events: ["alert.opened"] };
const rule = { name: "probe", kind: "status", scope: "all" };
const PROBE_ARGS = {
  createKey: [{ name: "probe" }],
  createWebhook: [webhook],
  updateWebhook: [7, webhook],
  redeliverWebhookMessage: [7, "PARAM"],
  createAlertChannel: [{ kind: "email", name: "probe", config: { to: ["probe@example.com"] } }],
  updateAlertChannel: [7, { name: "probe" }],
  createAlertRule: [rule],
  updateAlertRule: [7, rule],
  setAlertRuleEscalation: [7, { channels: [7], afterMinutes: 15 }],
  muteAlertRule: [7, null],
  createMaintenanceWindow: [{ startsAt: "2026-11-28T02:00:00Z", endsAt: "2026-11-28T04:00:00Z" }],
};
const result = {};
for (const [operationId, name] of Object.entries(OPERATIONS)) {
  const method = client[name];
  if (typeof method !== "function") {
    result[operationId] = { method: name, missing: true };
    continue;
  }
  const args = PROBE_ARGS[name] ?? (method.length ? ["PARAM"] : []);
  seen.length = 0;
  const answer = method.apply(client, args);
  if (answer && typeof answer.pages === "function") await answer.pages().next();
  else await answer;
  const request = seen[0];
  result[operationId] = { method: name, httpMethod: request.method, path: request.url.pathname };
}
console.log(JSON.stringify(result));
