// The attendance sheet (web/participation/_attendance_sheet.html), a tablet tool: counts that
// move as people are marked, "Mark all present" without a round trip, a warning before leaving
// with marks not saved, and walk-ins' rows (added by htmx from the walk-in panel) counted like
// the others. The sheet works without this file; it is only faster and safer with it.
(() => {
  const form = document.querySelector("form[data-sheet]");
  if (!form) return;
  const BUCKETS = ["delivered", "absent", "excused", "expected", "cancelled"];
  let submitting = false;

  // An empty quantity keeps the saved one; "1" and "1.00" are the same quantity.
  const sameQuantity = (typed, saved) => {
    const a = typed.trim();
    return a === "" || a === saved || Number(a) === Number(saved);
  };

  const unsavedRows = () => {
    let n = 0;
    for (const row of form.querySelectorAll("[data-sheet-row]")) {
      const group = row.querySelector("fieldset[data-saved]");
      const checked = group && group.querySelector("input:checked");
      const quantity = row.querySelector("input[data-saved]:not([type=radio])");
      if ((checked && checked.value !== group.dataset.saved)
          || (quantity && !sameQuantity(quantity.value, quantity.dataset.saved))) n += 1;
    }
    return n;
  };

  const update = () => {
    const counts = Object.fromEntries(BUCKETS.map((bucket) => [bucket, 0]));
    for (const checked of form.querySelectorAll("fieldset[data-saved] input:checked")) {
      if (checked.dataset.bucket in counts) counts[checked.dataset.bucket] += 1;
    }
    for (const bucket of BUCKETS) {
      const shown = form.querySelector(`[data-count="${bucket}"]`);
      if (shown) shown.textContent = String(counts[bucket]);
    }
    const cancelled = form.querySelector('[data-count-box="cancelled"]');
    if (cancelled) cancelled.hidden = counts.cancelled === 0;
    const rate = document.getElementById("attendance-rate");
    const counted = counts.delivered + counts.absent;
    if (rate) rate.textContent = counted ? `${Math.round((100 * counts.delivered) / counted)}%` : "—";
    const n = unsavedRows();
    const note = form.querySelector("[data-sheet-unsaved]");
    // The words come from the page, in its language (data-one, data-many: _attendance_sheet.html).
    if (note) note.textContent = n ? (n === 1 ? note.dataset.one : note.dataset.many.replace("{n}", n)) : "";
    form.classList.toggle("sheet-dirty", n > 0);
    const empty = form.querySelector("[data-sheet-empty]");
    if (empty && form.querySelector("[data-sheet-row]")) empty.remove();
  };

  form.addEventListener("change", update);
  form.addEventListener("input", update);
  form.addEventListener("click", (event) => {
    if (!event.target.closest("[data-sheet-mark-all]")) return;
    // "Mark all present" marks everyone not recorded yet; marks already made stay.
    event.preventDefault();
    for (const group of form.querySelectorAll("fieldset[data-saved]:not([disabled])")) {
      const checked = group.querySelector("input:checked");
      if (checked && checked.dataset.bucket !== "expected") continue;
      const present = group.querySelector('input[data-bucket="delivered"]');
      if (present) present.checked = true;
    }
    update();
  });
  form.addEventListener("submit", () => { submitting = true; });
  window.addEventListener("pageshow", () => { submitting = false; update(); });
  window.addEventListener("beforeunload", (event) => {
    if (submitting || unsavedRows() === 0) return;
    event.preventDefault();
    event.returnValue = "";  // older browsers show their warning only when this is set
  });

  // "Add a walk-in": straight to the search field.
  const search = document.getElementById("walk-in-q");
  document.addEventListener("click", (event) => {
    if (!event.target.closest("[data-sheet-walk-in]") || !search) return;
    event.preventDefault();
    search.focus();
  });
  // A walk-in was added: their row came with the answer (htmx, out of band). Count it, say so
  // where the keyboard is, and clear the search for the next one.
  document.body.addEventListener("htmx:afterSettle", () => {
    update();
    const added = document.querySelector("[data-walk-in-added]");
    if (!added || added.dataset.announced) return;
    added.dataset.announced = "1";
    added.focus();
    if (search) search.value = "";
  });
})();
