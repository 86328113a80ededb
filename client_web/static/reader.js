// The document reader: library panel, PDF viewer (PDF.js), follow the presenter,
// private notes, search, offline meeting book. Texts only via textContent.
"use strict";

(function () {
  const {el, t, client, runCommand, translateError} = window.PlenaryViews;
  const body = document.body;
  const meetingId = Number(body.dataset.meeting);
  const role = body.dataset.role;
  const isProjector = role === "projector";
  const canPresent = role === "chair" || role === "organizer";
  const authQuery = (body.dataset.wsQuery || "").replace(/^\?/, "");
  const PDFJS_DIR = "/static/vendor/pdfjs/";
  const NOTES_REFRESH_MS = 30000;
  const BOOK_CACHE = "plenary-book-" + meetingId;
  const BOOK_UNREPORTED = "plenary-book-unreported-" + meetingId;

  const reader = {
    docs: [], doc: null, pdf: null, page: 1, pages: 0, zoom: 1,
    follow: true, presenting: false, presentation: null,
    tool: "none", notes: [], rendered: new Map(), renderToken: 0,
  };
  document.head.append(el("link", {rel: "stylesheet", href: "/static/reader.css"}));
  let pdfjsLib = null;
  let panel = null;
  let view = null;

  // -- helpers -----------------------------------------------------------------

  function withAuth(url) {
    if (!authQuery) return url;
    return url + (url.includes("?") ? "&" : "?") + authQuery;
  }

  async function getJSON(url, options) {
    const response = await fetch(url, Object.assign({credentials: "same-origin",
      headers: {accept: "application/json", "content-type": "application/json"}}, options || {}));
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((data.error && data.error.message) || response.statusText);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function say(box, text, isError) {
    box.textContent = text || "";
    box.classList.toggle("error", Boolean(isError));
  }

  function viewerName() {
    return (client.viewer && client.viewer.name) || body.dataset.viewerName || "";
  }

  async function loadPdfjs() {
    if (!pdfjsLib) {
      pdfjsLib = await import(PDFJS_DIR + "pdf.min.mjs");
      pdfjsLib.GlobalWorkerOptions.workerSrc = PDFJS_DIR + "pdf.worker.min.mjs";
    }
    return pdfjsLib;
  }

  // -- the library panel -------------------------------------------------------

  function buildPanel() {
    const slot = document.querySelector("[data-slot=panels]");
    if (!slot || isProjector) return;
    const results = el("div", {class: "doc-results", "data-bind": "doc-results"});
    const query = el("input", {type: "search", class: "doc-search", placeholder: t("Search the documents"),
                               "aria-label": t("Search the documents"), "data-bind": "doc-query"});
    const form = el("form", {class: "doc-search-form", onsubmit: (ev) => { ev.preventDefault(); runSearch(query.value, results); }},
      query, el("button", {type: "submit"}, t("Search")));
    panel = el("section", {class: "panel library", "aria-labelledby": "library-heading"},
      el("h2", {id: "library-heading", class: "panel-title"}, t("Documents")),
      el("div", {class: "follow-bar", "data-bind": "follow-bar"}),
      form, results,
      el("ul", {class: "library-list", "data-bind": "library-list"}),
      el("div", {class: "book-box", "data-bind": "book-box"}),
      role === "organizer" ? buildOrganizerTools() : null);
    slot.append(panel);
    renderBookBox();
  }

  function renderLibrary() {
    if (!panel) return;
    const list = panel.querySelector("[data-bind=library-list]");
    list.replaceChildren(...reader.docs.map((doc) => el("li", {class: "library-doc", "data-document": doc.id},
      el("img", {class: "doc-thumb", src: withAuth(`/documents/${doc.id}/thumbnail`), alt: "", loading: "lazy", width: 60,
                 onerror: (ev) => ev.target.classList.add("doc-thumb-missing")}),
      el("div", {class: "doc-info"},
        el("button", {class: "doc-open", onclick: () => openDocument(doc.id, 1, false)}, doc.title),
        el("small", {}, `${Math.round(doc.size / 1024)} KB`, doc.version > 1 ? " · " + t("version {n}", {n: doc.version}) : ""),
        doc.confidential ? el("span", {class: "badge"}, t("Confidential")) : null,
        doc.restricted && !doc.confidential ? el("span", {class: "badge"}, t("Restricted")) : null),
      role === "organizer" ? organizerDocTools(doc) : null)));
    renderFollowBar();
  }

  function renderFollowBar() {
    const bar = panel && panel.querySelector("[data-bind=follow-bar]");
    if (!bar) return;
    const p = reader.presentation;
    if (!p) { bar.replaceChildren(); return; }
    bar.replaceChildren(el("span", {}, t("Presented now: {title}, page {page}", {title: p.title || "", page: p.page})),
      el("button", {class: "primary", "data-action": "follow", onclick: returnToPresenter}, t("Follow the presenter")));
  }

  async function refreshLibrary() {
    if (isProjector) { client.send({type: "sync"}); return; }
    try {
      const data = await getJSON(`/api/meetings/${meetingId}/library`);
      reader.docs = data.documents;
      if (client.state) client.state.documents = data.documents;
      renderLibrary();
    } catch (err) { /* offline: keep what we have */ }
  }

  // -- search ------------------------------------------------------------------

  // Why a document was left out of a search (server/search.py REASONS).
  function silentReason(doc) {
    const title = {title: doc.title};
    switch (doc.reason) {
      case "no text layer": return t("“{title}” has no text layer (it is a scanned image), so it cannot be searched.", title);
      case "text could not be extracted": return t("The text of “{title}” could not be extracted in time, so it cannot be searched.", title);
      case "not read yet": return t("The text of “{title}” is still being read. Search again in a minute.", title);
      default: return t("“{title}” could not be read, so it cannot be searched.", title);
    }
  }

  async function runSearch(text, box) {
    say(box, t("Searching…"));
    try {
      const data = await getJSON(`/api/meetings/${meetingId}/search?q=${encodeURIComponent(text)}`);
      const hits = data.hits.map((hit) => el("li", {},
        el("button", {class: "hit", onclick: () => openDocument(hit.document_id, hit.page, false)},
          el("strong", {}, hit.title), " · ", t("page {page}", {page: hit.page})),
        el("p", {class: "snippet"}, hit.snippet)));
      const silent = data.not_searched.map((doc) => el("li", {class: "muted"}, silentReason(doc)));
      box.replaceChildren(el("p", {}, hits.length ? t("{count} pages found.", {count: hits.length}) : t("Nothing found.")),
        el("ul", {class: "hits"}, hits, silent));
    } catch (err) { say(box, err.message, true); }
  }

  // -- the viewer ----------------------------------------------------------------

  function buildViewer() {
    const tool = (name, label) => el("button", {class: "tool", "data-tool": name, "aria-pressed": "false",
                                                onclick: () => setTool(name)}, label);
    view = {
      root: el("div", {class: "reader", hidden: true, role: "dialog", "aria-label": t("Document"), "data-bind": "reader"}),
      title: el("span", {class: "reader-title"}),
      pageLabel: el("span", {class: "reader-page-label", "data-bind": "reader-page"}),
      stage: el("div", {class: "reader-stage"}),
      sheet: el("div", {class: "reader-sheet"}),
      canvas: el("canvas", {class: "reader-canvas"}),
      notes: document.createElementNS("http://www.w3.org/2000/svg", "svg"),
      mark: el("div", {class: "reader-watermark", hidden: true}),
      status: el("div", {class: "reader-status", role: "status"}),
      returnButton: el("button", {class: "primary reader-return", hidden: true, "data-action": "return", onclick: returnToPresenter}, t("Return to presenter")),
      presentButton: el("button", {class: "reader-present", hidden: !canPresent, onclick: togglePresenting}, t("Present")),
      download: el("a", {class: "button reader-download", hidden: true}, t("Download")),
    };
    view.notes.setAttribute("class", "reader-notes");
    view.sheet.append(view.canvas, view.notes, view.mark);
    view.stage.append(view.sheet);
    const tools = isProjector ? null : el("div", {class: "reader-tools"},
      tool("none", t("Read")), tool("highlight", t("Highlight")), tool("ink", t("Pen")),
      tool("text", t("Text note")), tool("erase", t("Eraser")),
      el("a", {class: "button", "data-bind": "export", onclick: exportNotes}, t("Export my notes")), view.download);
    const bar = el("div", {class: "reader-bar"},
      isProjector ? null : el("button", {onclick: closeViewer}, t("Close")),
      el("button", {class: "reader-previous", "aria-label": t("Previous page"), onclick: () => turn(-1)}, "◀"),
      view.pageLabel,
      el("button", {class: "reader-next", "aria-label": t("Next page"), onclick: () => turn(1)}, "▶"),
      el("button", {"aria-label": t("Zoom out"), onclick: () => setZoom(reader.zoom / 1.25)}, "−"),
      el("button", {"aria-label": t("Zoom in"), onclick: () => setZoom(reader.zoom * 1.25)}, "+"),
      view.title, view.returnButton, view.presentButton);
    view.root.append(bar, tools || "", view.stage, view.status);
    document.body.append(view.root);
    wireGestures();
    setTool("none");
  }

  async function openDocument(docId, page, following) {
    const doc = findDoc(docId);
    if (!doc) return;
    if (!following && reader.presentation && !reader.presenting) setFollow(false);
    view.root.hidden = false;
    if (!reader.doc || reader.doc.id !== doc.id || reader.doc.url !== doc.url) {
      reader.doc = doc;
      reader.pdf = null;
      reader.rendered.clear();
      view.title.textContent = doc.title;
      reader.loading = loadPdf(doc);
    }
    const pdf = await reader.loading;
    if (!pdf || reader.doc !== doc) return;
    await showPage(Math.min(Math.max(1, page), reader.pages || 1));
  }

  async function loadPdf(doc) {
    say(view.status, t("Opening…"));
    try {
      const lib = await loadPdfjs();
      // isEvalSupported: the Content Security Policy forbids eval; PDF.js draws fonts without it.
      const task = lib.getDocument({url: withAuth(doc.url), withCredentials: true, isEvalSupported: false,
                                    disableAutoFetch: true, rangeChunkSize: 65536});
      const pdf = await task.promise;
      if (reader.doc !== doc) return null;
      reader.pdf = pdf;
      reader.pages = pdf.numPages;
      say(view.status, "");
    } catch (err) {
      say(view.status, t("This document could not be opened."), true);
      return null;
    }
    showWatermark(doc);
    showDownload(doc);
    loadNotes();
    return reader.pdf;
  }

  function findDoc(docId) {
    return reader.docs.find((d) => d.id === docId) ||
      ((client.state && client.state.documents) || []).find((d) => d.id === docId);
  }

  function closeViewer() {
    if (reader.presenting) togglePresenting();
    view.root.hidden = true;
    reader.doc = null;
    reader.pdf = null;
    view.root.removeAttribute("data-document");
  }

  async function showPage(number) {
    reader.page = number;
    view.root.dataset.document = reader.doc.id;
    view.root.dataset.page = number;
    view.pageLabel.textContent = `${number} / ${reader.pages}`;
    const token = ++reader.renderToken;
    const canvas = await renderPage(number);
    if (token !== reader.renderToken) return;
    const ctx = view.canvas.getContext("2d");
    view.canvas.width = canvas.width;
    view.canvas.height = canvas.height;
    view.canvas.style.width = canvas.style.width;
    view.canvas.style.height = canvas.style.height;
    ctx.drawImage(canvas, 0, 0);
    view.sheet.style.width = canvas.style.width;
    view.sheet.style.height = canvas.style.height;
    view.root.dataset.rendered = number;
    drawNotes();
    // turn pages without waiting: draw the neighbours in the background
    for (const next of [number + 1, number - 1]) {
      if (next >= 1 && next <= reader.pages) renderPage(next).catch(() => {});
    }
  }

  function renderPage(number) {
    const key = `${number}@${reader.zoom}`;
    if (reader.rendered.has(key)) return reader.rendered.get(key);
    const job = (async () => {
      const page = await reader.pdf.getPage(number);
      const base = page.getViewport({scale: 1});
      const fit = Math.min((view.stage.clientWidth - 16) / base.width, 3) || 1;
      const viewport = page.getViewport({scale: fit * reader.zoom});
      const ratio = window.devicePixelRatio || 1;
      const canvas = document.createElement("canvas");
      canvas.width = Math.floor(viewport.width * ratio);
      canvas.height = Math.floor(viewport.height * ratio);
      canvas.style.width = Math.floor(viewport.width) + "px";
      canvas.style.height = Math.floor(viewport.height) + "px";
      await page.render({canvasContext: canvas.getContext("2d"), viewport,
                         transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : null}).promise;
      return canvas;
    })();
    reader.rendered.set(key, job);
    if (reader.rendered.size > 12) reader.rendered.delete(reader.rendered.keys().next().value);
    return job;
  }

  function turn(delta) {
    if (!reader.pdf) return;
    const target = Math.min(Math.max(1, reader.page + delta), reader.pages);
    if (target === reader.page) return;
    if (reader.presentation && !reader.presenting && !isProjector) setFollow(false);
    showPage(target);
    if (reader.presenting) present(target);
  }

  function setZoom(zoom) {
    reader.zoom = Math.min(Math.max(zoom, 0.5), 4);
    reader.rendered.clear();
    if (reader.pdf) showPage(reader.page);
  }

  function showWatermark(doc) {
    view.mark.hidden = !doc.confidential;
    if (!doc.confidential) return;
    const stamp = () => `${viewerName()} · ${new Date().toLocaleString(body.dataset.lang === "vi" ? "vi-VN" : "en-GB")}`;
    view.mark.replaceChildren(...Array.from({length: 12}, () => el("span", {}, stamp())));
  }

  function showDownload(doc) {
    const allowed = doc.download !== false || role === "organizer";
    view.download.hidden = !allowed || isProjector;
    view.download.href = allowed ? withAuth(doc.url + "&download=1") : "#";
  }

  // -- pinch, swipe and the note tools -------------------------------------------

  function wireGestures() {
    const pointers = new Map();
    let pinchStart = 0;
    let swipeStart = null;
    let stroke = null;
    view.stage.style.touchAction = "pan-x pan-y";
    view.stage.addEventListener("pointerdown", (ev) => {
      pointers.set(ev.pointerId, ev);
      if (pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        pinchStart = Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY);
        stroke = null;
        return;
      }
      if (reader.tool === "none") { swipeStart = ev; return; }
      stroke = {start: pagePoint(ev), points: [pagePoint(ev)]};
      view.stage.setPointerCapture(ev.pointerId);
    });
    view.stage.addEventListener("pointermove", (ev) => {
      if (!pointers.has(ev.pointerId)) return;
      pointers.set(ev.pointerId, ev);
      if (pointers.size === 2 && pinchStart) {
        const [a, b] = [...pointers.values()];
        const ratio = Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY) / pinchStart;
        view.sheet.style.transform = `scale(${ratio})`;
        view.sheet.dataset.pinch = ratio;
      } else if (stroke && reader.tool === "ink") {
        stroke.points.push(pagePoint(ev));
        drawNotes(stroke);
      }
    });
    const end = (ev) => {
      pointers.delete(ev.pointerId);
      if (view.sheet.dataset.pinch) {
        const ratio = Number(view.sheet.dataset.pinch);
        delete view.sheet.dataset.pinch;
        view.sheet.style.transform = "";
        pinchStart = 0;
        setZoom(reader.zoom * ratio);
        return;
      }
      if (swipeStart && reader.zoom <= 1) {
        const dx = ev.clientX - swipeStart.clientX;
        if (Math.abs(dx) > 60 && Math.abs(dx) > Math.abs(ev.clientY - swipeStart.clientY)) turn(dx < 0 ? 1 : -1);
      }
      swipeStart = null;
      if (stroke) finishStroke(stroke, pagePoint(ev));
      stroke = null;
    };
    view.stage.addEventListener("pointerup", end);
    view.stage.addEventListener("pointercancel", end);
    document.addEventListener("keydown", (ev) => {
      if (view.root.hidden || ev.target.closest("input, textarea")) return;
      if (ev.key === "ArrowRight" || ev.key === "PageDown") turn(1);
      if (ev.key === "ArrowLeft" || ev.key === "PageUp") turn(-1);
    });
  }

  function pagePoint(ev) {
    const box = view.canvas.getBoundingClientRect();
    const clamp = (v) => Math.min(Math.max(v, 0), 1);
    return [clamp((ev.clientX - box.left) / box.width), clamp((ev.clientY - box.top) / box.height)];
  }

  function setTool(name) {
    reader.tool = name;
    view.stage.classList.toggle("is-drawing", name !== "none");
    view.stage.style.touchAction = name === "none" ? "pan-x pan-y" : "none";
    for (const button of view.root.querySelectorAll("[data-tool]")) {
      button.setAttribute("aria-pressed", String(button.dataset.tool === name));
    }
  }

  function finishStroke(stroke, last) {
    const [x0, y0] = stroke.start;
    const [x1, y1] = last;
    if (reader.tool === "highlight" && Math.abs(x1 - x0) > 0.01) {
      saveNote("highlight", {rects: [[Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.max(Math.abs(y1 - y0), 0.015)]]});
    } else if (reader.tool === "ink" && stroke.points.length > 1) {
      saveNote("ink", {points: stroke.points.slice(0, 4000), width: 2});
    } else if (reader.tool === "text") {
      const text = window.prompt(t("Your note (only you will see it):"));
      if (text && text.trim()) saveNote("text", {x: x0, y: y0, text: text.slice(0, 4000)});
    } else if (reader.tool === "erase") {
      const hit = reader.notes.find((n) => n.page === reader.page && nearNote(n, x0, y0));
      if (hit) removeNote(hit);
    }
  }

  function nearNote(note, x, y) {
    const d = note.data;
    if (note.kind === "highlight") return d.rects.some(([l, tp, w, h]) => x >= l && x <= l + w && y >= tp - 0.01 && y <= tp + h + 0.01);
    if (note.kind === "ink") return d.points.some(([px, py]) => Math.hypot(px - x, py - y) < 0.02);
    return Math.hypot(d.x - x, d.y - y) < 0.03;
  }

  // -- private notes ---------------------------------------------------------------

  async function loadNotes() {
    if (isProjector || !reader.doc) return;
    try {
      const data = await getJSON(`/api/documents/${reader.doc.id}/notes`);
      reader.notes = data.notes;
      drawNotes();
    } catch (err) { /* offline: notes come back with the network */ }
  }

  async function saveNote(kind, data) {
    try {
      const note = await getJSON(`/api/documents/${reader.doc.id}/notes`, {method: "POST",
        body: JSON.stringify({page: reader.page, kind, data})});
      reader.notes.push(note);
      drawNotes();
    } catch (err) { say(view.status, err.message, true); }
  }

  async function removeNote(note) {
    try {
      await getJSON(`/api/notes/${note.id}`, {method: "DELETE"});
      reader.notes = reader.notes.filter((n) => n.id !== note.id);
      drawNotes();
    } catch (err) { say(view.status, err.message, true); }
  }

  function svg(tag, attrs) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    return node;
  }

  function drawNotes(live) {
    const w = view.canvas.clientWidth || 1;
    const h = view.canvas.clientHeight || 1;
    view.notes.setAttribute("viewBox", `0 0 ${w} ${h}`);
    view.notes.setAttribute("width", w);
    view.notes.setAttribute("height", h);
    const shapes = [];
    for (const note of reader.notes.filter((n) => n.page === reader.page)) shapes.push(...noteShapes(note, w, h));
    if (live) shapes.push(...noteShapes({kind: "ink", data: {points: live.points, color: "#d32f2f", width: 2}}, w, h));
    view.notes.replaceChildren(...shapes);
  }

  function noteShapes(note, w, h) {
    const d = note.data;
    if (note.kind === "highlight") {
      return d.rects.map(([x, y, rw, rh]) => svg("rect", {x: x * w, y: y * h, width: rw * w, height: rh * h,
                                                         fill: d.color || "#ffe14d", "fill-opacity": 0.4}));
    }
    if (note.kind === "ink") {
      return [svg("polyline", {points: d.points.map(([x, y]) => `${x * w},${y * h}`).join(" "), fill: "none",
                               stroke: d.color || "#d32f2f", "stroke-width": d.width || 2, "stroke-linecap": "round"})];
    }
    const label = svg("text", {x: d.x * w + 4, y: d.y * h, fill: d.color || "#1565c0", "font-size": 14});
    label.textContent = "✎ " + d.text;
    return [label];
  }

  function exportNotes(ev) {
    ev.preventDefault();
    if (reader.doc) window.open(`/documents/${reader.doc.id}/notes.pdf`, "_blank", "noopener");
  }

  // -- follow the presenter --------------------------------------------------------

  function setFollow(on) {
    reader.follow = on;
    view.returnButton.hidden = on || !reader.presentation || reader.presenting;
    body.classList.toggle("is-following", on && Boolean(reader.presentation));
  }

  function returnToPresenter() {
    setFollow(true);
    syncPresentation(true);
  }

  function syncPresentation(force) {
    const p = (client.state && client.state.presentation) || null;
    const changed = JSON.stringify(p) !== JSON.stringify(reader.presentation);
    reader.presentation = p;
    renderFollowBar();
    if (!p) { setFollow(reader.follow); return; }
    if (reader.presenting) return;
    if ((changed || force) && (reader.follow || isProjector)) openDocument(p.document_id, p.page, true);
    setFollow(reader.follow);
  }

  function togglePresenting() {
    if (reader.presenting) {
      reader.presenting = false;
      view.presentButton.textContent = t("Present");
      runCommand("document.present_end", {});
      return;
    }
    if (!reader.doc) return;
    reader.presenting = true;
    view.presentButton.textContent = t("Stop presenting");
    present(reader.page);
  }

  function present(page) {
    runCommand("document.present", {document_id: reader.doc.id, page});
  }

  // -- the offline meeting book ------------------------------------------------------

  function deviceId() {
    let id = localStorage.getItem("plenary-device");
    if (!id) {
      id = "d" + Math.random().toString(36).slice(2, 12) + Date.now().toString(36);
      localStorage.setItem("plenary-device", id);
    }
    return id;
  }

  function bookSupported() {
    return "serviceWorker" in navigator && window.isSecureContext && "caches" in window;
  }

  function renderBookBox(text, isError) {
    const box = panel && panel.querySelector("[data-bind=book-box]");
    if (!box) return;
    if (!bookSupported()) {
      box.replaceChildren(el("p", {class: "muted"}, t("This tablet cannot keep the meeting book offline: it needs a secure (https) connection.")));
      return;
    }
    const status = el("p", {"data-bind": "book-status"}, text || localStorage.getItem(BOOK_CACHE) || "");
    status.classList.toggle("error", Boolean(isError));
    box.replaceChildren(el("button", {onclick: takeBook}, t("Keep the meeting book on this tablet")), status);
  }

  // Every change to the book runs one at a time, in every tab of this tablet (Web
  // Locks, or a queue in this page where they are missing). Otherwise a sync that
  // fetched the manifest before a withdrawal could finish after the sync or the
  // deletion that followed it and put the withdrawn documents back.
  let bookQueue = Promise.resolve();
  function serially(job) {
    const run = () => (navigator.locks ? navigator.locks.request("plenary-book", job) : job());
    const result = bookQueue.then(run, run);
    bookQueue = result.catch(() => {});
    return result;
  }

  // Documents are added with a request to the server (cache mode "reload"), never
  // from the browser's HTTP cache or another copy: the server checks access then.
  function fresh(urls) {
    return urls.map((url) => new Request(url, {cache: "reload", credentials: "same-origin"}));
  }

  function bookManifest() {
    return getJSON(`/api/meetings/${meetingId}/book?device=${deviceId()}`, {cache: "no-store"});
  }

  function takeBook() {
    renderBookBox(t("Taking the meeting book…"));
    return serially(async () => {
      try {
        const manifest = await bookManifest();
        if (manifest.revoked) { await dropBookNow(); return; }
        // The server hears of the copy before it exists: a copy it does not know of
        // could not be withdrawn by the organizer.
        await getJSON(`/api/meetings/${meetingId}/book/taken`, {method: "POST",
          body: JSON.stringify({device: deviceId(), documents: manifest.documents.length, size: manifest.size})});
        await navigator.serviceWorker.register("/sw.js", {scope: "/"});
        const cache = await caches.open(BOOK_CACHE);
        const shell = ["/static/plenary.css", "/static/plenary.js", "/static/views.js", "/static/reader.js",
                       "/static/reader.css", PDFJS_DIR + "pdf.min.mjs", PDFJS_DIR + "pdf.worker.min.mjs",
                       location.pathname];
        await cache.addAll(shell.concat(fresh([`/api/meetings/${meetingId}/library`]),
                                        fresh(manifest.documents.map((d) => d.url))));
        const note = t("The meeting book is on this tablet: {count} documents.", {count: manifest.documents.length});
        localStorage.setItem(BOOK_CACHE, note);
        renderBookBox(note);
      } catch (err) { renderBookBox(err.message, true); }
    });
  }

  function dropBook() {
    return serially(dropBookNow);
  }

  async function dropBookNow() {
    if (!("caches" in window)) return;
    const had = await caches.has(BOOK_CACHE);
    for (const name of await caches.keys()) if (name.startsWith("plenary-book-")) await caches.delete(name);
    localStorage.removeItem(BOOK_CACHE);
    if (had) {
      localStorage.setItem(BOOK_UNREPORTED, "1");
      reportDeleted();
      renderBookBox(t("The organizer has withdrawn the meeting book; this tablet deleted its copy."));
    }
  }

  // The organizer sees the copy deleted once the server hears of it: the report
  // outlives this page (keepalive) and, if it is lost, is sent again at the next check.
  async function reportDeleted() {
    try {
      await getJSON(`/api/meetings/${meetingId}/book/deleted`, {method: "POST", keepalive: true,
        body: JSON.stringify({device: deviceId()})});
      localStorage.removeItem(BOOK_UNREPORTED);
    } catch (err) {
      if (err.status === 401 || err.status === 403) localStorage.removeItem(BOOK_UNREPORTED);  // nobody to tell
    }
  }

  // A check asked for while another one waits to start is the same check: the
  // waiting one fetches the manifest when it starts, so it sees the newer state.
  let checkWaiting = null;
  function checkBook() {
    if (isProjector || !("caches" in window)) return Promise.resolve();
    if (checkWaiting) return checkWaiting;
    const check = serially(async () => {
      checkWaiting = null;
      try {
        if (localStorage.getItem(BOOK_UNREPORTED)) await reportDeleted();
        if (!(await caches.has(BOOK_CACHE))) return;
        const manifest = await bookManifest();
        if (manifest.revoked) await dropBookNow();
        else await updateBook(manifest);
      } catch (err) {
        if (err.status === 401) await dropBookNow();  // logged out or session ended
      } finally {
        bookChecks += 1;
      }
    });
    checkWaiting = check;
    return check;
  }
  let bookChecks = 0;  // finished checks in this page (tests wait for the first one)

  // The book holds exactly what the manifest lists: a document this tablet may no
  // longer read (access withdrawn, removed, or replaced by a new version) is deleted,
  // a new one is added, and the kept list of documents is refreshed. It runs inside
  // serially() after caches.has(): nothing deletes the book between the two.
  async function updateBook(manifest) {
    const cache = await caches.open(BOOK_CACHE);
    const wanted = new Set(manifest.documents.map((d) => new URL(d.url, location.origin).href));
    for (const request of await cache.keys()) {
      const url = new URL(request.url);
      if (url.pathname.startsWith("/documents/") && !wanted.has(url.href)) await cache.delete(request);
      wanted.delete(url.href);
    }
    await cache.addAll(fresh([...wanted, `/api/meetings/${meetingId}/library`]));
  }

  // -- organizer tools -----------------------------------------------------------------

  function buildOrganizerTools() {
    const file = el("input", {type: "file", id: "upload-file", accept: "application/pdf,.pdf,.doc,.docx,.odt,.xls,.xlsx,.ppt,.pptx", "data-bind": "upload-file"});
    const title = el("input", {type: "text", id: "upload-title", "data-bind": "upload-title"});
    const item = el("select", {id: "upload-item", "data-bind": "upload-item"});
    const secret = el("input", {type: "checkbox"});
    const status = el("p", {class: "upload-status", role: "status"});
    const form = el("form", {class: "upload-form", onsubmit: async (ev) => {
      ev.preventDefault();
      if (!file.files.length) return;
      say(status, t("Uploading…"));
      const f = file.files[0];
      const params = new URLSearchParams({filename: f.name, title: title.value, confidential: secret.checked ? "1" : "0"});
      if (item.value) params.set("item_id", item.value);
      try {
        const doc = await getJSON(`/api/meetings/${meetingId}/documents?${params}`, {method: "POST", body: f,
          headers: {accept: "application/json", "content-type": "application/octet-stream"}});
        say(status, doc.notice || t("Uploaded."));
        form.reset();
        refreshLibrary();
      } catch (err) { say(status, err.message, true); }
    }}, el("h3", {}, t("Add a document")),
      el("label", {for: "upload-file"}, t("File (PDF, or a Word, Excel or PowerPoint file)")), file,
      el("label", {for: "upload-title"}, t("Title")), title,
      el("label", {for: "upload-item"}, t("Agenda item")), item,
      el("label", {}, secret, " ", t("Confidential")), el("button", {type: "submit", class: "primary"}, t("Upload")), status);
    const copies = el("div", {class: "book-copies", "data-bind": "book-copies"});
    window.addEventListener("plenary:state", () => {
      const items = (client.state.agenda || []).map((i) => el("option", {value: i.id}, `${i.number} ${i.title}`));
      if (item.options.length !== items.length + 1) item.replaceChildren(el("option", {value: ""}, t("No agenda item")), ...items);
    });
    return el("div", {class: "organizer-tools"}, form,
      el("h3", {}, t("Who has the meeting book")), copies,
      el("button", {class: "danger", onclick: () => runCommand("book.revoke", {}).then(refreshCopies)}, t("Withdraw the book from every tablet")));
  }

  function organizerDocTools(doc) {
    const replace = el("input", {type: "file", accept: "application/pdf,.pdf", class: "sr-only"});
    replace.addEventListener("change", async () => {
      if (!replace.files.length) return;
      const f = replace.files[0];
      try {
        await getJSON(`/api/documents/${doc.id}/replace?filename=${encodeURIComponent(f.name)}&version=${doc.version}`,
          {method: "POST", body: f, headers: {accept: "application/json", "content-type": "application/octet-stream"}});
        refreshLibrary();
      } catch (err) { window.alert(err.message); }
    });
    const groups = el("input", {type: "text", value: (doc.groups || []).join("; "), placeholder: t("Groups, separated by ;")});
    const roles = ["chair", "secretary", "delegate", "guest"].map((r) =>
      el("label", {}, el("input", {type: "checkbox", value: r, checked: (doc.roles || []).includes(r)}), " ", t(r)));
    const download = el("input", {type: "checkbox", checked: doc.download !== false});
    const confidential = el("input", {type: "checkbox", checked: doc.confidential});
    const save = () => runCommand("document.access", {document_id: doc.id,
      roles: roles.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value),
      groups: groups.value.split(";").map((g) => g.trim()).filter(Boolean),
      download: download.checked, confidential: confidential.checked});
    return el("details", {class: "doc-admin"}, el("summary", {}, t("Access and versions")),
      el("div", {}, ...roles), groups,
      el("label", {}, confidential, " ", t("Confidential")), el("label", {}, download, " ", t("Downloads allowed")),
      el("button", {onclick: save}, t("Save access")),
      el("label", {class: "button"}, t("Replace the file"), replace),
      el("button", {class: "danger", onclick: () => window.confirm(t("Remove this document?")) && runCommand("document.remove", {document_id: doc.id})}, t("Remove")));
  }

  async function refreshCopies() {
    const box = panel && panel.querySelector("[data-bind=book-copies]");
    if (!box) return;
    try {
      const data = await getJSON(`/api/meetings/${meetingId}/book-copies`);
      const states = {taken: t("has the book"), withdrawn: t("withdrawn, not yet deleted"), deleted: t("deleted")};
      box.replaceChildren(el("ul", {}, data.copies.map((c) => el("li", {},
        c.name, " · ", states[c.state] || c.state, " · ", t("{count} documents", {count: c.documents}), " ",
        el("button", {class: "quiet", onclick: () => endSessions(c.participant_id)}, t("End sessions")))),
        data.copies.length ? null : el("li", {class: "muted"}, t("No tablet has taken the book yet."))));
    } catch (err) { say(box, err.message, true); }
  }

  async function endSessions(participantId) {
    if (!window.confirm(t("Log this participant out on every device?"))) return;
    await getJSON(`/api/meetings/${meetingId}/participants/${participantId}/end-sessions`, {method: "POST"}).catch(() => {});
  }

  // -- wiring ----------------------------------------------------------------------

  window.Plenary.reducers["document.present"] = (state, data) => {
    state.presentation = data.document_id ? {document_id: data.document_id, page: data.page, title: data.title} : null;
  };
  window.Plenary.reducers["library.changed"] = () => { setTimeout(() => { refreshLibrary(); checkBook(); }, 0); };
  window.Plenary.reducers["book.revoked"] = (state, data) => {
    if (client.viewer && data.participant_id === client.viewer.participant_id) setTimeout(dropBook, 0);
  };
  window.Plenary.reducers["book.changed"] = () => { if (role === "organizer") setTimeout(refreshCopies, 0); };

  let first = true;
  window.addEventListener("plenary:state", () => {
    reader.docs = client.state.documents || [];
    renderLibrary();
    syncPresentation(false);
    if (first) {
      first = false;
      checkBook();
      if (role === "organizer") refreshCopies();
      const wanted = Number(new URLSearchParams(location.search).get("doc"));
      if (wanted) openDocument(wanted, 1, false);
    }
  });
  client.onChange((what) => {
    if (what === "connection" && client.connection === "refused") dropBook();
    if (what === "synced") checkBook();
  });
  window.addEventListener("focus", () => { if (!view.root.hidden) loadNotes(); });
  setInterval(() => { if (!view.root.hidden) loadNotes(); }, NOTES_REFRESH_MS);
  // Offline with the book: no socket, so read the list the service worker kept.
  setTimeout(() => { if (!client.state && !isProjector) refreshLibrary(); }, 3000);

  buildPanel();
  buildViewer();
  window.PlenaryReader = {reader, openDocument, turn, returnToPresenter, togglePresenting, setTool,
                          bookChecks: () => bookChecks};
})();
