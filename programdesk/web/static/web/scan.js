// Check-in cards (docs/front-desk.md, "Cards"). A card's code is printed as a QR code and in
// text: 12 characters in three groups, "7KQ3-XM2D-9RTB".
//
// - A keyboard-wedge scanner is a keyboard: it types the code and presses Enter. In a box
//   marked data-card-scan="FORM", an Enter on something shaped like a card code posts it
//   through the form FORM (its input "code"), instead of searching for a name.
// - Where the browser offers the BarcodeDetector API with QR codes (Chrome on Android, for
//   one), a button data-card-camera="FORM" appears: it reads the card with the camera and
//   posts the code the same way. Elsewhere the button stays hidden.
// - On the attendance sheet (data-card-scan="sheet") nothing is posted: the row of the
//   person whose card it is (data-cards on the row) is marked present, unsaved, like a tap,
//   and the sheet's Save records it with the rest.
(() => {
  const CARD = /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/i;
  const clean = (text) => text.trim().toUpperCase();

  const say = (box, text) => {
    let status = document.getElementById("card-scan-status");
    if (!status) {
      status = document.createElement("p");
      status.id = "card-scan-status";
      status.setAttribute("role", "status");
      status.className = "notice";
      box.insertAdjacentElement("afterend", status);
    }
    status.textContent = text;
  };

  const onSheet = (box, code) => {
    const row = Array.from(document.querySelectorAll("[data-sheet-row][data-cards]"))
      .find((r) => r.dataset.cards.split(" ").includes(code));
    if (!row) {
      say(box, box.dataset.cardUnknown || "No one on this sheet has this card.");
      return;
    }
    const present = row.querySelector('input[type=radio][data-bucket="delivered"]');
    if (present && !present.disabled) {
      present.checked = true;
      present.dispatchEvent(new Event("change", { bubbles: true }));
    }
    row.scrollIntoView({ block: "center" });
    const name = row.querySelector(".sheet-name");
    say(box, `${(box.dataset.cardMarked || "Marked present (not saved yet):")} ${name ? name.textContent.trim() : code}`);
    box.value = "";
  };

  const post = (target, code) => {
    const form = document.getElementById(target);
    if (!form) return;
    form.elements.code.value = code;
    form.requestSubmit();
  };

  const scanned = (box, code) => {
    if (box.dataset.cardScan === "sheet") onSheet(box, code);
    else post(box.dataset.cardScan, code);
  };

  // Capture: before the box's own form hears the Enter (htmx's live search, a plain submit).
  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (event.key !== "Enter" || !(box instanceof HTMLInputElement) || !box.dataset.cardScan) {
      return;
    }
    const code = clean(box.value);
    if (!CARD.test(code)) return;
    event.preventDefault();
    event.stopPropagation();
    scanned(box, code);
  }, true);

  // The camera, where the browser can read QR codes.
  const cameraReady = async () => {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) return false;
    try {
      return (await window.BarcodeDetector.getSupportedFormats()).includes("qr_code");
    } catch {
      return false;
    }
  };

  const readWithCamera = async (button) => {
    const target = button.dataset.cardCamera;
    const video = document.querySelector(`video[data-card-video="${target}"]`);
    if (!video) return;
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    const stop = () => { stream.getTracks().forEach((t) => t.stop()); video.hidden = true; };
    const started = Date.now();
    const look = async () => {
      if (Date.now() - started > 60000) { stop(); return; }  // a minute, then give up
      const found = (await detector.detect(video).catch(() => [])).map((c) => clean(c.rawValue));
      const code = found.find((c) => CARD.test(c));
      if (code) {
        stop();
        const box = document.querySelector(`[data-card-scan="${target}"]`);
        if (box) scanned(box, code); else post(target, code);
        return;
      }
      window.setTimeout(look, 250);
    };
    look();
  };

  document.addEventListener("DOMContentLoaded", async () => {
    const buttons = document.querySelectorAll("[data-card-camera]");
    if (!buttons.length || !(await cameraReady())) return;
    for (const button of buttons) {
      button.hidden = false;
      button.addEventListener("click", () => { readWithCamera(button).catch(() => {}); });
    }
  });
})();
