// The API keys page: the calls-per-day chart (from the json_script "usage-data"), the copy
// button of a key shown once, and the confirmation before a rotate or revoke is posted.
(function () {
  "use strict";

  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  const copy = document.getElementById("copy-key");
  if (copy) {
    const target = document.getElementById(copy.dataset.copyTarget);
    const status = document.getElementById("copy-status");
    copy.addEventListener("click", () => {
      const selectKey = () => {
        const range = document.createRange();
        range.selectNodeContents(target);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      };
      if (!navigator.clipboard) {
        selectKey();
        status.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
        return;
      }
      navigator.clipboard.writeText(target.textContent.trim()).then(
        () => { status.textContent = "Copied."; },
        () => { selectKey(); status.textContent = "Selected: press Ctrl+C (⌘C) to copy."; },
      );
    });
  }

  const element = document.getElementById("usage-chart");
  const data = document.getElementById("usage-data");
  if (!element || !data || !window.LightweightCharts) return;
  const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
  const chart = LightweightCharts.createChart(element, {
    autoSize: true,
    layout: { background: { color: "transparent" }, textColor: dark ? "#e6e8ee" : "#14171f" },
    grid: { vertLines: { visible: false },
            horzLines: { color: dark ? "#2a2f3d" : "#eef0f4" } },
    timeScale: { timeVisible: false },
    localization: { priceFormatter: (calls) => Math.round(calls).toLocaleString() },
    handleScroll: false,
    handleScale: false,
  });
  const bars = chart.addSeries(LightweightCharts.HistogramSeries, {
    color: "#3b5bdb", title: "calls", priceLineVisible: false,
    priceFormat: { type: "custom", minMove: 1, formatter: (calls) => Math.round(calls).toLocaleString() },
  });
  // Days arrive as "YYYY-MM-DD", which the library reads as business days.
  bars.setData(JSON.parse(data.textContent));
  chart.timeScale().fitContent();
  element.dataset.drawn = "1";
})();
