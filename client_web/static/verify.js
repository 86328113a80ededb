// The public /verify page: drop a PDF, see each signature. Without this script the
// form still works (the server answers with the same report as a page).
"use strict";

(function () {
  const form = document.querySelector("[data-bind=verify-form]");
  const result = document.querySelector("[data-bind=verify-result]");
  const input = form.querySelector("input[type=file]");
  const catalog = JSON.parse(document.getElementById("i18n").textContent || "{}");
  function t(text, params) {
    let out = catalog[text] || text;
    for (const [key, value] of Object.entries(params || {})) out = out.split("{" + key + "}").join(String(value));
    return out;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function row(label, value) { return [el("dt", {}, t(label)), el("dd", {}, value)]; }

  function show(name, report) {
    const cards = report.signatures.map((s, i) => el("article", {class: "card signature " + (s.ok ? "ok" : "not-ok")},
      el("h3", {}, `${i + 1}. ${s.signer || s.field}`),
      el("dl", {},
        row("Signer", s.subject),
        row("Signed at (signer's clock)", s.signed_at || "—"),
        row("Timestamp", s.timestamp || t("none")),
        row("Integrity", (s.intact ? t("The signed bytes are intact.") : t("The signed bytes were changed.")) + " " + t(s.change)),
        row("Certificate", s.trust + (s.not_for_production ? " " + t("This is a trial certificate, NOT FOR PRODUCTION.") : "")),
        row("Valid", `${s.certificate_valid_from} – ${s.certificate_valid_to}`))));
    result.replaceChildren(el("h2", {}, name),
      report.problem ? el("p", {class: "error"}, t(report.problem)) : "", ...cards);
  }

  async function check(file) {
    result.replaceChildren(el("p", {}, t("Checking…")));
    const body = new FormData();
    body.append("file", file);
    const response = await fetch("/verify", {method: "POST", body, headers: {Accept: "application/json"}});
    const data = await response.json();
    if (!response.ok) {
      result.replaceChildren(el("p", {class: "error", role: "alert"}, t(data.error.template || data.error.message, data.error.params)));
      return;
    }
    show(file.name, data);
  }

  form.addEventListener("submit", (ev) => {
    if (!input.files.length) return;
    ev.preventDefault();
    check(input.files[0]);
  });
  for (const kind of ["dragover", "dragenter"]) {
    form.addEventListener(kind, (ev) => { ev.preventDefault(); form.classList.add("dragging"); });
  }
  form.addEventListener("dragleave", () => form.classList.remove("dragging"));
  form.addEventListener("drop", (ev) => {
    ev.preventDefault();
    form.classList.remove("dragging");
    if (ev.dataTransfer.files.length) check(ev.dataTransfer.files[0]);
  });
})();
