// The campaign pages' script. The form offers only the sending accounts of the chosen channel.
// The card draws its charts (incremental effect with its 95 % interval, opens and clicks per
// hour) with the bundled Plotly.js, loaded after the page is ready as on the other pages, and
// while the campaign sends it polls the report every few seconds, moves the progress bar and
// the figures, and reloads when the status changes. Every number is on the page without it.
(function () {
  "use strict";

  var BLUE = "#2f6fdf", GREY = "#9aa4b5", GREEN = "#2f9e5b";
  var POLL_MS = 3000, HOUR_MS = 3600 * 1000;

  function accountFilter(form) {
    var channel = form.querySelector("select[name=channel]");
    var account = form.querySelector("[data-account-select]");
    if (!channel || !account) { return; }
    function apply() {
      Array.prototype.forEach.call(account.options, function (option) {
        var other = option.value && option.getAttribute("data-channel") !== channel.value;
        option.hidden = other;
        option.disabled = other;
        if (other && option.selected) { account.value = ""; }
      });
    }
    channel.addEventListener("change", apply);
    apply();
  }

  function layout(box, extra) {
    var base = {
      margin: { t: 10, r: 10, b: 50, l: 70 },
      height: 300,
      separators: document.documentElement.lang === "ru" ? ", " : ".,",
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      legend: { orientation: "h", y: -0.25 }
    };
    Object.keys(extra || {}).forEach(function (key) { base[key] = extra[key]; });
    return base;
  }

  // One marker with error bars from the interval's low to its high.
  function effectTrace(interval, name, axis, color) {
    return {
      type: "scatter", mode: "markers", name: name, x: [name], y: [interval.estimate],
      xaxis: "x" + axis, yaxis: "y" + axis, marker: { size: 12, color: color },
      error_y: { type: "data", symmetric: false, array: [interval.high - interval.estimate],
                 arrayminus: [interval.estimate - interval.low], thickness: 2, width: 10 },
      hovertemplate: "%{y:,.1f} (" + interval.low.toFixed(1) + " … " + interval.high.toFixed(1) +
        ")<extra></extra>"
    };
  }

  var draw = {
    effect: function (box, data, labels) {
      var zero = { zeroline: true, zerolinecolor: "#c53030", zerolinewidth: 1 };
      window.Plotly.newPlot(box, [
        effectTrace(data.conversions, labels.conversions, "", BLUE),
        effectTrace(data.revenue, labels.revenue, "2", GREEN)
      ], layout(box, {
        showlegend: false,
        xaxis: { domain: [0, 0.42] }, xaxis2: { domain: [0.58, 1], anchor: "y2" },
        yaxis: zero,
        yaxis2: Object.assign({ anchor: "x2" }, zero)
      }), { displayModeBar: false, responsive: true });
    },
    timeline: function (box, data, labels) {
      var xaxis = { type: "date" };
      if (data.x.length < 2) {
        // One hour alone: Plotly would zoom into its millisecond; show the hours around it.
        var at = new Date(data.x[0]).getTime();
        xaxis.range = [new Date(at - HOUR_MS).toISOString(), new Date(at + HOUR_MS).toISOString()];
      }
      window.Plotly.newPlot(box, [
        { type: "scatter", mode: "lines+markers", name: labels.opens, x: data.x, y: data.opens,
          line: { color: BLUE } },
        { type: "scatter", mode: "lines+markers", name: labels.clicks, x: data.x, y: data.clicks,
          line: { color: GREY } }
      ], layout(box, { xaxis: xaxis, yaxis: { rangemode: "tozero", tickformat: ",d" } }),
      { displayModeBar: false, responsive: true });
    }
  };

  function drawCharts(setup) {
    var source = document.getElementById("campaign-charts");
    var charts = source ? JSON.parse(source.textContent || "{}") : {};
    var boxes = document.querySelectorAll("[data-chart]");
    if (!boxes.length) { return; }
    var labels = {
      opens: setup.getAttribute("data-label-opens"),
      clicks: setup.getAttribute("data-label-clicks"),
      conversions: setup.getAttribute("data-label-conversions"),
      revenue: setup.getAttribute("data-label-revenue")
    };
    loadPlotly(setup.getAttribute("data-plotly-src")).then(function () {
      boxes.forEach(function (box) {
        var name = box.getAttribute("data-chart");
        if (charts[name] && draw[name]) { draw[name](box, charts[name], labels); }
      });
    });
  }

  function loadPlotly(src) {
    return new Promise(function (resolve, reject) {
      if (window.Plotly) { resolve(); return; }
      var script = document.createElement("script");
      script.src = src;
      script.onload = function () { resolve(); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function live(box) {
    var numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
    var percent = new Intl.NumberFormat(document.documentElement.lang || undefined,
      { style: "percent", maximumFractionDigits: 1 });
    var bar = box.querySelector("[data-progress]");
    var text = box.querySelector("[data-progress-text]");
    var shown = box.getAttribute("data-status");

    function show(report) {
      var t = report.total;
      var done = t.sent + t.failed + t.unknown + t.skipped;
      bar.max = Math.max(done + t.queued, 1);
      bar.value = done;
      text.textContent = box.getAttribute("data-progress-template")
        .replace("{done}", numbers.format(done))
        .replace("{total}", numbers.format(done + t.queued))
        .replace("{waiting}", numbers.format(t.queued));
      ["sent", "delivered", "failed", "unique_opens", "unique_clicks", "unsubscribes", "bounces",
       "complaints", "conversions"].forEach(function (name) {
        var cell = document.querySelector('[data-figure="' + name + '"]');
        if (cell) { cell.textContent = numbers.format(t[name]); }
      });
      var ctr = document.querySelector('[data-figure="ctr"]');
      if (ctr) { ctr.textContent = percent.format(t.click_rate); }
    }

    function poll() {
      window.fetch(box.getAttribute("data-poll-url"),
                   { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (report) {
          if (report.status !== shown) { window.location.reload(); return; }
          show(report);
          window.setTimeout(poll, POLL_MS);
        })
        .catch(function () { window.setTimeout(poll, POLL_MS * 3); });
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-campaign-form]").forEach(accountFilter);
    var setup = document.getElementById("campaign-chart-setup");
    if (setup) { drawCharts(setup); }
    var box = document.querySelector("[data-campaign-report]");
    if (box && box.getAttribute("data-active") === "true") { live(box); }
  });
})();
