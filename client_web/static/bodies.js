// Bodies page (/m/{id}/organize/bodies): bodies, their members, groups, meetings
// and staff roles. On the organize page it only adds a link here.
// Every text from the server goes through textContent, never innerHTML.
"use strict";

(function () {
  const views = window.PlenaryViews;
  if (!views) return;
  const {el, t, page} = views;
  const meetingId = Number(document.body.dataset.meeting);
  const timezone = document.body.dataset.timezone;
  const lang = document.body.dataset.lang;
  const api = `/api/meetings/${meetingId}/bodies`;
  const KINDS = {standing_committee: "Standing committee", executive_committee: "Executive committee",
    congress: "Congress", delegation: "Delegation", group: "Working group", committee: "Committee"};

  if (page === "organize") {
    const nav = document.querySelector(".organize-nav");
    if (nav) nav.append(el("a", {class: "button", href: `/m/${meetingId}/organize/bodies`}, t("Bodies and members")));
    return;
  }
  if (page !== "organize-bodies") return;

  let overview = null;
  let current = null;
  function $(name) { return document.querySelector(`[data-body="${name}"]`); }

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

  function localTime(iso, zone) {
    const options = {timeZone: zone || timezone, dateStyle: "medium", timeStyle: "short"};
    return new Intl.DateTimeFormat(lang === "vi" ? "vi-VN" : "en-GB", options).format(new Date(iso));
  }

  function kindOf(body) { return t(KINDS[body.kind] || body.kind); }

  async function loadList() {
    overview = await request(api);
    for (const node of document.querySelectorAll("[data-body-needs]")) {
      node.hidden = !overview.allowed[node.dataset.bodyNeeds];
    }
    const mine = overview.bodies.find((b) => b.id === overview.meeting_body_id);
    $("meeting-body").textContent = mine
      ? t("This meeting belongs to {name}.", {name: mine.name}) : t("This meeting belongs to no body yet.");
    $("list").replaceChildren(...overview.bodies.map((b) => el("li", {},
      el("button", {class: "quiet", "data-body-id": b.id, "aria-current": String(current === b.id),
        onclick: () => showBody(b.id)}, `${b.name} · ${kindOf(b)}`))));
    $("parent").replaceChildren(el("option", {value: ""}, t("None")),
      ...overview.bodies.map((b) => el("option", {value: String(b.id)}, b.name)));
  }

  async function showBody(id) {
    current = id;
    const body = await request(`${api}/${id}`);
    $("detail").hidden = false;
    $("title").textContent = `${body.name} (${kindOf(body)})`;
    $("detail-status").textContent = "";
    const mayEdit = overview.allowed["bodies.members"];
    $("members").replaceChildren(...body.members.map((m) => el("tr", {class: m.active ? "member" : "member-former"},
      el("td", {}, m.name), el("td", {}, m.active ? m.role : t("Former member")), el("td", {}, m.group),
      el("td", {}, mayEdit && m.active
        ? el("button", {class: "quiet", onclick: () => removeMember(m)}, t("Remove")) : null))));
    $("groups").replaceChildren(...body.groups.map((g) => el("li", {},
      el("button", {class: "quiet", onclick: () => showBody(g.id)}, `${g.name} · ${kindOf(g)}`))));
    $("meetings").replaceChildren(...body.meetings.map((m) => el("li", {},
      el("time", {datetime: m.starts_local}, localTime(m.starts_at, m.timezone)), " · ", m.title)));
    $("staff").replaceChildren(...body.staff.map((s) => el("li", {}, `${s.name}: ${t(s.role)}`)));
    await loadList();
  }

  async function act(job) {
    try { await job(); } catch (err) { $("detail-status").textContent = err.message; }
  }

  function removeMember(member) {
    if (!window.confirm(t("Remove {name} from this body? They stay in its history.", {name: member.name}))) return;
    act(async () => {
      await postJson(`${api}/${current}/members/${member.person_id}/remove`);
      await showBody(current);
    });
  }

  function addMember(details) {
    const form = $("member-form");
    const extra = {role: form.elements.role.value, group: form.elements.group.value};
    act(async () => {
      await postJson(`${api}/${current}/members`, Object.assign(extra, details));
      form.reset();
      $("found").replaceChildren();
      await showBody(current);
    });
  }

  let searchTimer = null;
  $("search").addEventListener("input", (ev) => {
    clearTimeout(searchTimer);
    const query = ev.target.value.trim();
    searchTimer = setTimeout(async () => {
      if (!query) { $("found").replaceChildren(); return; }
      const found = await request(`/api/meetings/${meetingId}/organize/people?q=${encodeURIComponent(query)}`);
      $("found").replaceChildren(...found.people.map((p) => el("li", {},
        el("button", {type: "button", class: "quiet", "data-person": p.id, onclick: () => addMember({person_id: p.id})},
          t("Add {name}", {name: p.name})))));
    }, 200);
  });

  $("member-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    addMember({name: ev.target.elements.name.value});
  });

  $("create-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(ev.target).entries());
    try {
      const body = await postJson(api, data);
      ev.target.reset();
      $("create-result").textContent = t("Created the body {name}.", {name: body.name});
      await showBody(body.id);
    } catch (err) { $("create-result").textContent = err.message; }
  });

  $("assign").addEventListener("click", () => act(async () => {
    await postJson(`${api}/${current}/assign`);
    await showBody(current);
  }));

  $("remove").addEventListener("click", (ev) => {
    if (!window.confirm(ev.target.dataset.confirm)) return;
    act(async () => {
      await postJson(`${api}/${current}/remove`);
      current = null;
      $("detail").hidden = true;
      await loadList();
    });
  });

  loadList().catch((err) => { $("create-result").textContent = err.message; });
})();
