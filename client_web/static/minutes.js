// Minutes: the secretary writes per agenda item; chair and secretary finalize, sign
// and download. Every keystroke is kept in localStorage until the server has it, so
// nothing typed is lost when the connection drops or the page reloads.
"use strict";

(function () {
  const V = window.PlenaryViews;
  if (!V) return;
  const {el, t, client, page} = V;
  const EDIT_PAGES = new Set(["secretary", "organizer"]);
  const STATUS_PAGES = new Set(["secretary", "organizer", "chair"]);
  if (!STATUS_PAGES.has(page)) return;

  const KINDS = [
    ["summary", "Discussion summary"],
    ["decisions", "Decisions"],
    ["conclusions", "Conclusions"],
    ["tasks", "Assigned tasks (one per line)"],
  ];
  const SAVE_DELAY_MS = 700;
  const meetingId = client.meetingId;
  const storeKey = `plenary.minutes.${meetingId}`;
  const timers = new Map();   // section key -> debounce timer
  const inFlight = new Set(); // section keys with a save on its way
  let chosenItem = null;      // null: follow the current item
  let status = null;
  let panel = null;
  let restored = false;

  Plenary.reducers["minutes.section"] = (state, data) => {
    const m = state.minutes || (state.minutes = {sections: [], conflicts: [], versions: []});
    m.sections = (m.sections || []).filter((s) => !(s.item_id === data.item_id && s.kind === data.kind));
    m.sections.push(data);
    if (data.conflict) m.conflicts.push({...data.conflict, item_id: data.item_id, kind: data.kind});
  };
  Plenary.reducers["minutes.dismissed"] = (state, data) => {
    const m = state.minutes;
    if (m) m.conflicts = m.conflicts.filter((c) => c.id !== data.revision_id);
  };
  for (const kind of ["minutes.finalized", "minutes.signed"]) {
    Plenary.reducers[kind] = (state, data) => {
      const m = state.minutes || (state.minutes = {versions: []});
      m.versions = (m.versions || []).filter((v) => v.number !== data.number).concat([data]);
      m.versions.sort((a, b) => a.number - b.number);
      refreshStatus();
    };
  }

  // -- unsent edits, kept on this device ------------------------------------------

  function loadLocal() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (err) { return {}; }
  }
  function saveLocal(all) { localStorage.setItem(storeKey, JSON.stringify(all)); }
  function keyOf(itemId, kind) { return `${itemId}:${kind}`; }
  function newId() {
    return "min-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
  }

  function serverSection(itemId, kind) {
    const m = client.state && client.state.minutes;
    return (m && m.sections || []).find((s) => s.item_id === itemId && s.kind === kind) || null;
  }

  function remember(itemId, kind, text) {
    const all = loadLocal();
    const key = keyOf(itemId, kind);
    const known = serverSection(itemId, kind);
    const entry = all[key] || {base: known ? known.revision : 0};
    entry.text = text;
    all[key] = entry;
    saveLocal(all);
  }

  function scheduleSave(itemId, kind) {
    const key = keyOf(itemId, kind);
    clearTimeout(timers.get(key));
    timers.set(key, setTimeout(() => sendSection(itemId, kind), SAVE_DELAY_MS));
    showSectionState(itemId, kind);
  }

  // One save per section at a time: the next one waits for the answer and is based
  // on the revision that answer gives, so a device never conflicts with itself.
  function sendSection(itemId, kind) {
    const key = keyOf(itemId, kind);
    if (inFlight.has(key)) return;
    const all = loadLocal();
    const entry = all[key];
    if (!entry) return;
    if (!entry.sent || entry.sent.text !== entry.text) {
      entry.sent = {id: newId(), text: entry.text, base: entry.base};
      saveLocal(all);
    }
    inFlight.add(key);
    showSectionState(itemId, kind);
    const args = {item_id: itemId, kind, text: entry.sent.text, base_revision: entry.sent.base};
    client.commandWithId(entry.sent.id, "minutes.save", args).then((result) => {
      inFlight.delete(key);
      const now = loadLocal();
      const current = now[key];
      if (current) {
        current.base = result.revision;
        if (current.text === args.text) delete now[key];
        else delete current.sent;
        saveLocal(now);
      }
      if (now[key]) sendSection(itemId, kind);
      showSectionState(itemId, kind);
      refreshStatus();
    }, (err) => {
      inFlight.delete(key);
      V.runCommand && showError(err);
      showSectionState(itemId, kind, err);
    });
  }

  function sendAllUnsent() {
    for (const key of Object.keys(loadLocal())) {
      const [itemId, kind] = key.split(":");
      sendSection(Number(itemId), kind);
    }
  }

  // -- drawing --------------------------------------------------------------------

  function currentItemId() {
    if (chosenItem !== null) return chosenItem;
    const state = client.state;
    return state.meeting.current_item_id || (state.agenda[0] && state.agenda[0].id) || null;
  }

  function ensurePanel() {
    if (panel) return panel;
    const slot = document.querySelector("[data-slot=panels]");
    if (!slot) return null;
    panel = el("section", {class: "panel minutes", "aria-labelledby": "minutes-heading"},
      el("h2", {id: "minutes-heading", class: "panel-title"}, t("Minutes")),
      el("div", {"data-minutes": "status"}),
      EDIT_PAGES.has(page) ? el("div", {"data-minutes": "editor"}) : null,
      el("div", {"data-minutes": "actions"}),
      el("div", {"data-minutes": "preview"}));
    slot.append(panel);
    return panel;
  }

  // The page's Content Security Policy refuses style attributes; the CSSOM is fine.
  function css(node, text) { node.style.cssText = text; return node; }
  function part(name) { return panel.querySelector(`[data-minutes="${name}"]`); }
  function replaceWith(box, ...children) {
    box.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
  }

  function renderEditor() {
    const box = part("editor");
    if (!box) return;
    const itemId = currentItemId();
    const state = client.state;
    const picker = el("select", {"data-minutes": "item", "aria-label": t("Agenda item"),
                                 onchange: (ev) => { chosenItem = ev.target.value ? Number(ev.target.value) : null; renderEditor(); }},
      el("option", {value: ""}, t("Follow the current item")),
      state.agenda.map((item) => {
        const option = el("option", {value: item.id}, `${item.number}. ${item.title}`);
        if (chosenItem === item.id) option.selected = true;
        return option;
      }));
    const item = state.agenda.find((i) => i.id === itemId);
    if (!item) { box.replaceChildren(picker, el("p", {class: "muted"}, t("This meeting has no agenda items."))); return; }
    const local = loadLocal();
    const sections = KINDS.map(([kind, label]) => {
      const key = keyOf(item.id, kind);
      const known = serverSection(item.id, kind);
      const text = local[key] ? local[key].text : (known ? known.text : "");
      const area = el("textarea", {"data-section": kind, "data-item": item.id, rows: kind === "summary" ? 6 : 3,
                                   maxlength: (state.minutes && state.minutes.max_chars) || 20000,
                                   oninput: (ev) => { remember(item.id, kind, ev.target.value); scheduleSave(item.id, kind); }});
      area.value = text;
      css(area, "display:block;width:100%;box-sizing:border-box;font:inherit;font-weight:normal");
      return css(el("div", {class: "minutes-section"},
        css(el("label", {}, t(label), area), "display:block;font-weight:600"),
        el("small", {class: "save-state", "data-state-for": key}),
        renderConflicts(item.id, kind)), "margin:0.75rem 0");
    });
    const focused = document.activeElement;
    const focusKey = focused && focused.dataset && focused.dataset.section
      ? [focused.dataset.item, focused.dataset.section, focused.selectionStart, focused.selectionEnd] : null;
    box.replaceChildren(picker, el("h3", {}, `${item.number}. ${item.title}`), ...sections);
    if (focusKey) {
      const again = box.querySelector(`textarea[data-item="${focusKey[0]}"][data-section="${focusKey[1]}"]`);
      if (again) { again.focus(); again.setSelectionRange(focusKey[2], focusKey[3]); }
    }
    for (const [kind] of KINDS) showSectionState(item.id, kind);
  }

  function renderConflicts(itemId, kind) {
    const m = client.state.minutes || {};
    const lost = (m.conflicts || []).filter((c) => c.item_id === itemId && c.kind === kind);
    if (!lost.length) return null;
    return el("div", {class: "conflicts", role: "note"}, lost.map((c) => el("div", {class: "conflict"},
      el("p", {}, t("This text was replaced by a save from another device (revision {revision}). It is kept here:", {revision: c.revision})),
      el("blockquote", {"data-conflict": c.id}, c.text),
      el("button", {class: "quiet", onclick: () => appendText(itemId, kind, c.text)}, t("Add it to the current text")),
      el("button", {class: "quiet", onclick: () => client.command("minutes.dismiss", {revision_id: c.id}).catch(showError)}, t("Dismiss")))));
  }

  function appendText(itemId, kind, text) {
    const area = panel.querySelector(`textarea[data-item="${itemId}"][data-section="${kind}"]`);
    if (!area) return;
    area.value = area.value ? area.value + "\n" + text : text;
    remember(itemId, kind, area.value);
    scheduleSave(itemId, kind);
  }

  function showSectionState(itemId, kind, err) {
    if (!panel) return;
    const key = keyOf(itemId, kind);
    const note = panel.querySelector(`[data-state-for="${key}"]`);
    if (!note) return;
    const unsent = Boolean(loadLocal()[key]);
    let text = unsent ? t("Not saved yet: kept on this device.") : t("Saved.");
    if (unsent && inFlight.has(key)) text = client.connection === "online" ? t("Saving…") : t("Offline: kept on this device, sent when the connection returns.");
    if (err) text = V.translateError(err);
    note.textContent = text;
    note.classList.toggle("error", Boolean(err));
    note.dataset.saved = unsent ? "no" : "yes";
  }

  function hasUnsent() { return Object.keys(loadLocal()).length > 0; }

  const STATE_WORDS = {draft: "Draft", final: "Final, waiting for signatures", signed: "Signed"};

  function renderStatus() {
    const box = part("status");
    if (!box || !status) return;
    const latest = status.versions[status.versions.length - 1];
    replaceWith(box,
      el("p", {"data-minutes": "state"}, t("State of the minutes: {state}.", {state: t(STATE_WORDS[status.state] || status.state)})),
      status.changed_since_final ? el("p", {class: "warning"}, t("The minutes changed after version {number} was finalized. Finalize them again before signing.", {number: latest.number})) : null,
      status.next_signer ? el("p", {}, t("Next to sign: the {role}.", {role: t(status.next_signer)})) : null,
      status.versions.length ? el("ul", {class: "link-list"}, status.versions.map((v) => el("li", {},
        el("a", {href: v.url, target: "_blank", rel: "noopener"}, t("Version {number} (PDF)", {number: v.number})),
        " ", v.signatures.map((s) => el("span", {class: "badge"}, t("signed by the {role}", {role: t(s.role)})))))) : null);
  }

  function renderActions() {
    const box = part("actions");
    if (!box) return;
    const buttons = [
      el("button", {onclick: togglePreview, "data-minutes-action": "preview"}, t("Preview")),
      el("a", {class: "button", href: `/m/${meetingId}/minutes/draft.pdf`, target: "_blank", rel: "noopener"}, t("Draft PDF")),
      el("button", {class: "primary", onclick: finalize, "data-minutes-action": "finalize"}, t("Finalize")),
    ];
    const signForm = (page === "secretary" || page === "chair") ? el("form", {class: "sign-form", onsubmit: signSubmit},
      css(el("label", {}, t("Key file (.p12 or .pfx), or leave empty to sign with the organization's certificate"),
        el("input", {type: "file", name: "key_file", accept: ".p12,.pfx,application/x-pkcs12"})), "display:block"),
      css(el("label", {}, t("Password of the key file"), el("input", {type: "password", name: "password", autocomplete: "off"})), "display:block"),
      el("button", {class: "primary", type: "submit", "data-minutes-action": "sign"}, t("Sign"))) : null;
    replaceWith(box, el("div", {class: "button-row"}, buttons), signForm,
      el("p", {class: "command-status", "data-minutes": "message", role: "status", "aria-live": "polite"}));
  }

  function showMessage(text, isError) {
    const box = part("message");
    if (!box) return;
    box.textContent = text;
    box.classList.toggle("error", Boolean(isError));
  }
  function showError(err) { showMessage(V.translateError(err.error || err), true); }

  function togglePreview() {
    const box = part("preview");
    if (box.firstChild) { box.replaceChildren(); return; }
    const frame = el("iframe", {class: "minutes-preview", title: t("Preview of the minutes"),
                                src: `/m/${meetingId}/minutes/preview?at=${Date.now()}`});
    box.replaceChildren(css(frame, "display:block;width:100%;height:70vh;border:1px solid #ccc;background:#fff"));
  }

  async function post(url, body) {
    const response = await fetch(url, {method: "POST", body, headers: {Accept: "application/json"}});
    const data = await response.json();
    if (!response.ok) throw data;
    return data;
  }

  async function finalize() {
    if (hasUnsent()) { showMessage(t("Some changes are not saved yet. Wait until every section says Saved, then finalize."), true); return; }
    showMessage(t("Rendering the PDF…"));
    try {
      const version = await post(`/api/meetings/${meetingId}/minutes/finalize`);
      showMessage(t("Version {number} is final. It can now be signed.", {number: version.number}));
    } catch (err) { showError(err); }
    refreshStatus();
  }

  async function signSubmit(ev) {
    ev.preventDefault();
    showMessage(t("Signing…"));
    try {
      const version = await post(`/api/meetings/${meetingId}/minutes/sign`, new FormData(ev.target));
      ev.target.reset();
      showMessage(t("You signed version {number} of the minutes.", {number: version.number}));
    } catch (err) { showError(err); }
    refreshStatus();
  }

  let statusTimer = null;
  function refreshStatus() {
    clearTimeout(statusTimer);
    statusTimer = setTimeout(async () => {
      try {
        const response = await fetch(`/api/meetings/${meetingId}/minutes`, {headers: {Accept: "application/json"}});
        if (response.ok) { status = await response.json(); if (panel) renderStatus(); }
      } catch (err) { /* offline: the next event refreshes it */ }
    }, 300);
  }

  window.addEventListener("plenary:state", () => {
    if (!ensurePanel()) return;
    if (!restored) {
      restored = true;
      renderActions();
      refreshStatus();
      sendAllUnsent();
    }
    const typing = document.activeElement && document.activeElement.closest && document.activeElement.closest(".minutes textarea");
    if (!typing || chosenItem === null) renderEditor();
    else for (const [kind] of KINDS) showSectionState(currentItemId(), kind);
  });
  client.onChange((what) => {
    if (what !== "connection" || !panel) return;
    for (const key of Object.keys(loadLocal())) {
      const [itemId, kind] = key.split(":");
      showSectionState(Number(itemId), kind);
    }
    if (client.connection === "online") sendAllUnsent();
  });
  window.addEventListener("beforeunload", (ev) => {
    if (inFlight.size) ev.preventDefault();
  });

  window.PlenaryMinutes = {loadLocal, hasUnsent};
})();
