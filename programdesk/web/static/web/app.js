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
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-mark-all]");
  if (!button) return;
  // "Mark all present": tick, in every row of the sheet, the first status of the given bucket.
  const form = document.getElementById(button.dataset.form);
  for (const group of form.querySelectorAll("fieldset")) {
    const choice = group.querySelector(`input[data-bucket="${button.dataset.markAll}"]`);
    if (choice) choice.checked = true;
  }
});
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});
document.addEventListener("focusin", (event) => {
  // A read-only field to copy from (the calendar feed's address) selects itself.
  if (event.target.matches("input[data-select-on-focus]")) event.target.select();
});
