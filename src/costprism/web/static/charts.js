// Draws every <div class="chart" data-figure='{"data": [...], "layout": {...}}'> with
// plotly.js (served at /static-vendor/plotly.min.js), on load and after htmx swaps. The
// figures are built on the server (costprism/web/pages/charts.py).
(function () {
  "use strict";

  function draw(root) {
    if (typeof Plotly === "undefined") return;
    root.querySelectorAll(".chart[data-figure]").forEach(function (element) {
      if (element.dataset.drawn === "1") return;
      var figure = JSON.parse(element.dataset.figure);
      Plotly.newPlot(element, figure.data, figure.layout, {
        displaylogo: false,
        responsive: true,
      });
      element.dataset.drawn = "1";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    draw(event.target);
  });

  // A 400 answer to an htmx request carries a message to show (a bad drill-down), not an
  // empty failure: swap it in like a success.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
