// Draws the meeting state on the page: agenda, current item, controls, presence.
// Every text from the server goes through textContent, never innerHTML.
"use strict";

(function () {
  const {MeetingClient, t} = window.Plenary;
  const body = document.body;
  const page = body.dataset.page;
  const meetingId = Number(body.dataset.meeting);
  const timezone = body.dataset.timezone;
  const lang = body.dataset.lang;
  const client = new MeetingClient(meetingId, body.dataset.wsQuery);
  window.plenaryClient = client;
  let detailItemId = null;

  function $(name) { return document.querySelector(`[data-bind="${name}"]`); }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      // through the CSSOM: the Content Security Policy allows no style attributes
      else if (key === "style") node.style.cssText = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function formatTime(iso) {
    if (!iso) return "";
    const options = {timeZone: timezone, dateStyle: "full", timeStyle: "short"};
    return new Intl.DateTimeFormat(lang === "vi" ? "vi-VN" : "en-GB", options).format(new Date(iso));
  }

  function itemById(id) {
    return client.state && client.state.agenda.find((item) => item.id === id);
  }

  function documentsOf(itemId) {
    return (client.state.documents || []).filter((doc) => doc.item_id === itemId);
  }

  function renderDocuments(itemId) {
    const docs = documentsOf(itemId);
    if (!docs.length) return null;
    return el("ul", {class: "doc-list"}, docs.map((doc) =>
      el("li", {}, el("a", {class: "doc-link", href: doc.url, target: "_blank", rel: "noopener"},
        el("span", {class: "doc-icon", "aria-hidden": "true"}), doc.title, doc.confidential ? el("span", {class: "badge"}, t("Confidential")) : null))));
  }

  function renderItem(item, large) {
    return el("article", {class: large ? "item-card large" : "item-card"},
      el("div", {class: "item-number"}, item.number),
      el("h3", {class: "item-title"}, item.title),
      item.internal ? el("span", {class: "badge"}, t("Internal")) : null,
      item.presenter ? el("p", {class: "item-presenter"}, t("Presenter: {name}", {name: item.presenter})) : null,
      item.duration_min ? el("p", {class: "item-duration"}, t("{minutes} minutes", {minutes: item.duration_min})) : null,
      item.description ? el("p", {class: "item-description"}, item.description) : null,
      renderDocuments(item.id));
  }

  function renderCurrent() {
    const box = $("current");
    if (!box) return;
    const meeting = client.state.meeting;
    const item = itemById(meeting.current_item_id);
    const note = $("state-note");
    if (note) note.textContent = stateNote(meeting);
    box.replaceChildren(item ? renderItem(item, true)
      : el("p", {class: "muted big"}, meeting.state === "running" ? t("No item is being discussed right now.") : ""));
  }

  function stateNote(meeting) {
    if (meeting.state === "scheduled") return t("The meeting has not started yet. It is scheduled for {time}.", {time: formatTime(meeting.starts_at)});
    if (meeting.state === "ended") return t("The meeting has ended.");
    return "";
  }

  function renderAgenda() {
    const list = $("agenda");
    if (!list) return;
    const current = client.state.meeting.current_item_id;
    const canGoto = list.dataset.goto && client.state.meeting.state === "running";
    list.replaceChildren(...client.state.agenda.map((item) => {
      const depth = item.number.split(".").length - 1;
      const isCurrent = item.id === current;
      return el("li", {class: "agenda-item" + (isCurrent ? " is-current" : ""),
                       "data-item": item.id, style: `--depth:${depth}`,
                       "aria-current": isCurrent ? "step" : null},
        el("button", {class: "agenda-button", onclick: () => onItemTap(item, canGoto)},
          el("span", {class: "agenda-number"}, item.number),
          el("span", {class: "agenda-title"}, item.title),
          isCurrent ? el("span", {class: "badge now"}, t("Now")) : null,
          item.internal ? el("span", {class: "badge"}, t("Internal")) : null));
    }));
  }

  let shownCurrent = null;
  function scrollCurrentIntoView() {
    // Keep the current item visible inside a scrolling agenda column (landscape).
    const current = client.state.meeting.current_item_id;
    if (current === shownCurrent) return;
    shownCurrent = current;
    const row = document.querySelector(".agenda-item.is-current");
    const list = $("agenda");
    const panel = list && list.closest(".panel");
    if (row && panel && panel.scrollHeight > panel.clientHeight) {
      const offset = row.getBoundingClientRect().top - panel.getBoundingClientRect().top;
      panel.scrollTop += offset - panel.clientHeight / 3;
    }
  }

  function onItemTap(item, canGoto) {
    if (canGoto) {
      runCommand("agenda.goto", {item_id: item.id});
      return;
    }
    detailItemId = item.id;
    renderDetail();
  }

  function renderDetail() {
    const panel = $("detail-panel");
    if (!panel) return;
    const item = itemById(detailItemId);
    panel.hidden = !item;
    if (item) $("detail").replaceChildren(renderItem(item, false));
  }

  function renderControls() {
    const state = client.state.meeting.state;
    for (const button of document.querySelectorAll("[data-show-when]")) {
      button.hidden = button.dataset.showWhen !== state;
    }
  }

  function renderPresence() {
    const connected = new Set(client.presence);
    const count = $("presence-count");
    const people = (client.state && client.state.participants) || [];
    if (count) count.textContent = `(${connected.size}/${people.length})`;
    const list = $("presence");
    if (list) {
      list.replaceChildren(...people.map((p) => el("li", {class: connected.has(p.id) ? "online" : "offline"},
        el("span", {class: "presence-mark", "aria-hidden": "true"}, connected.has(p.id) ? "●" : "○"),
        " ", p.name, " ", el("small", {}, t(p.role)),
        el("span", {class: "sr-only"}, connected.has(p.id) ? t("connected") : t("not connected")))));
    }
    const table = $("participants");
    if (table) {
      table.replaceChildren(...people.map((p) => el("tr", {},
        el("td", {}, p.name), el("td", {}, t(p.role)), el("td", {}, p.group || ""),
        el("td", {class: "code"}, p.access_code || ""),
        el("td", {}, connected.has(p.id) ? "● " + t("connected") : "○ " + t("not connected")))));
    }
    const link = $("projector-link");
    if (link && client.state && client.state.projector_key) {
      link.href = `/m/${meetingId}/projector?key=${encodeURIComponent(client.state.projector_key)}`;
    }
  }

  function renderConnection() {
    const badge = $("connection");
    const text = $("connection-text");
    const banner = $("offline-banner");
    const names = {connecting: t("Connecting…"), online: t("Online"), offline: t("Offline"),
                   refused: t("Logged out")};
    badge.className = "conn conn-" + client.connection;
    text.textContent = names[client.connection] || client.connection;
    const offline = client.connection === "offline" || client.connection === "refused";
    banner.hidden = !offline;
    if (client.offlineSince) {
      $("offline-since").textContent = t("Since {time}.", {time: client.offlineSince.toLocaleTimeString(lang === "vi" ? "vi-VN" : "en-GB")});
    }
    body.classList.toggle("is-offline", offline);
  }

  function showStatus(text, isError) {
    const box = $("command-status");
    if (!box) return;
    box.textContent = text;
    box.classList.toggle("error", Boolean(isError));
  }

  function translateError(err) {
    if (err.template) return t(err.template, err.params);
    return t(err.message || "The command failed.");
  }

  function runCommand(name, args) {
    showStatus(t("Sending…"));
    return client.command(name, args).then(
      () => showStatus(""),
      (err) => showStatus(translateError(err), true));
  }

  document.addEventListener("click", (ev) => {
    const button = ev.target.closest("[data-command]");
    if (button) {
      if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
      runCommand(button.dataset.command, {});
    }
    if (ev.target.closest("[data-action=close-detail]")) {
      detailItemId = null;
      renderDetail();
    }
  });

  client.onChange((what) => {
    if (what === "connection" || what === "synced") { renderConnection(); return; }
    if (what && what.error) { showStatus(translateError(what.error), true); return; }
    if (!client.state) return;
    if (what === "presence") { renderPresence(); return; }
    renderCurrent();
    renderAgenda();
    scrollCurrentIntoView();
    renderDetail();
    renderControls();
    renderPresence();
    window.dispatchEvent(new CustomEvent("plenary:state", {detail: client}));
  });

  window.PlenaryViews = {el, t, client, page, renderItem, formatTime, runCommand, translateError};
  client.connect();
})();
