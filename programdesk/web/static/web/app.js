// Small progressive enhancements; every page works without them.
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});
document.addEventListener("focusin", (event) => {
  // A read-only field to copy from (the calendar feed's address) selects itself.
  if (event.target.matches("input[data-select-on-focus]")) event.target.select();
});
