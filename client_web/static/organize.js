// Organizer pages: participant import preview and commit, badges, copy, archive,
// OpenSlides import, audit. On the organizer console it only adds a link here.
// Every text from the server goes through textContent, never innerHTML.
"use strict";

(function () {
  const views = window.PlenaryViews;
  if (!views) return;
  const {el, t, page} = views;
  const body = document.body;
  const meetingId = Number(body.dataset.meeting);
  const timezone = body.dataset.timezone;
  const lang = body.dataset.lang;
  const api = `/api/meetings/${meetingId}/organize`;

  if (page === "organizer") {
    const slot = document.querySelector("[data-slot=panels]");
    if (slot) {
      slot.append(el("section", {class: "panel"},
        el("h2", {class: "panel-title"}, t("Prepare meetings")),
        el("a", {class: "button", href: `/m/${meetingId}/organize`}, t("Import, badges, next meeting"))));
    }
    return;
  }
  if (page !== "organize") return;

  const FIELDS = ["name", "role", "group", "seat", "title", "email", "ref"];
  const STAFF_ROLES = ["organizer", "chair", "secretary"];  // their cards: organizer only
  let state = null;
  let importId = null;
  function $(name) { return document.querySelector(`[data-org="${name}"]`); }

  function localTime(iso) {
    const options = {timeZone: timezone, dateStyle: "medium", timeStyle: "short"};
    return new Intl.DateTimeFormat(lang === "vi" ? "vi-VN" : "en-GB", options).format(new Date(iso));
  }

  function fold(text) {
    return text.toLowerCase().normalize("NFD").replace(/đ/g, "d").replace(/[\u0300-\u036f\u031b]/g, "");
  }

  function matches(name, query) {
    const q = query.trim().replace(/\s+/g, " ");
    if (!q) return true;
    if (fold(q) !== q.toLowerCase()) return name.toLowerCase().normalize("NFC").includes(q.toLowerCase().normalize("NFC"));
    return fold(name).includes(fold(q));
  }

  function problemText(problem) {
    return t(problem.template, problem.params);
  }

  async function request(url, options) {
    const response = await fetch(url, Object.assign({credentials: "same-origin",
      headers: {"Accept": "application/json"}}, options || {}));
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error ? views.translateError(data.error) : t("The request failed."));
    return data;
  }

  function postJson(url, payload) {
    return request(url, {method: "POST", body: JSON.stringify(payload || {}),
      headers: {"Accept": "application/json", "Content-Type": "application/json"}});
  }

  async function load() {
    state = await request(api);
    $("starts").textContent = t("Starts {time} ({zone})", {time: localTime(state.meeting.starts_at), zone: timezone});
    $("archived").hidden = !state.archived;
    for (const section of document.querySelectorAll("[data-org-needs]")) {
      section.hidden = !state.allowed[section.dataset.orgNeeds];
    }
    $("staff-cards-note").hidden = Boolean(state.allowed["cards.staff"]);
    renderPeople();
    renderAudit();
    renderHistory((await request(`${api}/poll-history`)).polls);
  }

  function renderHistory(polls) {
    $("history").hidden = !polls.length;
    const figures = (o) => ["yes", "no", "abstain"].filter((k) => o[k] !== null)
      .map((k) => `${t(k)} ${o[k]}`).join(", ");
    $("history-list").replaceChildren(...polls.map((poll) => el("article", {class: "org-poll"},
      el("h3", {}, poll.item ? `${poll.item.number} ${poll.item.title} · ${poll.title}` : poll.title),
      el("ul", {}, poll.options.map((o) => el("li", {},
        `${o.global ? t("General no or abstain") : o.option}: ${figures(o)}`))),
      el("p", {}, t("Valid {valid}, invalid {invalid}, cast {cast}.",
        {valid: poll.valid ?? "–", invalid: poll.invalid ?? "–", cast: poll.cast ?? "–"})),
      poll.is_result ? null : el("p", {class: "problem problem-error"},
        t("These figures contradict each other and are no result."), " ", poll.contradictions.join(" ")))));
  }

  function renderPeople() {
    const query = $("search").value;
    const collator = new Intl.Collator("vi");
    const given = (name) => name.trim().split(/\s+/).pop();
    const people = state.participants.filter((p) => matches(p.name, query))
      .sort((a, b) => collator.compare(given(a.name), given(b.name)) || collator.compare(a.name, b.name));
    $("people").replaceChildren(...people.map((p) => el("tr", {},
      el("td", {}, p.name), el("td", {}, t(p.role)), el("td", {}, p.group), el("td", {}, p.seat),
      el("td", {}, state.allowed["cards.reissue"] && !state.archived
          && (state.allowed["cards.staff"] || !STAFF_ROLES.includes(p.role))
        ? el("button", {class: "quiet", onclick: () => reissue(p)}, t("Re-issue card")) : null))));
  }

  function renderAudit() {
    $("audit").replaceChildren(...state.changes.map((c) => el("li", {},
      el("time", {datetime: c.at}, localTime(c.at)), " · ", c.actor, " · ", c.template ? t(c.template, c.values) : c.summary)));
  }

  async function reissue(person) {
    if (!window.confirm(t("Re-issue the card of {name}? The old card stops working.", {name: person.name}))) return;
    try {
      const result = await postJson(`${api}/participants/${person.id}/reissue`);
      window.open(result.card_url, "_blank", "noopener");
      await load();
    } catch (err) { views.runCommand && status(err.message, true); }
  }

  function status(text, isError) {
    const box = document.querySelector("[data-bind=command-status]");
    box.textContent = text;
    box.classList.toggle("error", Boolean(isError));
  }

  function renderPreview(preview) {
    const table = $("preview");
    table.hidden = false;
    table.tBodies[0].replaceChildren(...preview.rows.map((row) => el("tr", {class: "row-" + row.status, "data-row": row.row},
      el("td", {}, String(row.row)), el("td", {}, t(row.status)),
      FIELDS.map((name) => {
        const cell = row.cells[name];
        const levels = cell.problems.map((p) => p.level);
        const cls = levels.includes("error") ? "cell-error" : levels.includes("warning") ? "cell-warning" : "";
        const shown = name === "role" ? t(cell.value) : cell.value;
        return el("td", {class: cls, "data-field": name}, el("span", {}, shown),
          cell.problems.map((p) => el("small", {class: "problem problem-" + p.level}, problemText(p))));
      }))));
    $("import-summary").textContent = t("{rows} rows: {errors} errors, {warnings} warnings.",
      {rows: preview.rows.length, errors: preview.errors, warnings: preview.warnings});
    const ignored = preview.ignored_columns || [];
    $("ignored-columns").textContent = ignored.length
      ? t("Columns not imported: {columns}", {columns: ignored.join(", ")}) : "";
    $("commit").hidden = !preview.can_commit;
  }

  $("import-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("commit").hidden = true;
    try {
      const preview = await request(`${api}/participants/preview`, {method: "POST", body: new FormData(ev.target)});
      importId = preview.import_id;
      renderPreview(preview);
    } catch (err) { $("import-summary").textContent = err.message; }
  });

  $("commit").addEventListener("click", async () => {
    try {
      const result = await postJson(`${api}/participants/${importId}/commit`);
      $("commit").hidden = true;
      $("import-summary").textContent = t("Imported: {added} new, {updated} updated.", result.counts);
      await load();
    } catch (err) { $("import-summary").textContent = err.message; }
  });

  $("layout").addEventListener("change", () => {
    const layout = encodeURIComponent($("layout").value);
    $("cards-link").href = `/m/${meetingId}/cards.pdf?layout=${layout}`;
    $("badges-link").href = `/m/${meetingId}/badges.pdf?layout=${layout}`;
  });

  $("search").addEventListener("input", renderPeople);

  $("copy-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    try {
      const result = await postJson(`${api}/copy`, Object.fromEntries(form.entries()));
      const box = $("copy-result");
      box.replaceChildren(t("Created meeting {key}.", {key: result.key}), " ",
        result.login_url ? el("a", {href: result.login_url}, t("Open it")) : "");
      await load();
    } catch (err) { $("copy-result").textContent = err.message; }
  });

  $("openslides-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const box = $("openslides-report");
    try {
      const result = await request(`${api}/openslides`, {method: "POST", body: new FormData(ev.target)});
      if (!result.report) {
        box.replaceChildren(t("Added {count} agenda items.", {count: result.added}));
      } else {
        const r = result.report;
        box.replaceChildren(
          el("p", {}, t("Imported meeting {key}: {items} items, {participants} participants.", {key: result.key, items: r.counts.items, participants: r.counts.participants})),
          listOf(t("Figures that contradict each other"), r.contradictions),
          listOf(t("Missing references"), r.missing),
          listOf(t("Hidden items, now internal"), r.hidden_items),
          listOf(t("Not carried over"), r.not_carried.map((n) => `${n.what} (${n.count}): ${n.why}`)),
          listOf(t("Warnings"), r.warnings));
      }
      await load();
    } catch (err) { box.textContent = err.message; }
  });

  function listOf(title, lines) {
    if (!lines || !lines.length) return null;
    return el("div", {}, el("h3", {}, title), el("ul", {}, lines.map((line) => el("li", {}, line))));
  }

  $("archive").addEventListener("click", async (ev) => {
    if (!window.confirm(ev.target.dataset.confirm)) return;
    try { await postJson(`${api}/archive`); await load(); } catch (err) { status(err.message, true); }
  });

  load().catch((err) => status(err.message, true));
})();
