// Sort a table.sortable by a column: each sortable header gets a small sort button (the header's
// label itself may be a link to the statistic's definition, which must stay a plain link).
// Click again to reverse. Cells may carry data-value (a number, "Infinity" for failed or
// missing) to sort numerically; otherwise their text is compared. Written for regimebench.
(function () {
  "use strict";
  function key(cell) {
    if (!cell) return "";
    var v = cell.getAttribute("data-value");
    if (v !== null) { var x = parseFloat(v); return isNaN(x) ? v : x; }
    return cell.textContent.trim().toLowerCase();
  }
  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a === b ? 0 : (a < b ? -1 : 1);
    return String(a).localeCompare(String(b));
  }
  function sortBy(table, th) {
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var c = compare(key(r1.cells[index]), key(r2.cells[index]));
      return ascending ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.children, function (h) {
      h.removeAttribute("aria-sort");
      var b = h.querySelector("button.sort");
      if (b) b.textContent = "⇅";
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    th.querySelector("button.sort").textContent = ascending ? "▲" : "▼";
  }
  function init() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      table.querySelectorAll("thead th").forEach(function (th) {
        if (th.classList.contains("nosort")) return;
        var button = document.createElement("button");
        button.type = "button";
        button.className = "sort";
        button.title = "sort by this column";
        button.setAttribute("aria-label", "sort by " + th.textContent.trim());
        button.textContent = "⇅";
        button.addEventListener("click", function () { sortBy(table, th); });
        th.appendChild(button);
        th.addEventListener("click", function (e) {  // the header's padding sorts too
          if (e.target === th) sortBy(table, th);
        });
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
