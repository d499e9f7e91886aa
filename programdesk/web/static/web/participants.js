// "Add participants": say how many are ticked and, when the schedule has a capacity, whether
// adding them all would go over it — before anything is sent. The server checks again.
(() => {
  const form = document.getElementById("add-participants");
  const out = document.getElementById("selection-count");
  if (!form || !out) return;
  const capacity = out.dataset.capacity === "" ? null : Number(out.dataset.capacity);
  const onRoster = Number(out.dataset.onRoster || 0);

  function update() {
    const ticked = form.querySelectorAll(
      "input[name=person_ids]:checked, input[name=account_ids]:checked, " +
      "input[name=enrollment_ids]:checked").length;
    let text = ticked === 0 ? "Nobody ticked yet."
      : `${ticked} ${ticked === 1 ? "participant" : "participants"} ticked.`;
    if (capacity !== null && ticked > 0) {
      const over = onRoster + ticked - capacity;
      text += over > 0
        ? ` ${onRoster} of ${capacity} places are taken: adding all of them would be ${over} over capacity (people already on the roster do not count twice).`
        : ` ${onRoster + ticked} of ${capacity} places would be taken.`;
    }
    out.textContent = text;
  }
  form.addEventListener("change", update);
  document.body.addEventListener("htmx:afterSwap", update);
  update();
})();
