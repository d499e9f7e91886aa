// The card and roster pages' "Print" button (inline handlers are not allowed by the pages'
// Content-Security-Policy).
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) window.print();
});
