// The dashboard's script: draws the weekly revenue trend with Plotly.js. Plotly (about 5 MB,
// the copy inside the installed `plotly` package, served from /static/vendor: no CDN) is
// loaded only after the page is ready, so it never delays the shell's own script.
(function () {
  "use strict";

  function draw(box, data) {
    var russian = box.getAttribute("data-locale") === "ru";
    var y = data.y || [];
    var empty = y.every(function (v) { return v === 0; });
    var trace = {
      type: "bar",
      x: data.x || [],
      y: y,
      name: box.getAttribute("data-revenue-label") || "Revenue",
      marker: { color: "#2f6fdf" },
      hovertemplate: (box.getAttribute("data-week-label") || "Week of") +
        " %{x|%d.%m.%Y}<br>%{y:,.2f} ₽<extra></extra>"
    };
    var layout = {
      margin: { t: 10, r: 10, b: 40, l: 70 },
      height: 320,
      separators: russian ? ", " : ".,",
      xaxis: { type: "date", tickformat: "%d.%m" },
      yaxis: { tickformat: ",.0f", rangemode: "tozero" },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)"
    };
    if (empty) { layout.yaxis.range = [0, 100]; }
    window.Plotly.newPlot(box, [trace], layout, { displayModeBar: false, responsive: true });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("revenue-trend");
    var source = document.getElementById("revenue-trend-data");
    if (!box || !source) { return; }
    var data = JSON.parse(source.textContent || "{}");
    if (window.Plotly) { draw(box, data); return; }
    var script = document.createElement("script");
    script.src = box.getAttribute("data-plotly-src");
    script.onload = function () { draw(box, data); };
    document.head.appendChild(script);
  });
})();
