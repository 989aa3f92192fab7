// Sortable tables, inlined into the page (no library, nothing fetched). A header cell with
// data-kind="num" or "text" becomes a button; rows are reordered by each cell's data-sort value
// (the text when it has none). Cells without a value always go last. Only rows are moved: no
// markup is ever built from the page's content.
(function () {
  "use strict";
  function value(row, col, kind) {
    var cell = row.cells[col];
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (raw === "") return null;
    if (kind === "num") {
      var number = parseFloat(raw);
      return isNaN(number) ? null : number;
    }
    return raw.toLowerCase();
  }
  function sortBy(table, th, col) {
    var kind = th.getAttribute("data-kind");
    var first = th.getAttribute("data-first") || (kind === "num" ? "descending" : "ascending");
    var current = th.getAttribute("aria-sort");
    var order = current === first ? (first === "ascending" ? "descending" : "ascending") : first;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", order);
    var sign = order === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, col, kind);
      var y = value(b, col, kind);
      if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
      if (x < y) return -sign;
      if (x > y) return sign;
      return 0;
    });
    rows.forEach(function (row) {
      body.appendChild(row);
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      if (!th.hasAttribute("data-kind")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () {
        sortBy(table, th, col);
      });
    });
  });
})();
