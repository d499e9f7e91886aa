// Show only the parts of the rule that apply to the chosen frequency, and keep the weekday
// in step with the first date. The page works without this (everything is shown).
(function () {
  var DAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
  function sync() {
    var select = document.getElementById("id_frequency");
    if (!select) { return; }
    document.querySelectorAll("[data-show]").forEach(function (el) {
      el.hidden = el.getAttribute("data-show").split(" ").indexOf(select.value) < 0;
    });
  }
  function weekdayOf(value) {
    var parts = (value || "").split("-");
    if (parts.length !== 3) { return null; }
    return DAYS[new Date(Date.UTC(+parts[0], +parts[1] - 1, +parts[2])).getUTCDay()];
  }
  document.addEventListener("focusin", function (event) {
    if (event.target && event.target.id === "id_first_date") {
      event.target.setAttribute("data-before", event.target.value);
    }
  });
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target) { return; }
    if (target.id === "id_frequency") { sync(); }
    if (target.id === "id_first_date") {
      var before = weekdayOf(target.getAttribute("data-before"));
      var after = weekdayOf(target.value);
      var ticked = Array.prototype.slice.call(
        document.querySelectorAll("input[name=weekdays]:checked")).map(function (b) { return b.value; });
      if (after && (ticked.length === 0 || (ticked.length === 1 && ticked[0] === before))) {
        document.querySelectorAll("input[name=weekdays]").forEach(function (box) {
          box.checked = box.value === after;
        });
      }
      target.setAttribute("data-before", target.value);
    }
  });
  document.addEventListener("DOMContentLoaded", sync);
  document.addEventListener("htmx:afterSettle", sync);
})();
