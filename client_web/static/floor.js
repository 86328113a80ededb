// The meeting floor on every page: attendance and quorum, the list of speakers,
// votes and elections. Delegates check in, ask to speak and vote; the chair runs
// the list and the votes; the secretary keeps attendance and enters counts by
// hand; the projector shows the quorum, the speaker's time and the results; the
// check-in page scans access cards at the door. Text goes through textContent.
"use strict";

(function () {
  const {reducers} = window.Plenary;
  const {el, t, client, page} = window.PlenaryViews;
  const slot = document.querySelector("[data-slot=panels]");
  if (!slot) return;
  const staff = ["chair", "secretary", "organizer", "checkin"].includes(page);
  const chair = page === "chair" || page === "organizer";
  // On a delegate's tablet the floor's panels (check in, ask to speak, the
  // ballot) come right after the current item, before the agenda, which can be
  // long enough to push them below the fold on a portrait tablet. Elsewhere
  // they go in the page's panel slot.
  const root = page === "delegate" ? panelsBeforeAgenda() : slot;
  const drafts = new Map();   // poll id -> ballot being filled in on this tablet
  const notes = new Map();    // panel -> last message shown in it
  let serverOffset = 0;       // server clock minus this tablet's clock, in seconds

  // -- state: reducers for the floor's events --------------------------------

  const receive = client.receive.bind(client);
  client.receive = (msg) => {
    if (msg.type === "welcome" && msg.server_time) serverOffset = msg.server_time - Date.now() / 1000;
    return receive(msg);
  };

  function att(state) {
    state.attendance = state.attendance || {quorum: null, mine: null, rows: [], self_checkin: false};
    return state.attendance;
  }
  function polls(state) {
    state.polls = state.polls || {polls: [], eligible: 0, plans: [], not_voted: {}, voted_for: {}};
    return state.polls;
  }
  function upsertRow(rows, row) {
    const at = rows.findIndex((r) => r.participant_id === row.participant_id);
    if (at >= 0) rows[at] = row; else rows.push(row);
  }

  reducers["quorum"] = (state, data) => { att(state).quorum = data; };
  reducers["attendance.mine"] = (state, data) => { att(state).mine = data; };
  reducers["attendance.changed"] = (state, data) => { upsertRow(att(state).rows, data); };
  reducers["attendance.changed_many"] = (state, data) => {
    for (const row of data.rows) upsertRow(att(state).rows, row);
  };
  reducers["attendance.roll_call"] = (state, data) => {
    const me = client.viewer && client.viewer.participant_id;
    const mine = att(state).mine;
    if (mine && data.participant_ids.includes(me)) mine.status = data.status;
  };
  reducers["speakers.changed"] = (state, data) => {
    const box = state.speakers = state.speakers || {speeches: []};
    box.speeches = box.speeches.filter((s) => s.item_id !== data.item_id).concat(data.speakers);
  };
  reducers["poll.changed"] = (state, data) => {
    const list = polls(state).polls;
    const at = list.findIndex((p) => p.id === data.id);
    if (at >= 0) list[at] = data; else list.push(data);
    if (data.plan_key) polls(state).plans = polls(state).plans.filter((p) => p.key !== data.plan_key);
  };
  reducers["poll.progress"] = (state, data) => {
    const poll = polls(state).polls.find((p) => p.id === data.poll_id);
    if (poll) poll.voted = data.voted;
    polls(state).eligible = data.eligible;
  };
  reducers["poll.voters"] = (state, data) => { polls(state).not_voted[data.poll_id] = data.not_voted; };

  // -- small helpers -----------------------------------------------------------

  function panelsBeforeAgenda() {
    const agenda = document.querySelector("main.layout > .panel.agenda");
    if (!agenda) return slot;
    const box = el("div", {class: "feature-panels floor-first", "data-floor-root": "delegate"});
    agenda.before(box);
    return box;
  }

  function section(name, title) {
    let box = root.querySelector(`[data-floor="${name}"]`);
    if (!box) {
      box = el("section", {class: "panel floor-panel", "data-floor": name, "aria-label": title});
      root.append(box);
    }
    return box;
  }

  function note(name, text, isError) {
    notes.set(name, {text, isError});
    const box = root.querySelector(`[data-floor="${name}"] .floor-note`);
    if (box) { box.textContent = text; box.classList.toggle("error", Boolean(isError)); }
  }

  function noteLine(name) {
    const last = notes.get(name) || {text: "", isError: false};
    return el("p", {class: "floor-note" + (last.isError ? " error" : ""), role: "status",
                    "aria-live": "polite"}, last.text);
  }

  function translated(err) {
    if (err && err.template) return t(err.template, err.params);
    return t((err && err.message) || "The command failed.");
  }

  function send(panel, name, args, okText) {
    note(panel, t("Sending…"));
    return client.command(name, args || {}).then((result) => {
      note(panel, okText || "");
      return result;
    }, (err) => { note(panel, translated(err), true); throw err; });
  }

  function button(label, onclick, cls, attrs) {
    return el("button", {type: "button", class: cls || "", onclick, ...(attrs || {})}, label);
  }

  function personName(id) {
    const people = (client.state && client.state.participants) || [];
    const found = people.find((p) => p.id === id);
    return found ? found.name : t("Participant {id}", {id});
  }

  function serverNow() { return Date.now() / 1000 + serverOffset; }

  function remaining(speech) {
    let spoken = speech.spoken_seconds || 0;
    if (speech.state === "speaking" && speech.running_since) {
      spoken += serverNow() - Date.parse(speech.running_since) / 1000;
    }
    return speech.time_limit ? speech.time_limit - spoken : -spoken;
  }

  function clock(seconds) {
    const sign = seconds < 0 ? "−" : "";
    const s = Math.abs(Math.round(seconds));
    return `${sign}${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function statusWord(status) {
    return {present: t("present"), absent: t("absent"), excused: t("excused"),
            proxy: t("represented by proxy")}[status] || status;
  }

  // -- quorum and attendance -----------------------------------------------------

  function quorumLine(q) {
    if (!q) return null;
    const met = q.met ? t("Quorum met") : t("No quorum");
    return el("p", {class: "quorum " + (q.met ? "is-met" : "not-met"), "data-quorum": q.met ? "met" : "not-met"},
      el("strong", {}, met), " · ",
      t("{present} of {members} members present, {required} needed ({rule}).",
        {present: q.present, members: q.members, required: q.required, rule: t(q.rule)}),
      q.represented ? " " + t("{count} represented by proxy.", {count: q.represented}) : "");
  }

  function renderAttendance(state) {
    const a = att(state);
    const box = section("attendance", t("Attendance"));
    const parts = [el("h2", {class: "panel-title"}, t("Attendance and quorum")), quorumLine(a.quorum)];
    if (page === "delegate" && a.mine) {
      parts.push(el("p", {class: "my-attendance", "data-bind": "my-attendance"},
        t("You are: {status}.", {status: statusWord(a.mine.status)})));
      const meetingState = state.meeting && state.meeting.state;
      if (a.mine.status !== "present" && a.self_checkin && meetingState === "running") {
        parts.push(button(t("Check in"), () => send("attendance", "attendance.self_check_in", {}, t("You are checked in."))
          .catch(() => {}), "primary", {"data-action": "self-check-in"}));  // the refusal is shown in the panel
      } else if (a.mine.status !== "present" && a.self_checkin && meetingState === "scheduled") {
        parts.push(el("p", {class: "muted", "data-bind": "self-check-in-later"},
          t("Check-in on the tablet opens when the meeting starts.")));
      }
      for (const carried of a.mine.carries || []) {
        parts.push(el("p", {class: "muted"}, t("You carry the proxy of {name}.", {name: carried.name})));
      }
    }
    if (page === "secretary" || page === "organizer" || page === "chair") parts.push(attendanceTable(state));
    if (staff && page !== "checkin") {
      parts.push(el("p", {}, el("a", {href: `/m/${client.meetingId}/checkin`}, t("Open the check-in page for the door"))));
    }
    parts.push(noteLine("attendance"));
    box.replaceChildren(...parts.filter(Boolean));
  }

  function attendanceTable(state) {
    const a = att(state);
    const members = new Set(a.members || []);
    const rows = new Map(a.rows.map((r) => [r.participant_id, r]));
    const people = (state.participants || []).filter((p) => members.has(p.id));
    const editable = page === "secretary" || page === "organizer";
    return el("details", {class: "attendance-list"},
      el("summary", {}, t("Members ({count})", {count: people.length})),
      el("ul", {}, people.map((p) => {
        const row = rows.get(p.id) || {status: "absent"};
        const select = el("select", {"aria-label": t("Attendance of {name}", {name: p.name}), disabled: !editable,
          onchange: (ev) => setStatus(p, ev.target.value)},
          ["present", "absent", "excused", "proxy"].map((s) => el("option", {value: s, selected: row.status === s}, statusWord(s))));
        const holder = row.proxy_holder_id ? " → " + personName(row.proxy_holder_id) : "";
        return el("li", {"data-person": p.id}, el("span", {}, p.number ? `${p.number}. ` : "", p.name, holder), " ", select);
      })));
  }

  function setStatus(person, status) {
    const args = {participant_id: person.id, status};
    if (status === "proxy") {
      const typed = window.prompt(t("Number or name of the member who carries the proxy of {name}:", {name: person.name}));
      const holder = findPerson(typed || "")[0];
      if (!holder) { note("attendance", t("Nobody found for this proxy."), true); renderAll(); return; }
      args.proxy_holder_id = holder.id;
    }
    send("attendance", "attendance.set", args).catch(renderAll);
  }

  function findPerson(text) {
    const wanted = text.trim().toLowerCase();
    if (!wanted) return [];
    return ((client.state && client.state.participants) || []).filter((p) =>
      p.name.toLowerCase().includes(wanted) || (p.number && p.number.toLowerCase() === wanted) ||
      (p.key && p.key.toLowerCase() === wanted));
  }

  // -- the check-in page at the door ----------------------------------------------

  let scanning = false;
  function renderCheckin(state) {
    const box = section("checkin", t("Check-in"));
    if (box.dataset.ready) { updateCheckinList(state); return; }
    box.dataset.ready = "1";
    const video = el("video", {class: "scanner", playsinline: true, muted: true, hidden: true});
    const search = el("input", {type: "search", "data-bind": "checkin-search", placeholder: t("Name or number"),
      "aria-label": t("Search by name or number"), oninput: () => updateCheckinList(client.state)});
    const camera = button(t("Scan with the camera"), () => startScanner(video), "primary", {"data-action": "scan"});
    box.replaceChildren(el("h2", {class: "panel-title"}, t("Check-in at the door")),
      quorumLine(att(state).quorum), camera, video, el("p", {class: "scan-hint muted"}), search,
      el("ul", {class: "checkin-results", "data-bind": "checkin-results"}), noteLine("checkin"));
    if (!("BarcodeDetector" in window)) {
      camera.disabled = true;
      box.querySelector(".scan-hint").textContent = t("This browser cannot read QR codes with the camera; search by name or number instead.");
    }
  }

  function updateCheckinList(state) {
    const box = root.querySelector('[data-floor="checkin"]');
    if (!box) return;
    const quorum = box.querySelector(".quorum");
    if (quorum) quorum.replaceWith(quorumLine(att(state).quorum));
    const rows = new Map(att(state).rows.map((r) => [r.participant_id, r]));
    const found = findPerson(box.querySelector("[data-bind=checkin-search]").value).slice(0, 20);
    box.querySelector("[data-bind=checkin-results]").replaceChildren(...found.map((p) => {
      const status = (rows.get(p.id) || {status: "absent"}).status;
      return el("li", {}, el("span", {}, p.number ? `${p.number}. ` : "", p.name, " · ", statusWord(status)), " ",
        status === "present" ? null : button(t("Check in"), () => checkIn({participant_id: p.id}), "primary"));
    }));
  }

  function checkIn(args) {
    return send("checkin", "attendance.check_in", args).then((row) =>
      note("checkin", t("{name} is checked in.", {name: row.name || personName(row.participant_id)})));
  }

  async function startScanner(video) {
    if (scanning) return;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}});
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      scanning = true;
      const detector = new window.BarcodeDetector({formats: ["qr_code"]});
      let last = "";
      const tick = async () => {
        if (!scanning) return;
        try {
          const codes = await detector.detect(video);
          const value = codes.length ? codes[0].rawValue : "";
          if (value && value !== last) { last = value; checkIn({code: value}).catch(() => {}); setTimeout(() => { last = ""; }, 3000); }
        } catch (err) { /* a frame that cannot be read: try the next one */ }
        setTimeout(tick, 250);
      };
      tick();
    } catch (err) {
      note("checkin", t("The camera could not be opened; search by name or number instead."), true);
    }
  }

  // -- the list of speakers ----------------------------------------------------

  function currentSpeeches(state) {
    const item = state.meeting.current_item_id;
    const all = (state.speakers && state.speakers.speeches) || [];
    return {live: all.find((s) => s.state === "speaking" || s.state === "paused"),
            waiting: all.filter((s) => s.item_id === item && s.state === "waiting")
              .sort((a, b) => a.position - b.position),
            item};
  }

  function renderSpeakers(state) {
    const {live, waiting, item} = currentSpeeches(state);
    const box = section("speakers", t("List of speakers"));
    const me = client.viewer && client.viewer.participant_id;
    const parts = [el("h2", {class: "panel-title"}, t("List of speakers"))];
    if (live) {
      parts.push(el("div", {class: "speaker-now" + (live.state === "paused" ? " paused" : "")},
        el("span", {class: "speaker-name"}, live.name),
        live.kind === "point_of_order" ? el("span", {class: "badge"}, t("Point of order")) : null,
        el("span", {class: "countdown", "data-countdown": live.id}, clock(remaining(live))),
        live.state === "paused" ? el("span", {class: "badge"}, t("Paused")) : null));
    } else {
      parts.push(el("p", {class: "muted"}, t("Nobody has the floor.")));
    }
    if (chair && live) {
      parts.push(el("div", {class: "button-row"},
        live.state === "speaking" ? button(t("Pause"), () => send("speakers", "speakers.pause")) :
          button(t("Resume"), () => send("speakers", "speakers.resume")),
        button(t("End the speech"), () => send("speakers", "speakers.end"), "danger", {"data-action": "end-speech"})));
    }
    if (page !== "projector") {
      parts.push(el("ol", {class: "speaker-list", "data-bind": "speaker-list"}, waiting.map((s, index) => el("li", {},
        el("span", {}, s.name), s.kind === "point_of_order" ? el("span", {class: "badge"}, t("Point of order")) : null,
        chair ? button(t("Give the floor"), () => send("speakers", "speakers.start", {speech_id: s.id}), "primary", {"data-action": "give-floor"}) : null,
        chair && index > 0 ? button("▲", () => send("speakers", "speakers.move", {speech_id: s.id, position: index - 1}), "quiet", {"aria-label": t("Move up")}) : null,
        (s.participant_id === me || staff) && page !== "projector" ? button(t("Withdraw"), () => send("speakers", "speakers.withdraw", {speech_id: s.id}), "quiet") : null))));
    }
    if (item && client.viewer && client.viewer.participant_id && page !== "projector") {
      const mine = waiting.find((s) => s.participant_id === me);
      parts.push(el("div", {class: "button-row"}, mine ?
        button(t("Withdraw my request"), () => send("speakers", "speakers.withdraw", {speech_id: mine.id}), "", {"data-action": "withdraw"}) : [
          button(t("Ask to speak"), () => send("speakers", "speakers.request", {item_id: item}, t("You are on the list.")), "primary", {"data-action": "ask-to-speak"}),
          button(t("Point of order"), () => send("speakers", "speakers.request", {item_id: item, point_of_order: true}), "", {"data-action": "point-of-order"})]));
    }
    parts.push(noteLine("speakers"));
    box.replaceChildren(...parts.filter(Boolean));
  }

  function tickCountdowns() {
    if (!client.state || !client.state.speakers) return;
    for (const node of root.querySelectorAll("[data-countdown]")) {
      const speech = client.state.speakers.speeches.find((s) => s.id === Number(node.dataset.countdown));
      if (!speech) continue;
      const left = remaining(speech);
      node.textContent = clock(left);
      node.classList.toggle("overtime", speech.time_limit > 0 && left < 0);
    }
  }

  // -- votes: ballots, progress, results -----------------------------------------

  function votedFor(pollId) {
    return (polls(client.state).voted_for[pollId] || []);
  }

  function renderVotes(state) {
    const box = section("votes", t("Votes"));
    const list = polls(state).polls;
    const parts = [el("h2", {class: "panel-title"}, t("Votes and elections"))];
    const shown = list.filter((p) => p.state === "open" || (staff && p.state !== "cancelled") ||
      (p.state === "published" && p.result)).slice(-6).reverse();
    if (page === "projector") {
      const open = list.filter((p) => p.state === "open");
      const published = list.filter((p) => p.state === "published").slice(-1);
      for (const poll of open.concat(published)) parts.push(pollCard(poll, state));
    } else {
      for (const poll of shown) parts.push(pollCard(poll, state));
    }
    if (staff && page !== "checkin" && page !== "projector") parts.push(prepareForm(state));
    parts.push(noteLine("votes"));
    box.replaceChildren(...parts.filter(Boolean));
  }

  function pollCard(poll, state) {
    const kindWord = poll.kind === "election" ? t("Election") : t("Motion");
    const card = el("article", {class: "poll-card state-" + poll.state, "data-poll": poll.id},
      el("h3", {}, el("span", {class: "badge"}, kindWord), " ", poll.title),
      el("p", {class: "muted"}, t(poll.mode === "secret" ? "Secret vote" : poll.mode === "named" ? "Named vote" : "Show of hands or paper"),
        " · ", t(poll.rule_text), poll.kind === "election" ? " · " + t("{seats} seats", {seats: poll.seats}) : ""),
      poll.reason ? el("p", {class: "muted"}, t("Reason: {reason}", {reason: poll.reason})) : null);
    if (poll.state === "open") card.append(progress(poll, state));
    if (poll.state === "open" && (page === "delegate" || (page === "chair" && poll.mode !== "analog"))) {
      card.append(...ballots(poll, state));
    }
    if (staff && page !== "projector") card.append(staffControls(poll, state));
    if (poll.result) card.append(resultChart(poll.result));
    return card;
  }

  function progress(poll, state) {
    const eligible = polls(state).eligible || 0;
    const line = el("p", {class: "progress", "data-progress": poll.id},
      t("{voted} of {eligible} have voted.", {voted: poll.voted, eligible}));
    const missing = polls(state).not_voted[poll.id];
    if (!staff || !missing || page === "projector") return line;
    return el("div", {}, line, el("details", {class: "not-voted"},
      el("summary", {}, t("Not voted yet ({count})", {count: missing.length})),
      el("ul", {}, missing.slice(0, 300).map((id) => el("li", {}, personName(id))))));
  }

  // A ballot per member this tablet votes for: the delegate, and those whose proxy they carry.
  function ballots(poll, state) {
    if (poll.mode === "analog") return [el("p", {class: "muted"}, t("Vote by show of hands or on paper."))];
    const me = client.viewer && client.viewer.participant_id;
    const mine = att(state).mine;
    if (!mine || mine.status !== "present") return [el("p", {class: "muted"}, t("Check in to vote."))];
    const voters = [{id: me, name: null}].concat(mine.carries || []);
    return voters.map((voter) => ballot(poll, voter));
  }

  function draftOf(poll, voter) {
    const key = `${poll.id}:${voter.id}`;
    if (!drafts.has(key)) drafts.set(key, {choice: null, marks: new Set(), yesNo: {}});
    return drafts.get(key);
  }

  function ballot(poll, voter) {
    const done = votedFor(poll.id).includes(voter.id);
    const who = voter.name ? t("Ballot for {name} (proxy)", {name: voter.name}) : t("Your ballot");
    const form = el("form", {class: "ballot", "data-ballot": `${poll.id}:${voter.id}`, onsubmit: (ev) => { ev.preventDefault(); cast(poll, voter); }},
      el("p", {class: "ballot-title"}, who));
    if (done) {
      form.append(el("p", {class: "voted", "data-bind": "voted"}, t("Your vote is recorded.")));
      return form;
    }
    const draft = draftOf(poll, voter);
    if (poll.kind === "election") form.append(electionChoices(poll, voter, draft));
    else form.append(motionChoices(poll, voter, draft));
    form.append(el("button", {type: "submit", class: "primary", "data-action": "cast"}, t("Cast the ballot")));
    return form;
  }

  function motionChoices(poll, voter, draft) {
    const name = `choice-${poll.id}-${voter.id}`;
    return el("div", {class: "choices"}, ["yes", "no", "abstain"].map((c) => el("label", {class: "choice choice-" + c},
      el("input", {type: "radio", name, value: c, checked: draft.choice === c, onchange: () => { draft.choice = c; }}),
      " ", {yes: t("Yes"), no: t("No"), abstain: t("Abstain")}[c])));
  }

  function electionChoices(poll, voter, draft) {
    const style = poll.ballot_style;
    const help = {choose: t("Tick up to {seats} names.", {seats: poll.seats}),
                  strike: t("Strike out the names you reject; keep at most {seats}.", {seats: poll.seats}),
                  yes_no: t("Yes, no or abstain for each candidate; at most {seats} yes.", {seats: poll.seats})}[style];
    const rows = poll.candidates.map((c) => {
      if (style === "yes_no") {
        return el("div", {class: "candidate"}, el("span", {}, c.name), ["yes", "no", "abstain"].map((a) =>
          el("label", {}, el("input", {type: "radio", name: `c-${poll.id}-${voter.id}-${c.id}`, checked: draft.yesNo[c.id] === a,
            onchange: () => { draft.yesNo[c.id] = a; }}), " ", {yes: t("Yes"), no: t("No"), abstain: t("Abstain")}[a])));
      }
      const label = el("label", {class: "candidate" + (style === "strike" && draft.marks.has(c.id) ? " struck" : "")},
        el("input", {type: "checkbox", checked: draft.marks.has(c.id), onchange: (ev) => {
          if (ev.target.checked) draft.marks.add(c.id); else draft.marks.delete(c.id);
          label.classList.toggle("struck", style === "strike" && ev.target.checked);
        }}), " ", c.name, c.group ? el("small", {}, " · ", c.group) : null);
      return label;
    });
    return el("fieldset", {class: "choices ballot-" + style}, el("legend", {}, help), rows);
  }

  function ballotArgs(poll, voter) {
    const draft = draftOf(poll, voter);
    const args = {poll_id: poll.id};
    if (voter.name) args.on_behalf_of = voter.id;
    if (poll.kind !== "election") {
      if (!draft.choice) return null;
      args.choice = draft.choice;
    } else if (poll.ballot_style === "yes_no") {
      args.marks = {...draft.yesNo};
    } else {
      args.marks = [...draft.marks];
    }
    return args;
  }

  function cast(poll, voter, acceptInvalid) {
    const args = ballotArgs(poll, voter);
    if (!args) { note("votes", t("Choose yes, no or abstain."), true); return; }
    if (acceptInvalid) args.accept_invalid = true;
    note("votes", t("Sending…"));
    client.command("poll.cast", args).then(() => {
      const box = polls(client.state).voted_for;
      box[poll.id] = (box[poll.id] || []).concat([voter.id]);
      drafts.delete(`${poll.id}:${voter.id}`);
      note("votes", t("Your vote is recorded."));
      renderAll();
    }, (err) => {
      const text = translated(err);
      if (err.template && err.template.includes("confirm that you want to cast an invalid ballot") &&
          window.confirm(text)) { cast(poll, voter, true); return; }
      note("votes", text, true);
    });
  }

  function staffControls(poll, state) {
    const row = el("div", {class: "button-row"});
    const run = (name, extra, confirmText) => () => {
      if (confirmText && !window.confirm(confirmText)) return;
      send("votes", name, {poll_id: poll.id, ...(extra || {})});
    };
    const reason = (name) => () => {
      const text = window.prompt(t("Reason (recorded in the minutes):"));
      if (text) send("votes", name, {poll_id: poll.id, reason: text});
    };
    if (chair && poll.state === "prepared") row.append(button(t("Open the vote"), run("poll.open"), "primary", {"data-action": "open-vote"}));
    if (chair && poll.state === "open" && poll.mode !== "analog") row.append(button(t("Close the vote"), run("poll.close", null, t("Close the vote now?")), "danger", {"data-action": "close-vote"}));
    if (chair && poll.state === "closed") row.append(button(t("Publish the result"), run("poll.publish"), "primary", {"data-action": "publish"}));
    if (chair && ["prepared", "open", "closed"].includes(poll.state)) row.append(button(t("Cancel"), reason("poll.cancel"), "quiet"));
    if (chair && ["closed", "published", "cancelled"].includes(poll.state)) row.append(button(t("Repeat"), reason("poll.repeat"), "quiet"));
    if (poll.mode === "analog" && ["open", "closed"].includes(poll.state) && poll.kind === "motion") row.append(countsForm(poll));
    if (poll.result) {
      row.append(el("a", {href: `/api/meetings/${client.meetingId}/polls/${poll.id}/result.csv`}, "CSV"), " ",
        el("a", {href: `/api/meetings/${client.meetingId}/polls/${poll.id}/result.json`}, "JSON"));
    }
    return row;
  }

  function countsForm(poll) {
    const input = (name, label) => el("label", {}, label, " ", el("input", {type: "number", min: "0", step: "1", name, required: true, class: "count"}));
    return el("form", {class: "counts", onsubmit: (ev) => {
      ev.preventDefault();
      const data = new FormData(ev.target);
      const args = {poll_id: poll.id};
      for (const [key, value] of data.entries()) if (value !== "") args[key] = Number(value);
      send("votes", "poll.enter_counts", args, t("The counts are stored."));
    }}, input("yes", t("Yes")), input("no", t("No")), input("abstain", t("Abstain")),
    el("label", {}, t("Total"), " ", el("input", {type: "number", min: "0", step: "1", name: "total", class: "count"})),
    el("button", {type: "submit"}, t("Store the counts")));
  }

  function prepareForm(state) {
    const plans = polls(state).plans || [];
    const form = el("form", {class: "prepare-vote", onsubmit: (ev) => {
      ev.preventDefault();
      const data = Object.fromEntries(new FormData(ev.target).entries());
      const args = {title: data.title, kind: data.kind, mode: data.mode};
      if (data.kind === "election") {
        Object.assign(args, {seats: Number(data.seats || 1), ballot_style: data.style, threshold: data.threshold,
          candidates: (data.candidates || "").split("\n").map((s) => s.trim()).filter(Boolean)});
      } else {
        args.rule = data.rule;
      }
      if (state.meeting.current_item_id) args.item_id = state.meeting.current_item_id;
      send("votes", "poll.create", args, t("The vote is prepared.")).then(() => ev.target.reset());
    }},
    el("h3", {}, t("Prepare a vote")),
    el("label", {}, t("Title"), " ", el("input", {name: "title", required: true, "data-bind": "poll-title"})),
    el("label", {}, t("Kind"), " ", select("kind", [["motion", t("Motion")], ["election", t("Election")]])),
    el("label", {}, t("Mode"), " ", select("mode", [["secret", t("Secret vote")], ["named", t("Named vote")], ["analog", t("Show of hands or paper")]])),
    el("label", {}, t("Majority"), " ", select("rule", [["simple", t("Simple majority of the votes cast")],
      ["absolute_members", t("More than half of all members")], ["absolute_present", t("More than half of the members present")],
      ["two_thirds_cast", t("Two thirds of the votes cast")], ["two_thirds_members", t("Two thirds of all members")],
      ["two_thirds_present", t("Two thirds of the members present")], ["cast_with_abstentions", t("More than half of the votes cast, abstentions included")]])),
    el("fieldset", {class: "election-fields"}, el("legend", {}, t("Election")),
      el("label", {}, t("Seats"), " ", el("input", {name: "seats", type: "number", min: "1", value: "1"})),
      el("label", {}, t("Ballot"), " ", select("style", [["choose", t("Tick up to N names")], ["strike", t("Strike out names (gạch tên)")], ["yes_no", t("Yes or no per candidate")]])),
      el("label", {}, t("Threshold"), " ", select("threshold", [["half_valid", t("More than half of the valid ballots")], ["half_members", t("More than half of all members")], ["plurality", t("Most votes")]])),
      el("label", {}, t("Candidates, one per line"), " ", el("textarea", {name: "candidates", rows: "3"}))),
    el("button", {type: "submit", class: "primary", "data-action": "prepare-vote"}, t("Prepare")));
    const planRow = plans.length ? el("p", {}, t("Planned in the agenda file:"), " ", plans.map((p) =>
      button(p.title || p.key, () => send("votes", "poll.create", {plan: p.key}), "quiet"))) : null;
    return el("div", {}, planRow, form);
  }

  function select(name, options) {
    return el("select", {name}, options.map(([value, label]) => el("option", {value}, label)));
  }

  // The same result dict on every screen: counts, the base, the rule, the outcome.
  function resultChart(r) {
    if (!r.final) return null;
    const box = el("div", {class: "result", "data-result": r.poll_id});
    const bars = r.kind === "election"
      ? r.candidates.map((c) => [c.name, c.votes, c.percent, c.elected ? "elected" : (c.runoff ? "runoff" : "")])
      : ["yes", "no", "abstain"].map((c) => [{yes: t("Yes"), no: t("No"), abstain: t("Abstain")}[c], r.counts[c], r.percent[c], c]);
    box.append(el("p", {class: "outcome outcome-" + r.outcome, "data-outcome": r.outcome}, outcomeText(r)));
    box.append(el("ul", {class: "chart"}, bars.map(([label, count, pct, cls]) => el("li", {class: "bar " + cls},
      el("span", {class: "bar-label"}, label),
      el("span", {class: "bar-track"}, el("span", {class: "bar-fill", style: `width:${Math.min(100, pct || 0)}%`})),
      el("span", {class: "bar-count"}, String(count), pct === null || pct === undefined ? "" : ` · ${pct}%`)))));
    const extra = r.kind === "election"
      ? t("Valid {valid}, blank {blank}, invalid {invalid}.", {valid: r.valid, blank: r.blank, invalid: r.invalid}) : "";
    box.append(el("p", {class: "muted base"}, t("Percentages of: {base} = {value}.", {base: t(r.base_text), value: r.base}), " ",
      t("{ballots} ballots; {members} members, {present} present.", {ballots: r.ballots, members: r.members, present: r.present}), " ", extra));
    return box;
  }

  function outcomeText(r) {
    if (r.kind === "election") {
      const names = (ids) => ids.map((id) => (r.candidates.find((c) => c.id === id) || {}).name).join(", ");
      let text = t("Elected ({count} of {seats} seats): {names}.", {count: r.elected.length, seats: r.seats, names: names(r.elected) || t("nobody")});
      if (r.runoff.length) text += " " + t("Tie for the last seat between {names}: a runoff is needed.", {names: names(r.runoff)});
      return text;
    }
    const word = r.required_of === "no" ? t("no") : t("yes");
    const count = r.required_of === "no" ? r.counts.no : r.counts.yes;
    const params = {count, word, base: r.base, base_text: t(r.base_text), required: r.required};
    if (r.outcome === "tie") return t("Tie: {count} {word} out of {base} ({base_text}); the motion is not adopted.", params);
    const verdict = r.outcome === "adopted" ? t("Adopted") : t("Rejected");
    return t("{verdict}: {count} {word} out of {base} ({base_text}); {required} {word} needed.", {verdict, ...params});
  }

  // -- drawing ---------------------------------------------------------------------

  // A message about the meeting as it was (a check-in refused before the start)
  // is stale once the meeting starts or ends: the panels drop their errors.
  let shownMeetingState = null;
  function forgetStaleErrors(state) {
    const now = state.meeting && state.meeting.state;
    if (shownMeetingState !== null && now !== shownMeetingState) {
      for (const [name, last] of notes) if (last.isError) notes.delete(name);
    }
    shownMeetingState = now;
  }

  function renderAll() {
    const state = client.state;
    if (!state) return;
    forgetStaleErrors(state);
    if (page === "checkin") { renderCheckin(state); return; }
    renderAttendance(state);
    renderSpeakers(state);
    renderVotes(state);
  }

  // Keep what the delegate is typing: a re-render while a field has focus would lose it.
  window.addEventListener("plenary:state", () => {
    const active = document.activeElement;
    if (active && root.contains(active) && (active.tagName === "INPUT" || active.tagName === "TEXTAREA") &&
        active.type !== "radio" && active.type !== "checkbox") return;
    renderAll();
  });
  root.addEventListener("focusout", () => setTimeout(renderAll, 0));
  document.head.append(el("link", {rel: "stylesheet", href: "/static/floor.css"}));
  setInterval(tickCountdowns, 250);
})();
