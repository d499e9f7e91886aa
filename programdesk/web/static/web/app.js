// Small progressive enhancements; every page works without them.
document.documentElement.classList.add("js");

// The menu button folds the navigation on a phone or a tablet (app.css shows it below 900 px).
document.addEventListener("click", (event) => {
  const button = event.target.closest(".menu-button");
  if (!button) return;
  const nav = document.getElementById(button.getAttribute("aria-controls"));
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", String(open));
  nav.classList.toggle("open", open);
});
document.addEventListener("keydown", (event) => {
  const button = document.querySelector(".menu-button[aria-expanded='true']");
  if (event.key === "Escape" && button) { button.click(); button.focus(); }
});

// Wide tables scroll inside their own box, never the page. The box is a labelled region and
// takes the keyboard focus only while it really scrolls (an arrow key then scrolls it). Cells of
// .stack tables carry their column's heading for the phone layout's stacked rows.
function fitTables(root) {
  for (const table of root.querySelectorAll("main table")) {
    let box = table.parentElement;
    if (!box.classList.contains("table-scroll")) {
      box = document.createElement("div");
      box.className = "table-scroll";
      table.before(box);
      box.append(table);
    }
    if (table.classList.contains("stack")) {
      const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
      for (const row of table.querySelectorAll("tbody tr")) {
        [...row.children].forEach((cell, i) => {
          if (heads[i] && !cell.dataset.label) cell.dataset.label = heads[i];
          // An empty value ("—") takes no line of its own in a stacked row.
          if (cell.textContent.trim() === "—") cell.dataset.empty = "";
        });
      }
    }
  }
  markScrolling();
}
function markScrolling() {
  for (const box of document.querySelectorAll(".table-scroll")) {
    const table = box.querySelector("table");
    if (box.scrollWidth > box.clientWidth + 1) {
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      const caption = table.querySelector("caption");
      const heading = box.closest("section")?.querySelector("h2, h3");
      box.setAttribute("aria-label", (caption || heading)?.textContent.trim() || "Table");
    } else if (box.hasAttribute("tabindex")) {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  }
}
fitTables(document);
document.addEventListener("htmx:afterSettle", (event) => fitTables(event.target.closest("main") || document));
window.addEventListener("resize", markScrolling);
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});
document.addEventListener("focusin", (event) => {
  // A read-only field to copy from (the calendar feed's address) selects itself.
  if (event.target.matches("input[data-select-on-focus]")) event.target.select();
});

// Searchable pickers: a long <select data-picker="households"> gets a search box above it that
// narrows its options to those containing every word typed (accents and case ignored), shown
// as an open list. The select stays the field the form sends.
const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
function addPicker(select) {
  if (select.dataset.pickerReady) return;
  select.dataset.pickerReady = "1";
  const search = document.createElement("input");
  search.type = "search";
  search.id = `${select.id}-search`;
  search.className = "picker-search";
  search.autocomplete = "off";
  search.setAttribute("aria-controls", select.id);
  const label = document.createElement("label");
  label.htmlFor = search.id;
  label.className = "picker-label";
  label.textContent = `Search ${select.dataset.picker}`;
  const count = document.createElement("p");
  count.className = "help";
  count.setAttribute("aria-live", "polite");
  select.before(label, search);
  select.after(count);
  search.addEventListener("input", () => {
    const words = fold(search.value).split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const option of select.options) {
      const match = !option.value || words.every((w) => fold(option.text).includes(w));
      option.hidden = !match;
      if (match && option.value) shown += 1;
    }
    select.size = words.length ? Math.min(8, Math.max(2, shown + 1)) : 0;
    count.textContent = words.length ? `${shown} match${shown === 1 ? "" : "es"}` : "";
  });
  search.addEventListener("keydown", (event) => {
    // Down arrow moves into the list; Enter picks the first match instead of sending the form.
    if (event.key === "ArrowDown" || event.key === "Enter") {
      const first = [...select.options].find((o) => !o.hidden && o.value);
      if (event.key === "Enter") {
        event.preventDefault();
        if (first) select.value = first.value;
      }
      select.focus();
    }
  });
}
for (const select of document.querySelectorAll("select[data-picker]")) addPicker(select);
