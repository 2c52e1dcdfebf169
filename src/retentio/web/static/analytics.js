// The Analytics page's script: draws every chart from the JSON the page embeds, with the
// bundled Plotly.js (served from /static/vendor, no CDN) loaded after the page is ready, as
// on the dashboard. The tables next to the charts hold the same numbers without a script.
(function () {
  "use strict";

  var BLUE = "#2f6fdf", GREY = "#9aa4b5", RED = "#c53030";
  var labels = {};

  function label(name, fallback) { return labels[name] || fallback; }

  function layout(box, extra) {
    var russian = box.getAttribute("data-locale") === "ru";
    var base = {
      margin: { t: 10, r: 10, b: 50, l: 70 },
      height: 320,
      separators: russian ? ", " : ".,",
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      legend: { orientation: "h", y: -0.25 }
    };
    Object.keys(extra || {}).forEach(function (key) { base[key] = extra[key]; });
    return base;
  }

  function plot(box, traces, extra) {
    window.Plotly.newPlot(box, traces, layout(box, extra), { displayModeBar: false, responsive: true });
  }

  function laterMax(rows) {
    var most = 0;
    rows.forEach(function (row) {
      row.slice(1).forEach(function (v) { if (v !== null && v > most) { most = v; } });
    });
    return most;
  }

  var draw = {
    cohorts: function (box, data) {
      var measure = box.getAttribute("data-measure") || "retention";
      var percent = measure === "retention";
      var z = data.z[measure];
      var trace = {
        type: "heatmap",
        x: data.x, y: data.y, z: z,
        colorscale: "Blues", reversescale: true, hoverongaps: false,
        hovertemplate: label("cohort", "Cohort") + " %{y}, " + label("month", "Month") +
          " %{x}: %{z:,.1f}" + (percent ? "%" : "") + "<extra></extra>"
      };
      // Month 0 is 100 % retention (and the first order's revenue) for every cohort: scaled
      // to the later months, so that their differences show; month 0 is drawn at the top.
      var later = laterMax(z);
      if (measure !== "ltv" && later > 0) { trace.zmin = 0; trace.zmax = later; }
      plot(box, [trace], {
        height: Math.max(320, 22 * data.y.length + 90),
        xaxis: { title: { text: label("month", "Months since first purchase") }, dtick: 1 },
        yaxis: { type: "category", autorange: "reversed" }
      });
    },
    rfm: function (box, data) {
      plot(box, [{
        type: "heatmap",
        x: data.x.map(function (f) { return "F" + f; }),
        y: data.y.map(function (r) { return "R" + r; }),
        z: data.z, customdata: data.segment.map(function (row, i) {
          return row.map(function (name, j) { return [name, data.revenue[i][j]]; });
        }),
        colorscale: "Blues", reversescale: true,
        hovertemplate: "%{y} %{x}: %{customdata[0]}<br>" + label("customers", "Customers") +
          ": %{z:,}<br>" + label("revenue", "Revenue") + ": %{customdata[1]:,.2f} ₽<extra></extra>"
      }], {
        xaxis: { title: { text: label("frequency", "Frequency score (F)") } },
        yaxis: { title: { text: label("recency", "Recency score (R)") }, type: "category",
                 autorange: "reversed" }
      });
    },
    deciles: function (box, data) {
      plot(box, [
        { type: "bar", name: label("clv", "Mean predicted CLV"), x: data.x, y: data.clv,
          marker: { color: BLUE }, hovertemplate: "%{y:,.2f} ₽<extra></extra>" },
        { type: "bar", name: label("actualRevenue", "Mean revenue to date"), x: data.x,
          y: data.revenue, marker: { color: GREY }, hovertemplate: "%{y:,.2f} ₽<extra></extra>" }
      ], {
        barmode: "group",
        xaxis: { title: { text: label("decile", "CLV decile") }, dtick: 1 },
        yaxis: { tickformat: ",.0f", rangemode: "tozero" }
      });
    },
    base: function (box, data) {
      // Reachable channels first (blue), then the fields of a complete record (grey).
      plot(box, [{
        type: "bar", x: data.x, y: data.y,
        marker: { color: data.x.map(function (_, i) { return i < data.reach ? BLUE : GREY; }) },
        hovertemplate: "%{x}: %{y:.1f}%<extra></extra>"
      }], {
        yaxis: { ticksuffix: "%", range: [0, 100] }
      });
    },
    p_alive: function (box, data) {
      plot(box, [{
        type: "bar", x: data.x, y: data.y, width: data.width, marker: { color: BLUE },
        hovertemplate: "%{x:.3f}: %{y:,}<extra></extra>"
      }], {
        bargap: 0.05,
        xaxis: { title: { text: label("pAlive", "P(alive)") }, range: [0, 1] },
        yaxis: { title: { text: label("customers", "Customers") }, rangemode: "tozero" }
      });
    },
    flow: function (box, data) {
      plot(box, [{
        type: "sankey", arrangement: "snap",
        node: { label: data.labels, pad: 14, thickness: 14, color: BLUE },
        link: { source: data.source, target: data.target, value: data.value,
                color: "rgba(47,111,223,0.25)" }
      }], { height: 380, margin: { t: 10, r: 10, b: 10, l: 10 } });
    },
    levers: function (box, data) {
      plot(box, [{
        type: "bar", x: data.x, y: data.y,
        marker: { color: data.x.map(function (name) { return name === data.weakest ? RED : BLUE; }) },
        hovertemplate: "%{x}: %{y:+.1f}%<extra></extra>"
      }], {
        height: 280,
        yaxis: { title: { text: label("change", "Change, %") }, zeroline: true, ticksuffix: "%" }
      });
    },
    holdout_buckets: function (box, data) {
      var b = data.buckets;
      plot(box, [
        { type: "bar", name: label("actual", "Actual"), x: b.x, y: b.actual, marker: { color: GREY } },
        { type: "bar", name: label("predicted", "Predicted"), x: b.x, y: b.predicted, marker: { color: BLUE } }
      ], {
        barmode: "group",
        xaxis: { title: { text: label("repeat", "Repeat purchases in calibration") }, type: "category" },
        yaxis: { title: { text: label("holdoutMean", "Mean purchases in the holdout") }, rangemode: "tozero" }
      });
    },
    holdout_tracking: function (box, data) {
      var t = data.tracking;
      var extra = {
        xaxis: { type: "date" },
        yaxis: { title: { text: label("cumulative", "Cumulative repeat purchases") }, rangemode: "tozero" }
      };
      if (t.calibration_end) {
        extra.shapes = [{ type: "line", xref: "x", yref: "paper", x0: t.calibration_end,
          x1: t.calibration_end, y0: 0, y1: 1, line: { color: RED, dash: "dot", width: 1 } }];
        extra.annotations = [{ x: t.calibration_end, y: 1, xref: "x", yref: "paper",
          text: label("calibrationEnd", "End of calibration"), showarrow: false,
          xanchor: "right", yanchor: "top", font: { size: 11, color: RED } }];
      }
      plot(box, [
        { type: "scatter", mode: "lines", name: label("actual", "Actual"), x: t.x, y: t.actual,
          line: { color: GREY, width: 3 } },
        { type: "scatter", mode: "lines", name: label("predicted", "Predicted"), x: t.x,
          y: t.predicted, line: { color: BLUE, dash: "dash" } }
      ], extra);
    }
  };

  // The payload key each chart reads; the two holdout charts share one.
  var SOURCE = { holdout_buckets: "holdout", holdout_tracking: "holdout" };

  function drawAll(root, charts) {
    root.querySelectorAll("[data-chart]").forEach(function (box) {
      var name = box.getAttribute("data-chart");
      var data = charts[SOURCE[name] || name];
      if (!data || !draw[name]) { return; }
      box.setAttribute("data-locale", document.documentElement.lang);
      draw[name](box, data);
    });
  }

  // A section rendered by its own request (the model check): fetched at once, put in place
  // when Plotly is there too, then its charts are drawn from the JSON it carries.
  function loadFragment(placeholder, plotlyReady) {
    var fail = function () {
      var note = document.createElement("p");
      note.className = "flash flash-error";
      note.setAttribute("role", "alert");
      note.textContent = placeholder.getAttribute("data-fragment-error");
      placeholder.appendChild(note);
    };
    var html = fetch(placeholder.getAttribute("data-fragment"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      });
    Promise.all([html, plotlyReady])
      .then(function (results) {
        var holder = document.createElement("div");
        holder.innerHTML = results[0];
        var section = holder.querySelector("section");
        if (!section) { throw new Error("no section"); }
        placeholder.replaceWith(section);
        drawEmbedded(section);
      })
      .catch(fail);
  }

  function drawEmbedded(root) {
    // Once each: a fragment may arrive before or after the page's own charts are drawn.
    root.querySelectorAll("script[data-charts]:not([data-drawn])").forEach(function (source) {
      source.setAttribute("data-drawn", "");
      drawAll(source.parentNode, JSON.parse(source.textContent || "{}"));
    });
  }

  function readLabels(holder) {
    Array.prototype.forEach.call(holder.attributes, function (attribute) {
      if (attribute.name.indexOf("data-label-") !== 0) { return; }
      var key = attribute.name.slice(11).replace(/-([a-z])/g, function (_m, c) { return c.toUpperCase(); });
      labels[key] = attribute.value;
    });
  }

  function bindMeasure(charts) {
    var select = document.querySelector("[data-cohort-measure]");
    var box = document.querySelector("[data-chart=cohorts]");
    if (!select) { return; }
    var button = select.form && select.form.querySelector("[data-noscript-only]");
    if (button) { button.remove(); }  // the select redraws at once; `hidden` loses to CSS
    select.addEventListener("change", function () {
      // Redrawn here, no round trip; the tables follow, and the URL keeps the choice.
      if (box) {
        box.setAttribute("data-measure", select.value);
        draw.cohorts(box, charts.cohorts);
      }
      document.querySelectorAll("[data-cohort-table]").forEach(function (table) {
        table.hidden = table.getAttribute("data-cohort-table") !== select.value;
      });
      var url = new URL(window.location.href);
      url.searchParams.set("measure", select.value);
      window.history.replaceState(null, "", url.toString());
    });
  }

  function bindAutosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
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

  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.getElementById("analytics-charts");
    if (!holder) { return; }
    readLabels(holder);
    var source = document.getElementById("analytics-data");
    var charts = source ? JSON.parse(source.textContent || "{}") : {};
    bindAutosubmit();
    var plotlyReady = loadPlotly(holder.getAttribute("data-plotly-src"));
    document.querySelectorAll("[data-fragment]").forEach(function (placeholder) {
      loadFragment(placeholder, plotlyReady);
    });
    plotlyReady.then(function () {
      drawAll(document, charts);
      drawEmbedded(document);  // the model check's own page
      bindMeasure(charts);
    });
  });
})();
