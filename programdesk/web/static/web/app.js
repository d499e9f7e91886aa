// Small progressive enhancements; every page works without them.
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
