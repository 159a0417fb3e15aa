// Draw every chart of the page: each div.chart names a <script type="application/json"> block
// holding a Vega-Lite spec with its data inline, rendered to SVG by the vendored vegaEmbed.
// Inline data is what makes this work from file:// as well as over http.
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("div.chart[data-spec]").forEach(function (div) {
      var block = document.getElementById(div.getAttribute("data-spec"));
      if (!block) return;
      if (typeof window.vegaEmbed !== "function") {
        div.textContent = "Charts need static/vendor/vega-bundle.js, which did not load.";
        return;
      }
      var spec = JSON.parse(block.textContent);
      window.vegaEmbed(div, spec, { renderer: "svg", actions: false })
        .then(function () { div.setAttribute("data-rendered", "true"); })
        .catch(function (err) { div.textContent = "chart error: " + err; });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
