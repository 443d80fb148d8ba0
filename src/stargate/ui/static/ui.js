// Stargate admin UI: the only script of our own (served from /ui/static: the CSP allows no
// inline script). Draws the overview charts with uPlot and wires the copy buttons.
(function () {
  "use strict";

  function drawCharts(root) {
    var figure = root.querySelector ? root.querySelector("#chart") : null;
    if (!figure || typeof uPlot === "undefined" || figure.dataset.drawn) return;
    var data = JSON.parse(figure.dataset.chart);
    var width = Math.max(320, figure.clientWidth - 32);
    var dateOnly = function (u, splits) {
      return splits.map(function (s) { return new Date(s * 1000).toISOString().slice(0, 10); });
    };
    var money = function (u, splits) {
      return splits.map(function (v) { return v === 0 ? "$0" : "$" + Number(v.toPrecision(2)); });
    };
    var common = function (label, stroke, fill) {
      return {
        width: width, height: 180,
        scales: { x: { time: false } },
        axes: [{ values: dateOnly }, label.indexOf("USD") >= 0 ? { size: 80, values: money } : { size: 60 }],
        series: [{ label: "period", value: function (u, v) { return v == null ? "-" : new Date(v * 1000).toISOString().slice(0, 10); } },
                 { label: label, stroke: stroke, fill: fill, width: 2, points: { show: true } }],
      };
    };
    new uPlot(common("spend (USD)", "#2563eb", "rgba(37,99,235,0.12)"), [data.x, data.spend], figure.querySelector("#chart-spend"));
    new uPlot(common("requests", "#059669", "rgba(5,150,105,0.12)"), [data.x, data.requests], figure.querySelector("#chart-requests"));
    figure.dataset.drawn = "1";
  }

  function wireCopy(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (button.dataset.wired) return;
      button.dataset.wired = "1";
      button.addEventListener("click", function () {
        var text = document.getElementById(button.dataset.copy).textContent.trim();
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { select(button); });
        } else {
          select(button);
        }
      });
    });
  }

  function select(button) {
    var range = document.createRange();
    range.selectNodeContents(document.getElementById(button.dataset.copy));
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = document.execCommand("copy") ? "Copied" : "Selected: press Ctrl+C";
  }

  function init(root) { drawCharts(root); wireCopy(root); }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target.ownerDocument || document); });
})();
