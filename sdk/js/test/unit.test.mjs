// Unit tests of the SDK without a server: retries, errors, pagination, the WebSocket helper.
import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";

import { WebSocketServer } from "ws";

import { ApiError, Client, connectPrices, priceStreamUrl, retryAfter } from "../dist/index.js";

const json = (body, status = 200, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json",
                                                          ...headers } });
const rateLimited = (seconds) => json({ error: { code: "rate_limited", message: "Too many",
  details: { retry_after: seconds } } }, 429, { "Retry-After": String(seconds) });

function scripted(...answers) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url: new URL(url), init });
    const next = answers.shift();
    return typeof next === "function" ? next(url, init) : next;
  };
  return { fetch, calls };
}

test("a 429 is retried after Retry-After seconds, then succeeds", async () => {
  const { fetch, calls } = scripted(rateLimited(2), json({ pair: "ETH-USD" }));
  const waits = [];
  const client = new Client({ baseUrl: "http://x.test", apiKey: "op_live_k", fetch,
                              sleep: async (ms) => { waits.push(ms); } });
  assert.deepEqual(await client.pairLatest("ETH-USD"), { pair: "ETH-USD" });
  assert.deepEqual(waits, [2000]);
  assert.equal(calls.length, 2);
  assert.equal(calls[0].url.pathname, "/api/v1/pairs/ETH-USD/latest");
  assert.equal(calls[0].init.headers.Authorization, "Bearer op_live_k");
});

test("retries are bounded and the last 429 is thrown as ApiError", async () => {
  const { fetch, calls } = scripted(rateLimited(1), rateLimited(1), rateLimited(1));
  const client = new Client({ baseUrl: "http://x.test", apiKey: "k", fetch,
                              retry: { maxRetries: 2 }, sleep: async () => {} });
  const error = await client.pair("ETH-USD").catch((e) => e);
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 429);
  assert.equal(error.code, "rate_limited");
  assert.equal(error.retryAfter, 1);
  assert.equal(calls.length, 3);
});

test("a Retry-After beyond maxWaitMs is not waited for", async () => {
  const { fetch } = scripted(rateLimited(3600));
  const client = new Client({ baseUrl: "http://x.test", apiKey: "k", fetch,
                              sleep: async () => assert.fail("should not sleep") });
  await assert.rejects(client.usage(), (e) => e.status === 429 && e.retryAfter === 3600);
});

test("a 503 is retried for GET but not for POST", async () => {
  const unavailable = () => json({ error: { code: "unavailable", message: "down" } }, 503);
  let { fetch, calls } = scripted(unavailable(), json({ slug: "ETH-USD" }));
  let client = new Client({ baseUrl: "http://x.test", apiKey: "k", fetch,
                            sleep: async () => {}, retry: { backoffMs: 1 } });
  assert.equal((await client.pair("ETH-USD")).slug, "ETH-USD");
  assert.equal(calls.length, 2);
  ({ fetch, calls } = scripted(unavailable(), json({ id: 1 }, 201)));
  client = new Client({ baseUrl: "http://x.test", apiKey: "k", fetch, sleep: async () => {} });
  await assert.rejects(client.createKey({ name: "x" }), (e) => e.status === 503);
  assert.equal(calls.length, 1);
});

test("errors carry code, message and details; non-JSON errors still become ApiError", async () => {
  const { fetch } = scripted(
    json({ error: { code: "invalid_request", message: "bad", details: { from: ["x"] } } }, 400),
    new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }));
  const client = new Client({ baseUrl: "http://x.test/api/v1/", apiKey: "k", fetch });
  await assert.rejects(client.pairHistory("ETH-USD", { from: "nope" }), (e) =>
    e instanceof ApiError && e.code === "invalid_request" && e.details.from[0] === "x");
  await assert.rejects(client.feed("f"), (e) => e.status === 502 && e.code === "http_502");
});

test("pagination follows next links (their query) until the last page", async () => {
  const { fetch, calls } = scripted(
    json({ next: "http://elsewhere.test/api/v1/pairs?cursor=abc&limit=1", previous: null,
           results: [{ slug: "A-USD" }] }),
    json({ next: null, previous: "x", results: [{ slug: "B-USD" }] }));
  const client = new Client({ baseUrl: "http://x.test", apiKey: "k", fetch });
  const slugs = [];
  for await (const pair of client.pairs({ limit: 1, quote: "USD" })) slugs.push(pair.slug);
  assert.deepEqual(slugs, ["A-USD", "B-USD"]);
  assert.equal(calls[0].url.search, "?quote=USD&limit=1");
  assert.equal(calls[1].url.host, "x.test");  // never the host the link names
  assert.equal(calls[1].url.searchParams.get("cursor"), "abc");
});

test("webhooks: the request bodies, and a 204 without a body resolves with nothing", async () => {
  const { fetch, calls } = scripted(json({ id: 3, secret: "whsec_x" }, 201),
                                    json({ id: 3, enabled: false }),
                                    new Response(null, { status: 204 }));
  const client = new Client({ baseUrl: "http://x.test", apiKey: "k", fetch });
  const created = await client.createWebhook({ url: "https://h.test/x", events: ["alert.opened"] });
  assert.equal(created.secret, "whsec_x");
  assert.deepEqual(JSON.parse(calls[0].init.body), { url: "https://h.test/x", description: "",
                                                     events: ["alert.opened"], pairs: [] });
  await client.updateWebhook(3, { url: "https://h.test/y", events: ["alert.resolved"],
                                  pairs: ["ETH-USD"], enabled: false });
  assert.equal(calls[1].init.method, "PUT");
  assert.deepEqual(JSON.parse(calls[1].init.body), { url: "https://h.test/y", description: "",
    events: ["alert.resolved"], pairs: ["ETH-USD"], enabled: false });
  assert.equal(await client.deleteWebhook(3), undefined);
  assert.equal(calls[2].init.method, "DELETE");
  assert.equal(calls[2].url.pathname, "/api/v1/webhooks/3");
});

test("Retry-After as an HTTP date", () => {
  const later = new Date(Date.now() + 5000).toUTCString();
  const seconds = retryAfter(new Headers({ "Retry-After": later }));
  assert.ok(seconds > 3 && seconds <= 5, String(seconds));
});

test("priceStreamUrl derives the WebSocket URL", () => {
  assert.equal(priceStreamUrl("https://h.test").toString(), "wss://h.test/ws/v1/prices");
  assert.equal(priceStreamUrl("http://h.test/api/v1/").toString(), "ws://h.test/ws/v1/prices");
  assert.equal(priceStreamUrl("ws://h.test/ws/v1/prices").toString(), "ws://h.test/ws/v1/prices");
});

test("connectPrices sends the key and the subscription, and hands messages over", async () => {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await once(server, "listening");
  const seen = {};
  server.on("connection", (socket, request) => {
    seen.auth = request.headers.authorization;
    seen.url = request.url;
    socket.on("message", (data) => {
      const message = JSON.parse(String(data));
      seen[message.action] = message;
      if (message.action === "subscribe") {
        socket.send(JSON.stringify({ type: "snapshot", pair: "ETH-USD",
                                     state: { consensus: { price: "3400.00000000" } } }));
        socket.send(JSON.stringify({ type: "heartbeat" }));
      }
    });
  });
  const messages = [];
  let gotTwo;
  const two = new Promise((resolve) => { gotTwo = resolve; });
  const stream = await connectPrices(`http://127.0.0.1:${server.address().port}`, "op_live_k", {
    pairs: ["ETH-USD"], onMessage: (m) => { messages.push(m); if (messages.length === 2) gotTwo(); },
  });
  await two;
  assert.equal(seen.auth, "Bearer op_live_k");
  assert.equal(seen.url, "/ws/v1/prices");
  assert.deepEqual(seen.subscribe, { action: "subscribe", pairs: ["ETH-USD"], feeds: [] });
  assert.equal(messages[0].type, "snapshot");
  assert.equal(messages[0].state.consensus.price, "3400.00000000");  // a string, as sent
  assert.equal(messages[1].type, "heartbeat");
  stream.unsubscribe({ pairs: ["ETH-USD"] });
  stream.close();
  assert.equal(await stream.closed, 1000);
  assert.deepEqual(seen.unsubscribe.pairs, ["ETH-USD"]);
  server.close();
});

test("connectPrices with keyInQuery sends ?api_key=, and rejects a refused upgrade", async () => {
  let asked;
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1",
    verifyClient: (info, done) => { asked = info.req; done(false, 404); } });
  await once(server, "listening");
  const url = `ws://127.0.0.1:${server.address().port}/ws/v1/prices`;
  await assert.rejects(connectPrices(url, "op_live_k", { keyInQuery: true, onMessage() {} }),
                       (e) => e.name === "WebSocketError" && e.status === 404);
  assert.equal(asked.url, "/ws/v1/prices?api_key=op_live_k");
  assert.equal(asked.headers.authorization, undefined);
  server.close();
});
