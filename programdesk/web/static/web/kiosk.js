// The kiosk is shared: a "Welcome, Kai!" left on the screen would greet the next person with
// someone else's name. Messages clear after a few seconds, or as soon as someone starts typing
// or tapping.
(() => {
  const messages = document.querySelector(".kiosk .messages");
  if (!messages) return;
  const CLEAR_AFTER_MS = 6000;
  let cleared = false;
  function clear() {
    if (cleared) return;
    cleared = true;
    messages.remove();
  }
  const timer = window.setTimeout(clear, CLEAR_AFTER_MS);
  // "click", not "pointerdown": the message goes once the tap has landed, so the page does not
  // move under a finger that is still on the screen.
  for (const type of ["keydown", "click", "input"]) {
    document.addEventListener(type, () => { window.clearTimeout(timer); clear(); },
                              { once: true, capture: true });
  }
})();

// Someone quick (or a slow tablet) may type before htmx is ready: the live search listens
// only from then on, so what was typed meanwhile is searched as soon as it is.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("kiosk-q");
  if (!box || !window.htmx || box.value.trim().length < 2) return;
  window.htmx.trigger(box.form, "submit");
});
