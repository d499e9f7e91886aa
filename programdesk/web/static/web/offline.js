// The offline front desk (docs/front-desk.md, Offline). Plain JavaScript, no build step.
//
// - Registers the service worker (/sw.js) and, on the front-desk pages, keeps a copy of the
//   pages (check-in, today's kiosks, attendance sheets, the walk-in pages opened here) and of
//   today's rosters (IndexedDB), only what the front desk needs: display names, household
//   size, card code, ids.
// - Check-ins, registrations, attendance marks and walk-in disbursements made while the server
//   cannot be reached go
//   into a queue (IndexedDB), each with an id made here — its Idempotency-Key — and the time it
//   happened; the queue is sent to POST /api/v1/sync on every page load, when the network comes
//   back, and every 5 seconds while something waits.
// - A banner always says where things stand: "Offline — 7 waiting to send" / "All sent".
// - Everything is wiped at logout and after 24 hours.
(() => {
  "use strict";
  if (!("indexedDB" in window)) return;
  const DB_NAME = "programdesk-offline";
  const PAGES = "programdesk-pages";
  const KEEP_MS = 24 * 3600 * 1000;
  const PROBE_MS = 5000;
  const WARM_MS = 10 * 60 * 1000;
  const BATCH = 50;
  const body = document.body;
  const user = body.dataset.user || "";
  const banner = document.getElementById("offline-banner");
  const words = banner ? banner.dataset : {};
  const path = location.pathname;
  const kioskMatch = path.match(/^\/kiosk\/(\d+)\/$/);
  const sheetMatch = path.match(/^\/sessions\/(\d+)\/$/);
  const walkInForm = document.querySelector("#bulk-form[data-walk-in]");
  const walkInMatch = path.match(/^\/benefits\/(\d+)\/bulk\/$/) && walkInForm
    ? [path, walkInForm.dataset.walkIn] : null;
  // The copy kept on the tablet (?offline=1): its list comes from the offline roster.
  const walkInOffline = Boolean(walkInMatch && walkInForm.dataset.walkInOffline);
  const frontDesk = path === "/kiosk/" || Boolean(kioskMatch || sheetMatch || walkInMatch);
  let online = navigator.onLine;
  let sending = false;
  let waiting = 0;
  let reviewed = 0;

  // --- storage ----------------------------------------------------------------------------

  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore("queue", {keyPath: "id"});
        request.result.createObjectStore("meta");
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function withStore(name, mode, work) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(name, mode);
      const request = work(transaction.objectStore(name));
      transaction.oncomplete = () => { db.close(); resolve(request ? request.result : undefined); };
      transaction.onerror = () => { db.close(); reject(transaction.error); };
    });
  }

  const queueAll = () => withStore("queue", "readonly", (s) => s.getAll());
  const queuePut = (item) => withStore("queue", "readwrite", (s) => s.put(item));
  const queueDelete = (ids) => withStore("queue", "readwrite", (s) => {
    ids.forEach((id) => s.delete(id));
  });
  const metaGet = (key) => withStore("meta", "readonly", (s) => s.get(key));
  const metaPut = (key, value) => withStore("meta", "readwrite", (s) => s.put(value, key));

  async function wipe(everything) {
    if ("caches" in window) {
      for (const name of await caches.keys()) {
        if (name === PAGES || everything) await caches.delete(name);
      }
    }
    if (everything) {
      await new Promise((resolve) => {
        const request = indexedDB.deleteDatabase(DB_NAME);
        request.onsuccess = request.onerror = request.onblocked = () => resolve();
      });
    } else {
      await withStore("meta", "readwrite", (s) => s.clear());
    }
  }

  // After 24 hours nothing is kept: the roster and pages, and records that could not be sent
  // (the banner warns while they wait).
  async function expire() {
    const roster = await metaGet("roster");
    if (roster && (Date.now() - roster.savedAt > KEEP_MS || roster.user !== user)) {
      await wipe(false);
    }
    const old = (await queueAll()).filter((item) => Date.now() - item.madeAt > KEEP_MS);
    if (old.length) await queueDelete(old.map((item) => item.id));
  }

  function deviceId() {
    let id = localStorage.getItem("programdesk-device-id");
    if (!id) {
      id = "d-" + crypto.randomUUID();
      localStorage.setItem("programdesk-device-id", id);
    }
    return id;
  }

  function csrfToken() {
    try {
      return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  // --- the banner -------------------------------------------------------------------------

  async function render() {
    if (!banner || !user) return;
    waiting = (await queueAll()).filter((item) => item.user === user).length;
    let text;
    if (!online) {
      text = words.offline + " — " + (waiting ? words.waiting.replace("%(count)s", waiting)
                                                : words.nothingWaiting);
    } else if (waiting) {
      text = words.waiting.replace("%(count)s", waiting);
    } else {
      text = words.allSent;
    }
    if (reviewed) text += " · " + words.review.replace("%(count)s", reviewed);
    banner.textContent = text;
    banner.dataset.state = !online ? "offline" : waiting ? "waiting" : "sent";
    banner.dataset.count = String(waiting);
    banner.hidden = !frontDesk && online && !waiting && !reviewed;
  }

  // --- reaching the server ----------------------------------------------------------------

  async function probe(timeoutMs) {
    if (!navigator.onLine) return false;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs || 4000);
    try {
      await fetch("/healthz", {cache: "no-store", redirect: "manual",
                               signal: controller.signal});
      return true;
    } catch (error) {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async function checkConnection() {
    const was = online;
    online = await probe();
    if (online && (!was || waiting)) await send();
    else await render();
  }

  async function send() {
    if (sending || !user) return;
    sending = true;
    try {
      const mine = (await queueAll()).filter((item) => item.user === user)
        .sort((a, b) => a.madeAt - b.madeAt);
      for (let i = 0; i < mine.length; i += BATCH) {
        const batch = mine.slice(i, i + BATCH);
        const response = await fetch("/api/v1/sync", {
          method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
          body: JSON.stringify({device_id: deviceId(),
                                records: batch.map((item) => item.record)})});
        if (!response.ok) break; // logged out, or the server refused the batch: kept
        const answer = await response.json();
        const done = answer.results.filter((r) => r.outcome !== "retry").map((r) => r.id);
        reviewed += answer.results.filter(
          (r) => r.outcome === "conflict" || r.outcome === "rejected").length;
        await queueDelete(done);
      }
      online = true;
    } catch (error) {
      online = false; // the network went (again): what was not answered stays queued
    } finally {
      sending = false;
      await render();
    }
  }

  async function enqueue(record) {
    const item = {id: crypto.randomUUID(), user: user, madeAt: Date.now()};
    item.record = Object.assign({id: item.id, happened_at: new Date().toISOString()}, record);
    await queuePut(item);
    await render();
    return item;
  }

  // --- today's rosters and pages ----------------------------------------------------------

  // The walk-in pages opened on this tablet (their benefits), kept with the roster.
  async function walkInBenefits() {
    const kept = await metaGet("walkIn");
    const ids = kept && kept.user === user ? kept.benefits : [];
    if (walkInMatch && !walkInOffline && !ids.includes(Number(walkInMatch[1]))) {
      ids.push(Number(walkInMatch[1]));
      await metaPut("walkIn", {user: user, benefits: ids.slice(-20)});
    }
    return ids.slice(-20);
  }

  async function warm() {
    const roster = await metaGet("roster");
    const benefits = await walkInBenefits();
    const known = roster && roster.benefitIds ? roster.benefitIds : [];
    if (roster && roster.user === user && Date.now() - roster.fetchedAt < WARM_MS
        && benefits.every((id) => known.includes(id))) {
      document.documentElement.dataset.offlineReady = "1";
      return;
    }
    const query = benefits.map((id) => "benefit=" + id).join("&");
    const response = await fetch("/api/v1/offline/roster" + (query ? "?" + query : ""),
                                 {credentials: "same-origin"});
    if (!response.ok) return;
    const data = await response.json();
    // Each page kept under its path; the copy fetched may be another URL (a walk-in page's
    // copy is rendered without anyone's data: ?offline=1).
    const pages = [["/kiosk/", "/kiosk/"]];
    for (const session of data.sessions) {
      pages.push(["/kiosk/" + session.session_id + "/", "/kiosk/" + session.session_id + "/"]);
      if (body.dataset.sheets === "1") {
        pages.push(["/sessions/" + session.session_id + "/",
                    "/sessions/" + session.session_id + "/"]);
      }
    }
    for (const benefit of data.benefits || []) {
      const page = "/benefits/" + benefit.benefit_id + "/bulk/";
      pages.push([page, page + "?offline=1"]);
    }
    if ("caches" in window) {
      const cache = await caches.open(PAGES);
      for (const [page, source] of pages) {
        const answer = await fetch(source, {credentials: "same-origin"});
        if (answer.ok && !answer.redirected) await cache.put(page, answer);
      }
    }
    await metaPut("roster", {user: user, day: data.day, sessions: data.sessions,
                             benefits: data.benefits || [], benefitIds: benefits,
                             savedAt: roster && roster.user === user ? roster.savedAt : Date.now(),
                             fetchedAt: Date.now()});
    document.documentElement.dataset.offlineReady = "1";
  }

  async function rosterSession(sessionId) {
    const roster = await metaGet("roster");
    if (!roster || roster.user !== user) return null;
    return roster.sessions.find((s) => String(s.session_id) === String(sessionId)) || null;
  }

  // --- saying what was done ---------------------------------------------------------------

  function say(text, kind) {
    const main = document.getElementById("main");
    if (!main) return;
    let list = main.querySelector(".messages.offline-messages");
    if (!list) {
      list = document.createElement("ul");
      list.className = "messages offline-messages";
      list.setAttribute("role", "status");
      main.prepend(list);
    }
    const item = document.createElement("li");
    item.className = "message " + (kind || "success");
    item.textContent = text;
    list.replaceChildren(item);
    // The kiosk is shared: nobody's name stays on the screen.
    setTimeout(() => item.remove(), 6000);
  }

  // --- the kiosk offline ------------------------------------------------------------------

  function matches(person, terms) {
    const [first, last] = [person.display_name.split(" ")[0].toLowerCase(),
                           person.display_name.split(" ").slice(1).join(" ").toLowerCase()];
    return terms.every((term) => first.startsWith(term) || last.startsWith(term)
      || (last.length <= 2 && term[0] === last[0]));
  }

  async function kioskSearch(query) {
    const results = document.getElementById("kiosk-results");
    if (!results || !kioskMatch) return;
    query = query.trim().toLowerCase();
    results.replaceChildren();
    if (query.length < 2) return;
    const session = await rosterSession(kioskMatch[1]);
    const people = session ? session.people : [];
    const card = people.filter((p) => p.card_code && p.card_code.toLowerCase() === query);
    const terms = query.split(/\s+/).slice(0, 3);
    const found = (card.length ? card : people.filter((p) => matches(p, terms))).slice(0, 10);
    if (!found.length) {
      const none = document.createElement("p");
      none.textContent = words.noneFound;
      results.append(none);
      return;
    }
    const list = document.createElement("ul");
    list.className = "plain-list";
    for (const person of found) {
      const item = document.createElement("li");
      item.className = "spaced";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "primary";
      button.textContent = words.itsMe.replace("%(name)s", person.display_name);
      button.addEventListener("click", () => kioskCheckIn(person.person_id,
                                                           person.display_name));
      item.append(button);
      list.append(item);
    }
    results.append(list);
  }

  async function kioskCheckIn(personId, name) {
    if (!name) {
      const session = await rosterSession(kioskMatch[1]);
      const person = session && session.people.find((p) => String(p.person_id) === String(personId));
      name = person ? person.display_name : "";
    }
    await enqueue({kind: "check_in", session_id: Number(kioskMatch[1]),
                   person_id: Number(personId)});
    say(words.welcome.replace("%(name)s", (name || "").split(" ")[0]) + " " + words.queued);
    const box = document.getElementById("kiosk-q");
    if (box) box.value = "";
    kioskSearch("");
    if (online) send();
  }

  async function kioskRegister(form) {
    const value = (name) => (form.elements[name] ? form.elements[name].value.trim() : "");
    if (!value("first_name") || !value("last_name")) {
      say(words.nameNeeded, "error");
      return;
    }
    await enqueue({kind: "register", session_id: Number(kioskMatch[1]),
                   first_name: value("first_name"), last_name: value("last_name"),
                   postal_code: value("postal_code")});
    say(words.welcome.replace("%(name)s", value("first_name")) + " " + words.queued);
    form.reset();
    const details = form.closest("details");
    if (details) details.open = false;
    if (online) send();
  }

  // --- the attendance sheet offline -------------------------------------------------------

  async function sheetSave(form) {
    const sessionId = Number(sheetMatch[1]);
    let count = 0;
    for (const fieldset of form.querySelectorAll("fieldset[data-saved]")) {
      const checked = fieldset.querySelector("input[type=radio]:checked");
      if (!checked) continue;
      const id = Number(checked.name.replace("status_", ""));
      const quantityBox = form.elements["quantity_" + id];
      const quantity = quantityBox ? quantityBox.value.trim() : "";
      const quantityChanged = quantityBox && quantity !== quantityBox.dataset.saved;
      if (checked.value === fieldset.dataset.saved && !quantityChanged) continue;
      const record = {kind: "attendance", session_id: sessionId, disbursement_id: id,
                      status: checked.value};
      if (quantityChanged && quantity !== "" && !Number.isNaN(Number(quantity))) {
        record.quantity = Number(quantity);
      }
      await enqueue(record);
      fieldset.dataset.saved = checked.value;
      if (quantityBox) quantityBox.dataset.saved = quantity;
      count += 1;
    }
    say(words.marksQueued.replace("%(count)s", count));
    if (online) send();
  }

  // --- the walk-in distribution page offline ----------------------------------------------

  function walkInRow(person, fresh) {
    const row = document.createElement("tr");
    const id = fresh ? "new-" + crypto.randomUUID() : "pick-" + person.person_id;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = id;
    if (fresh) {
      box.name = "new_walk_in";
      box.checked = true;
      Object.assign(box.dataset, {first: person.first_name, last: person.last_name,
                                  postal: person.postal_code});
    } else {
      box.name = "person_ids";
      box.value = String(person.person_id);
    }
    const pick = document.createElement("td");
    pick.append(box);
    const name = document.createElement("td");
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = person.display_name;
    name.append(label);
    if (fresh) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = walkInForm.dataset.new;
      name.append(" ", badge);
    }
    const size = document.createElement("td");
    size.textContent = person.household_size == null ? "" : String(person.household_size);
    row.append(pick, name, size);
    row.dataset.find = [person.display_name, person.card_code || ""].join(" ").toLowerCase();
    if (fresh) row.dataset.fresh = "1";
    return row;
  }

  // The offline copy's list: the people the benefit's program served lately (the roster).
  async function walkInList() {
    const list = document.getElementById("walk-in-offline-list");
    if (!list) return;
    const roster = await metaGet("roster");
    const benefit = roster && roster.user === user && (roster.benefits || []).find(
      (b) => String(b.benefit_id) === String(walkInMatch[1]));
    list.replaceChildren(...(benefit ? benefit.people : []).map((p) => walkInRow(p, false)));
    const box = document.getElementById("q");
    const asked = new URLSearchParams(location.search).get("q");
    if (box && asked) box.value = asked;
    walkInFilter();
  }

  function walkInFilter() {
    const list = document.getElementById("walk-in-offline-list");
    const box = document.getElementById("q");
    if (!list || !box) return;
    const terms = box.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of list.querySelectorAll("tr[data-find]")) {
      const words = row.dataset.find.split(/\s+/);
      const fits = row.dataset.fresh || terms.every(
        (term) => words.some((word) => word.startsWith(term)));
      row.hidden = !fits;
      if (fits) shown += 1;
    }
    let none = list.querySelector("tr.walk-in-none");
    if (!shown) {
      if (!none) {
        none = document.createElement("tr");
        none.className = "walk-in-none";
        const cell = document.createElement("td");
        cell.colSpan = 3;
        cell.className = "muted";
        cell.textContent = walkInForm.dataset.nobody;
        none.append(cell);
        list.append(none);
      }
    } else if (none) {
      none.remove();
    }
  }

  function walkInAdd(form) {
    const value = (name) => form.elements[name].value.trim();
    if (!value("first_name") || !value("last_name")) {
      say(words.nameNeeded, "error");
      return;
    }
    const list = document.getElementById("walk-in-offline-list");
    list.prepend(walkInRow({first_name: value("first_name"), last_name: value("last_name"),
                            postal_code: value("postal_code"),
                            display_name: value("first_name") + " " + value("last_name")},
                           true));
    form.reset();
    walkInFilter();
  }

  async function walkInSave(form) {
    const data = walkInForm.dataset;
    if (form.elements.all_matching && form.elements.all_matching.checked) {
      say(data.noAllMatching, "error");
      return;
    }
    const quantity = Number(String(form.elements.quantity.value).trim());
    if (!form.elements.quantity.value.trim() || !Number.isFinite(quantity) || quantity < 0) {
      say(data.badQuantity, "error");
      return;
    }
    const picked = Array.from(form.querySelectorAll(
      "input[name=person_ids]:checked, input[name=new_walk_in]:checked"));
    if (!picked.length) {
      say(data.chooseSomeone, "error");
      return;
    }
    const common = {kind: "walk_in_disbursement", benefit_id: Number(walkInMatch[1]),
                    quantity: quantity, status: form.elements.status.value || null};
    for (const box of picked) {
      await enqueue(box.name === "person_ids"
        ? Object.assign({person_id: Number(box.value)}, common)
        : Object.assign({first_name: box.dataset.first, last_name: box.dataset.last,
                         postal_code: box.dataset.postal || ""}, common));
    }
    say(data.queued.replace("%(count)s", picked.length));
    for (const box of form.querySelectorAll("input[type=checkbox]:checked")) box.checked = false;
    for (const row of form.querySelectorAll("tr[data-fresh]")) row.remove();
    walkInFilter();
    if (online) send();
  }

  // --- forms: sent as usual when the server answers, queued when it does not -----------------

  const resubmitting = new WeakSet();

  function offlineAction(form, submitter) {
    if (kioskMatch && form.closest("main") && form.method.toLowerCase() === "post") {
      if (form.elements.person_id) return () => kioskCheckIn(form.elements.person_id.value, "");
      if (form.elements.action && form.elements.action.value === "register"
          && form.elements.first_name) return () => kioskRegister(form);
    }
    if (sheetMatch && form.id === "attendance-form") {
      const action = submitter ? submitter.value : "save";
      if (action === "save" || action === "complete") return () => sheetSave(form);
    }
    if (walkInMatch && form === walkInForm) return () => walkInSave(form);
    return null;
  }

  // The walk-in page's offline copy works on the tablet only: what it saves is queued (and
  // sent at once when the network is up); its name box filters the list here.
  function deviceOnlyAction(form) {
    if (!walkInOffline) return null;
    if (form === walkInForm) return () => walkInSave(form);
    if (form.id === "walk-in-new-form") return () => walkInAdd(form);
    if (form.id === "filter-form") return () => walkInFilter();
    return null;
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (resubmitting.has(form)) {
      resubmitting.delete(form);
      return;
    }
    const here = deviceOnlyAction(form);
    if (here) {
      event.preventDefault();
      await here();
      return;
    }
    const action = offlineAction(form, event.submitter);
    if (!action) return;
    event.preventDefault();
    const submitter = event.submitter;
    online = await probe(2500);
    if (online) {
      resubmitting.add(form);
      form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
      return;
    }
    await action();
    await render();
  }, true);

  // The live search: asked of the server when it answers, of the roster when it does not.
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (!online && kioskMatch) {
      event.preventDefault();
      const box = document.getElementById("kiosk-q");
      kioskSearch(box ? box.value : "");
    }
  });
  document.addEventListener("htmx:sendError", () => {
    online = false;
    const box = document.getElementById("kiosk-q");
    if (kioskMatch && box) kioskSearch(box.value);
    render();
  });

  // --- logging out ------------------------------------------------------------------------

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.classList || !form.classList.contains("logout") || resubmitting.has(form)) return;
    event.preventDefault();
    await send();
    const left = (await queueAll()).filter((item) => item.user === user).length;
    if (left && !window.confirm(words.logoutUnsent.replace("%(count)s", left))) return;
    await wipe(true);
    resubmitting.add(form);
    form.submit();
  });

  // --- start ------------------------------------------------------------------------------

  if (walkInOffline) {
    const box = document.getElementById("q");
    if (box) box.addEventListener("input", walkInFilter);
  }

  async function start() {
    if (!user) {
      // The login page: whoever was logged in before is gone; their pages and roster too.
      await wipe(false);
      return;
    }
    await expire();
    if ("serviceWorker" in navigator && frontDesk) {
      try {
        await navigator.serviceWorker.register("/sw.js", {scope: "/"});
        await navigator.serviceWorker.ready;
      } catch (error) {
        // Without a service worker the queue still works while the page stays open.
      }
    }
    if (walkInOffline) await walkInList();
    online = await probe();
    await render();
    if (online) {
      await send();
      if (frontDesk) {
        try {
          await warm();
        } catch (error) {
          // Offline again: the copy kept last time stays.
        }
      }
    }
    if (!online && kioskMatch) {
      const box = document.getElementById("kiosk-q");
      if (box && box.value.trim().length >= 2) kioskSearch(box.value);
    }
    setInterval(() => checkConnection().catch(() => {}), PROBE_MS);
    window.addEventListener("online", () => checkConnection().catch(() => {}));
    window.addEventListener("offline", () => { online = false; render(); });
  }

  start().catch(() => {
    // Storage refused (a private window, a full disk): the pages work as they do online.
  });
})();
