// Overview filters (budget, task, problem): plain JavaScript, no network, works from file://.
// Without JavaScript the form stays hidden and the page shows the default budget, unfiltered.
(function () {
  "use strict";
  function apply() {
    var budget = document.getElementById("f-budget").value;
    var task = document.getElementById("f-task").value;
    var problem = document.getElementById("f-problem").value;
    document.querySelectorAll(".budget-block").forEach(function (block) {
      block.hidden = block.getAttribute("data-budget") !== budget;
    });
    document.querySelectorAll("[data-problem][data-task]").forEach(function (el) {
      var keep = (!task || el.getAttribute("data-task") === task) &&
                 (!problem || el.getAttribute("data-problem") === problem);
      el.style.display = keep ? "" : "none";
    });
  }
  function init() {
    var form = document.getElementById("filters");
    if (!form) return;
    form.hidden = false;
    form.querySelectorAll("select").forEach(function (s) { s.addEventListener("change", apply); });
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    apply();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
