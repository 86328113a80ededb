// Plenary tablet client: one WebSocket per page, following one meeting.
// The protocol is described in docs/protocol.md. This file holds the connection,
// the meeting state and the reducers; views.js draws the state.
"use strict";

(function () {
  const HEARTBEAT_MS = 15000;
  const SILENCE_MS = HEARTBEAT_MS * 2.5;
  // Full jitter: each wait is anywhere from 0 to the current step (1 s, then 2 s).
  // Capped low: after a server restart the whole hall is back within the 2 s
  // window (a storm spread over N s cannot end sooner than N s), yet arrives
  // spread out; a failed attempt costs next to nothing.
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 2000;

  const catalog = JSON.parse(document.getElementById("i18n").textContent || "{}");
  function t(text, params) {
    let out = catalog[text] || text;
    for (const [key, value] of Object.entries(params || {})) {
      // words put into a sentence (an action, a role) are translated too
      const word = typeof value === "string" && catalog[value] ? catalog[value] : value;
      out = out.split("{" + key + "}").join(String(word));
    }
    return out;
  }

  // Reducers apply one event to the state. Other modules add their own with
  // Plenary.reducers["kind"] = (state, data) => {...}.
  const reducers = {
    "meeting.state"(state, data) {
      state.meeting.state = data.state;
      if (data.state === "ended") state.meeting.current_item_id = null;
    },
    "agenda.current"(state, data) {
      state.meeting.current_item_id = data.item_id;
      if (data.item && !state.agenda.some((i) => i.id === data.item.id)) {
        state.agenda.push(data.item);
      }
    },
  };
  // Events after which the tablet reloads the whole state.
  const reloadEvents = new Set(["meeting.changed", "meeting.imported"]);

  function newCommandId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  class MeetingClient {
    constructor(meetingId, wsQuery) {
      this.meetingId = meetingId;
      this.wsQuery = wsQuery || "";
      this.state = null;        // the snapshot with every event applied
      this.lastSeq = null;      // the last sequence applied to this.state
      this.connection = "connecting";
      this.offlineSince = null;
      this.presence = [];
      this.pending = new Map(); // command id -> {name, args, resolve, reject}
      this.listeners = new Set();
      this.attempt = 0;
      this.ws = null;
      this.lastHeard = 0;
      this.closedByServer = null;
      setInterval(() => this.watch(), 2000);
      window.addEventListener("online", () => this.reconnectSoon(0));
      window.addEventListener("offline", () => this.ws && this.ws.close());
    }

    onChange(fn) { this.listeners.add(fn); }
    notify(what) { for (const fn of this.listeners) fn(what, this); }

    url() {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      return scheme + "//" + location.host + "/ws" + this.wsQuery;
    }

    connect() {
      this.setConnection("connecting");
      let ws;
      try { ws = new WebSocket(this.url()); } catch (err) { this.reconnectSoon(); return; }
      this.ws = ws;
      ws.onopen = () => {
        this.lastHeard = Date.now();
        ws.send(JSON.stringify({type: "hello", meeting: this.meetingId,
                                last_seq: this.state ? this.lastSeq : null}));
      };
      ws.onmessage = (msg) => {
        this.lastHeard = Date.now();
        let data;
        try { data = JSON.parse(msg.data); } catch (err) { return; }
        this.receive(data);
      };
      ws.onclose = (ev) => {
        if (this.ws !== ws) return;
        this.ws = null;
        if (ev.code === 4401 || ev.code === 4403) {  // logged out or not allowed
          this.setConnection("refused");
          return;
        }
        this.setConnection("offline");
        this.reconnectSoon();
      };
    }

    reconnectSoon(delay) {
      if (this.timer) clearTimeout(this.timer);
      if (delay === undefined) {
        // Jittered exponential back-off, so a hall of tablets does not return at once.
        const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
        delay = Math.random() * cap;
        this.attempt += 1;
      }
      this.timer = setTimeout(() => { this.timer = null; if (!this.ws) this.connect(); }, delay);
    }

    watch() {
      if (this.ws && this.ws.readyState === 1 && Date.now() - this.lastHeard > SILENCE_MS) {
        this.ws.close();  // the server went silent: treat as offline and reconnect
      }
    }

    setConnection(value) {
      if (value === "offline" && this.offlineSince === null) this.offlineSince = new Date();
      if (value === "online") this.offlineSince = null;
      this.connection = value;
      this.notify("connection");
    }

    receive(msg) {
      switch (msg.type) {
        case "welcome":
          this.attempt = 0;
          this.viewer = msg.viewer;
          return;
        case "snapshot":
          this.state = msg.data;
          this.lastSeq = msg.seq;
          this.setConnection("online");
          this.resendPending();
          this.notify("state");
          return;
        case "synced":  // caught up from events after a reconnect
          this.caughtUp = msg.missed;
          this.setConnection("online");
          this.resendPending();
          this.notify("synced");
          return;
        case "event":
          return this.applyEvent(msg);
        case "ack":
        case "error":
          return this.settle(msg);
        case "ping":
          this.send({type: "pong"});
          return;
        case "presence":
          this.presence = msg.connected || [];
          this.notify("presence");
          return;
      }
    }

    applyEvent(msg) {
      if (!this.state || msg.seq <= this.lastSeq) return;  // already applied
      this.lastSeq = msg.seq;
      if (reloadEvents.has(msg.event)) {
        this.send({type: "sync"});
        return;
      }
      const reducer = reducers[msg.event];
      if (reducer) reducer(this.state, msg.data || {});
      this.state.seq = msg.seq;
      this.notify("state");
    }

    send(obj) {
      if (this.ws && this.ws.readyState === 1) { this.ws.send(JSON.stringify(obj)); return true; }
      return false;
    }

    // Send a command; it is kept until answered and sent again after a reconnect
    // with the same id, so it takes effect once.
    command(name, args) {
      return this.commandWithId(newCommandId(), name, args);
    }

    // The same, with an id the caller keeps (for example across a page reload), so a
    // command sent again after the reload still takes effect only once.
    commandWithId(id, name, args) {
      return new Promise((resolve, reject) => {
        this.pending.set(id, {name, args: args || {}, resolve, reject});
        this.send({type: "command", id, name, args: args || {}});
      });
    }

    resendPending() {
      for (const [id, cmd] of this.pending) {
        this.send({type: "command", id, name: cmd.name, args: cmd.args});
      }
    }

    settle(msg) {
      const cmd = msg.id ? this.pending.get(msg.id) : null;
      if (!cmd) {
        if (msg.type === "error") this.notify({error: msg});
        return;
      }
      this.pending.delete(msg.id);
      if (msg.type === "ack") cmd.resolve(msg.result);
      else cmd.reject(msg);
    }
  }

  window.Plenary = {MeetingClient, reducers, reloadEvents, t};
})();
