// Live updates for the dashboard: one WebSocket to /ws/live/. When the server says a pair
// changed, the page refreshes its table (an htmx "live" event, coalesced to one a second).
// Dropped connections come back with exponential backoff and jitter, then resync at once.
(function () {
  "use strict";
  const target = document.querySelector("[data-live]");
  if (!target || !window.WebSocket) return;
  const subscription = JSON.parse(target.dataset.live);
  const indicator = document.getElementById("live-indicator");
  let attempt = 0;
  let pending = null;

  function show(state, text) {
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.textContent = text;
  }

  function refresh() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; htmx.trigger(target, "live"); }, 1000);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/live/`);
    socket.addEventListener("open", () => {
      attempt = 0;
      socket.send(JSON.stringify(subscription));
      show("live", "live");
      refresh();  // resync whatever was missed while disconnected
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "pair" || message.type === "overview") refresh();
      if (message.type === "error") show("error", message.message);
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 4401) { show("error", "log in again for live updates"); return; }
      const delay = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random());
      attempt += 1;
      show("reconnecting", `reconnecting in ${Math.round(delay / 1000)} s`);
      setTimeout(connect, delay);
    });
  }
  connect();
})();
