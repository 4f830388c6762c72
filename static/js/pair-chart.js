// The pair page's chart: one line per source and the consensus, from history.json.
// Prices arrive as exact strings; the chart library draws numbers, so they are converted for
// drawing only (tables elsewhere show the exact values).
(function () {
  "use strict";
  const element = document.getElementById("chart");
  if (!element || !window.LightweightCharts) return;
  const status = document.getElementById("chart-status");
  const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
  const palette = ["#3b5bdb", "#e8590c", "#2b8a3e", "#ae3ec9", "#c92a2a", "#1098ad",
                   "#f08c00", "#5c940d", "#d6336c", "#495057"];
  const chart = LightweightCharts.createChart(element, {
    autoSize: true,
    layout: { background: { color: "transparent" }, textColor: dark ? "#e6e8ee" : "#14171f" },
    grid: { vertLines: { color: dark ? "#2a2f3d" : "#eef0f4" },
            horzLines: { color: dark ? "#2a2f3d" : "#eef0f4" } },
    timeScale: { timeVisible: true, secondsVisible: false },
    localization: { priceFormatter: (p) => p.toPrecision(8) },
  });
  let series = [];

  function draw(data) {
    series.forEach((s) => chart.removeSeries(s));
    series = [];
    Object.entries(data.feeds).forEach(([key, feed], index) => {
      const line = chart.addSeries(LightweightCharts.LineSeries, {
        color: palette[index % palette.length], lineWidth: 1, title: feed.protocol,
        priceLineVisible: false, lastValueVisible: false,
      });
      line.setData(feed.points.map((p) => ({ time: p.time, value: Number(p.value) })));
      series.push(line);
    });
    if (data.consensus.length) {
      const consensus = chart.addSeries(LightweightCharts.LineSeries, {
        color: dark ? "#ffffff" : "#000000", lineWidth: 3, title: "consensus",
      });
      consensus.setData(data.consensus.map((b) => ({ time: b.time, value: Number(b.close) })));
      series.push(consensus);
    }
    chart.timeScale().fitContent();
    element.dataset.drawn = String(series.length);
    status.textContent = series.length
      ? `${Object.keys(data.feeds).length} sources and the consensus, last ${data.span}.`
      : "No history in this span yet.";
  }

  function load(span) {
    status.textContent = "Loading the chart…";
    fetch(`${element.dataset.url}?span=${span}`, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then(draw)
      .catch((error) => { status.textContent = `The chart could not be loaded (${error.message}).`; });
  }

  document.querySelectorAll("[data-span]").forEach((button) => {
    button.addEventListener("click", () => {
      document.querySelectorAll("[data-span]").forEach((b) => b.setAttribute("aria-pressed", "false"));
      button.setAttribute("aria-pressed", "true");
      load(button.dataset.span);
    });
  });
  load("24h");
})();
