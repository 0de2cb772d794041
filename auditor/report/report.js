// Sorting and filtering for the host table. Reads only the page's own text: no data
// is interpolated into this script, so escaping the HTML is all the escaping needed.
(function () {
  "use strict";
  var table = document.getElementById("hosts");
  if (!table) { return; }
  var body = table.tBodies[0];
  var search = document.getElementById("search");
  var onlyAction = document.getElementById("only-action");
  var shown = document.getElementById("shown");
  document.getElementById("controls").hidden = false;
  var cards = Array.prototype.slice.call(document.querySelectorAll("button[data-verdict]"));
  var active = {};

  function value(row, index) {
    var cell = row.cells[index];
    return cell.getAttribute("data-sort") || cell.textContent.trim();
  }

  function compare(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && !isNaN(x) && !isNaN(y)) { return x - y; }
    if (a === "" && b !== "") { return 1; }
    if (b === "" && a !== "") { return -1; }
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  function sortBy(th) {
    var index = th.cellIndex;
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var d = compare(value(r1, index), value(r2, index));
      return ascending ? d : -d;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function apply() {
    var query = search.value.trim().toLowerCase();
    var any = Object.keys(active).length > 0;
    var count = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var verdict = row.getAttribute("data-verdict");
      var visible = (!any || active[verdict]) &&
        !(onlyAction.checked && verdict === "ok") &&
        (!query || row.textContent.toLowerCase().indexOf(query) >= 0);
      row.hidden = !visible;
      var card = document.getElementById(row.getAttribute("data-card"));
      if (card) { card.hidden = !visible; }
      if (visible) { count += 1; }
    });
    shown.textContent = "showing " + count + " of " + body.rows.length + " hosts";
  }

  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    var button = th.querySelector("button");
    if (button) { button.addEventListener("click", function () { sortBy(th); }); }
  });
  cards.forEach(function (card) {
    card.addEventListener("click", function () {
      var verdict = card.getAttribute("data-verdict");
      if (active[verdict]) { delete active[verdict]; } else { active[verdict] = true; }
      card.setAttribute("aria-pressed", active[verdict] ? "true" : "false");
      apply();
    });
  });
  search.addEventListener("input", apply);
  onlyAction.addEventListener("change", apply);
  apply();
})();
