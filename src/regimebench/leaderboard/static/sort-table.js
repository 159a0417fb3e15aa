// Click a header of a table.sortable to sort its body by that column; click again to reverse.
// Cells may carry data-value (a number, "Infinity" for failed or missing) to sort numerically;
// otherwise their text is compared. Written for regimebench; no dependencies.
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
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  function init() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      table.querySelectorAll("thead th").forEach(function (th) {
        if (th.classList.contains("nosort")) return;
        th.tabIndex = 0;
        th.title = "sort by this column";
        th.addEventListener("click", function () { sortBy(table, th); });
        th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(table, th); });
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
