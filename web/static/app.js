/*
 * app.js: the nurses' workspace. Three views behind the URL's hash: the
 * log-in, the triage list (#/) and a patient (#/patients/ID). Everything is
 * read from the JSON API of `dhohub web` (docs/api.md) and kept live by its
 * event stream; every state change carries the session's CSRF token and
 * the alert's version (If-Match), so that a nurse never acks an alert that
 * changed under her eyes without being told.
 *
 * Text reaches the page only through textContent (h() below), never as
 * HTML: patient ids, notes and reasons are data.
 */
"use strict";

const App = {
  me: null,            /* the session document: user, role, teams, csrf */
  require2fa: false,
  filters: { team: "", state: "" },
  alerts: [],          /* the triage list as the API ordered it */
  counts: null,        /* unresolved alerts (not filtered by state) */
  details: new Map(),  /* "A17@5" -> the alert with its events */
  events: null,        /* the EventSource */
  live: false,
  reloadTimer: null,
  changed: new Set(),  /* alert ids the stream named since the last render */
  days: 7,
  lastLoad: null,
  charts: [],          /* [uPlot, its element] on the patient view */
  moved: [],           /* alerts that escalated away from the nurse's teams */
};

/* ---------- small helpers ---------- */

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const t = (k, a) => I18N.t(k, a);
const main = () => document.getElementById("main");

function announce(text) {
  const el = document.getElementById("announce");
  el.textContent = "";
  setTimeout(() => { el.textContent = text; }, 50);
}

/* One request to the API. Resolves to {status, body, headers}; a network
 * failure resolves to status 0. A 401 on anything but the log-in means the
 * session is gone: back to the log-in form with that said. */
async function api(method, path, body, extra) {
  const headers = Object.assign({ "Accept": "application/json" }, extra || {});
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && App.me && App.me.csrf) headers["X-CSRF-Token"] = App.me.csrf;
  let res;
  try {
    res = await fetch("/api/v1" + path, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    return { status: 0, body: null, headers: new Headers() };
  }
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (res.status === 401 && path !== "/session" && App.me) {
    App.me = null;
    stopEvents();
    renderLogin(t("err_session"));
  }
  return { status: res.status, body: data, headers: res.headers };
}

function errorText(r) {
  if (r.status === 0) return t("err_network");
  if (r.status === 412 || r.status === 409) return t("err_conflict");
  return t("err_generic", { msg: (r.body && r.body.error) || ("HTTP " + r.status) });
}

/* ---------- words for an alert ---------- */

function sevWord(sev) { return sev === "red" ? t("red") : sev === "yellow" ? t("yellow") : sev; }

/* "Rødt varsel" / "Red alert": the severity with its noun, for screen readers. */
function sevAlert(sev) {
  const w = t("alert_" + sev);
  return w.charAt(0).toUpperCase() + w.slice(1);
}

function sevBadge(sev) {
  return h("span", { class: "sev " + sev }, sevWord(sev));
}

/* The events of an alert, fetched once per version: who acked it and when,
 * and which team an escalated alert came from, are in its history. */
async function detail(a) {
  const key = a.id + "@" + a.version;
  if (App.details.has(key)) return App.details.get(key);
  const r = await api("GET", "/alerts/" + encodeURIComponent(a.id));
  const d = r.status === 200 && r.body ? r.body : null;
  if (d) App.details.set(key, d);
  return d;
}

function lastEvent(d, kind) {
  if (!d || !Array.isArray(d.events)) return null;
  for (let i = d.events.length - 1; i >= 0; i--) if (d.events[i].event === kind) return d.events[i];
  return null;
}

/* The team an escalated alert left last: the team of the event before the
 * latest escalated one. */
function escalatedFrom(d) {
  if (!d || !Array.isArray(d.events)) return null;
  for (let i = d.events.length - 1; i > 0; i--)
    if (d.events[i].event === "escalated" && d.events[i - 1].team !== d.events[i].team)
      return d.events[i - 1].team;
  return null;
}

/* The state as nurses say it: ny / kvittert av Kari 08:14 / eskalert fra
 * hjemmesykepleien / oppstått igjen / normalisert. */
function stateParts(a, d) {
  const parts = [];
  if (a.state === "resolved") {
    const ev = lastEvent(d, "resolved") || (a.event === "resolved" ? a : null);
    const time = ev ? I18N.when(ev.at) : "";
    parts.push({ cls: "resolved", note: ev && ev.note, text: ev && ev.by === "auto"
      ? t("state_resolved_auto", { time }) : t("state_resolved", { by: (ev && ev.by) || "?", time }) });
  } else if (a.state === "acked") {
    const ev = lastEvent(d, "acked") || (a.event === "acked" ? a : null);
    const by = a.acked_by || (ev && ev.by) || "?";
    const at = a.acked_at || (ev && ev.at);
    parts.push({ cls: "acked", text: t("state_acked", { by, time: at ? I18N.when(at) : "" }), note: ev && ev.note });
  } else {
    parts.push({ cls: "new", text: t("state_new") });
  }
  if (a.level > 0) {
    const from = a.escalated_from || escalatedFrom(d);
    parts.push({ cls: "tag", text: from ? t("state_escalated", { team: I18N.team(from) })
      : t("state_escalated_level", { n: a.level }) });
  }
  if (a.event === "recurred") parts.push({ cls: "tag", text: t("state_recurred") });
  if (a.event === "raised") parts.push({ cls: "tag", text: t("state_raised") });
  if (a.event === "reminded") parts.push({ cls: "tag", text: t("state_reminded") });
  if (a.cleared && a.state !== "resolved") parts.push({ cls: "tag", text: t("state_cleared") });
  return parts;
}

function reasonEl(a) {
  const r = I18N.reason(a.reason);
  return h("span", { class: "reason", lang: r.translated ? null : "en" }, r.text);
}

function latestEl(a) {
  if (typeof a.value !== "number") return h("dd", {}, t("no_value"));
  return h("dd", {},
    I18N.quantity(a.metric, a.value, a.unit), " · ",
    h("span", { class: "age", "data-at": a.measured_at }, I18N.age(a.measured_at)));
}

function fact(label, valueEl) {
  return h("div", {}, h("dt", {}, label), valueEl);
}

/* One alert: an element the browser tests find by its data-alert and
 * data-severity. */
function alertItem(a, d) {
  const parts = stateParts(a, d);
  const open = a.state === "open";
  const active = a.state !== "resolved";
  const headId = "al-" + a.id;
  const stateEl = h("dd", {}, parts.map((p, i) =>
    h("span", { class: p.cls === "tag" ? "tag" : "state " + p.cls }, i && p.cls !== "tag" ? " · " : "", p.text)));
  const note = parts.find((p) => p.note);
  return h("li", {
    class: "alert" + (App.changed.has(a.id) ? " flash" : ""),
    dataset: { alert: a.id, severity: a.severity, state: a.state, version: String(a.version) },
    "aria-labelledby": headId,
  },
  h("div", {}, sevBadge(a.severity), h("span", { class: "id" }, a.id)),
  h("div", {},
    h("div", { class: "head", id: headId },
      h("span", { class: "sr" }, sevAlert(a.severity) + ": "),
      h("a", { class: "patient", href: "#/patients/" + encodeURIComponent(a.patient) }, a.patient),
      reasonEl(a)),
    h("dl", { class: "facts" },
      fact(t("latest"), latestEl(a)),
      fact(t("opened"), h("dd", {}, I18N.when(a.opened_at), " ",
        h("span", { class: "age", "data-at": a.opened_at }, "(" + I18N.age(a.opened_at) + ")"))),
      fact(t("state"), stateEl),
      fact(t("responsible"), h("dd", { title: a.team }, I18N.team(a.team)))),
    note ? h("p", { class: "note" }, t("note") + ": «" + note.note + "»") : null,
    h("p", { class: "error", role: "alert", dataset: { error: a.id } })),
  h("div", { class: "actions" },
    open ? h("button", { type: "button", class: "primary", dataset: { action: "ack" },
      "aria-describedby": headId, onclick: () => quickAck(a) }, t("ack")) : null,
    open ? h("button", { type: "button", class: "secondary", dataset: { action: "ack-note" },
      "aria-describedby": headId, onclick: () => askNote("ack", a) }, t("ack") + " + " + t("note").toLowerCase() + "…") : null,
    active ? h("button", { type: "button", class: "secondary", dataset: { action: "resolve" },
      "aria-describedby": headId, onclick: () => askNote("resolve", a) }, t("resolve") + "…") : null));
}

/* ---------- actions ---------- */

async function act(kind, a, note) {
  const buttons = document.querySelectorAll(`[data-alert="${CSS.escape(a.id)}"] button`);
  buttons.forEach((b) => { b.disabled = true; });
  const r = await api("POST", "/alerts/" + encodeURIComponent(a.id) + "/" + kind,
    note ? { note } : {}, { "If-Match": String(a.version) });
  buttons.forEach((b) => { b.disabled = false; });
  if (r.status === 200 || r.status === 204) {
    announce(t("changed_alert", { id: a.id, what: kind === "ack" ? t("st_acked") : t("st_resolved") }));
    App.changed.add(a.id);
    await refresh();
    return null;
  }
  if (r.status === 409 || r.status === 412 || r.status === 404) await refresh();
  return errorText(r);
}

/* Kvitter in one press; what went wrong is said on the alert itself. */
async function quickAck(a) {
  const e = await act("ack", a, "");
  const el = document.querySelector(`[data-error="${CSS.escape(a.id)}"]`);
  if (e && el) el.textContent = e;
}

/* The note dialog: optional for kvitter, required for avslutt. */
function askNote(kind, a) {
  const dlg = document.getElementById("dialog");
  const required = kind === "resolve";
  const err = h("p", { class: "error", role: "alert" });
  const area = h("textarea", { id: "dialog-note", name: "note", required: required ? true : null,
    maxlength: "255", "aria-describedby": "dialog-what" });
  const submit = h("button", { type: "submit", class: "primary", dataset: { action: "confirm-" + kind } },
    kind === "ack" ? t("ack") : t("resolve"));
  const form = h("form", { method: "dialog", novalidate: true },
    h("h2", { id: "dialog-title" }, t(kind + "_title", { id: a.id })),
    h("p", { class: "what", id: "dialog-what" }, sevWord(a.severity) + " · " + a.patient + " · " + I18N.reason(a.reason).text),
    h("label", { for: "dialog-note" }, required ? t("note_required") : t("note_optional")),
    area, err,
    h("div", { class: "row" },
      h("button", { type: "button", value: "cancel", onclick: () => dlg.close() }, t("cancel")),
      submit));
  area.addEventListener("input", () => { err.textContent = ""; });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const note = area.value.trim();
    if (required && !note) { err.textContent = t("err_note"); area.focus(); return; }
    submit.disabled = true;
    const e = await act(kind, a, note);
    submit.disabled = false;
    if (e) { err.textContent = e; return; }
    dlg.close();
  });
  const opener = document.activeElement;
  dlg.replaceChildren(form);
  /* Back where the nurse was; a resolved alert has left the list, so then
   * to the list itself. */
  dlg.onclose = () => {
    if (opener && document.contains(opener)) opener.focus();
    else main().focus();
  };
  dlg.showModal();
  area.focus();
}

/* ---------- log-in ---------- */

function renderLogin(message) {
  document.getElementById("bar").hidden = true;
  const err = h("p", { class: "error", role: "alert", id: "login-error" }, message || "");
  const otp = App.require2fa ? h("div", { class: "field" },
    h("label", { for: "otp" }, t("otp")),
    h("input", { id: "otp", name: "otp", inputmode: "numeric", autocomplete: "one-time-code",
      pattern: "[0-9]{6,8}", required: true, "aria-describedby": "otp-hint" }),
    h("span", { class: "hint", id: "otp-hint" }, t("otp_hint"))) : null;
  const button = h("button", { type: "submit", class: "primary" }, t("login"));
  const form = h("form", { class: "login", "aria-labelledby": "login-title", novalidate: true },
    h("h2", { id: "login-title" }, "dhohub · " + t("login_title")),
    langPicker(),
    h("div", { class: "field" }, h("label", { for: "user" }, t("user")),
      h("input", { id: "user", name: "user", autocomplete: "username", required: true, autocapitalize: "none" })),
    h("div", { class: "field" }, h("label", { for: "password" }, t("password")),
      h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true })),
    otp, err, button);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = { user: String(f.get("user") || "").trim(), password: String(f.get("password") || "") };
    if (App.require2fa) body.otp = String(f.get("otp") || "").trim();
    if (!body.user || !body.password) { err.textContent = t("err_login"); return; }
    button.disabled = true;
    const r = await api("POST", "/session", body);
    button.disabled = false;
    if (r.status === 200 && r.body) {
      App.me = r.body;
      start();
      return;
    }
    const msg = (r.body && r.body.error) || "";
    if (r.status === 401 && (r.body && r.body.otp === true || /one-time code/i.test(msg)) && !App.require2fa) {
      App.require2fa = true;
      renderLogin(t("err_otp"));
      document.getElementById("user").value = body.user;
      document.getElementById("password").value = body.password;
      document.getElementById("otp").focus();
      return;
    }
    if (r.status === 429) {
      const secs = parseInt(r.headers.get("Retry-After") || "900", 10);
      err.textContent = t("err_throttled", { min: Math.max(1, Math.ceil(secs / 60)) });
    } else if (r.status === 401) {
      err.textContent = App.require2fa ? t("err_login") + " " + t("err_otp") : t("err_login");
    } else {
      err.textContent = errorText(r);
    }
    form.querySelector("#password").value = "";
    form.querySelector("#password").focus();
  });
  main().replaceChildren(form);
  document.title = "dhohub · " + t("login_title");
  form.querySelector("#user").focus();
}

function langPicker() {
  const sel = h("select", { id: "lang", "aria-label": t("language") },
    h("option", { value: "nb" }, "Norsk (bokmål)"), h("option", { value: "en" }, "English"));
  sel.value = I18N.lang;
  sel.addEventListener("change", () => { I18N.set(sel.value); staticWords(); route(); });
  return sel;
}

function staticWords() {
  document.getElementById("skip").textContent = t("skip");
}

/* ---------- the bar ---------- */

function renderBar() {
  const bar = document.getElementById("bar");
  bar.hidden = false;
  const liveEl = h("span", { class: "live" + (App.live ? "" : " off"), id: "live", role: "status" },
    App.live ? t("live_on") : t("live_off"));
  bar.replaceChildren(
    h("h1", {}, h("a", { href: "#/" }, "dhohub · " + t("title"))),
    liveEl,
    h("span", { class: "spacer" }),
    h("span", { class: "who" }, t("logged_in_as") + " ", h("strong", {}, App.me.user),
      App.me.teams && App.me.teams.length ? " · " + App.me.teams.map(I18N.team).join(", ") : ""),
    langPicker(),
    h("button", { type: "button", onclick: logout }, t("logout")));
}

function setLive(on) {
  App.live = on;
  const el = document.getElementById("live");
  if (!el) return;
  el.className = "live" + (on ? "" : " off");
  el.textContent = on ? t("live_on") : t("live_off");
}

async function logout() {
  await api("DELETE", "/session");
  App.me = null;
  stopEvents();
  location.hash = "#/";
  renderLogin("");
}

/* ---------- the event stream ---------- */

function startEvents() {
  if (App.events) return;
  const es = new EventSource("/api/v1/events");
  App.events = es;
  es.addEventListener("open", () => { setLive(true); scheduleRefresh(); });
  es.addEventListener("error", () => {
    setLive(false);
    /* EventSource retries by itself after a dropped connection, but gives
     * up on an answer that is not a stream (401 when the session ended,
     * 503 when the server has too many streams): a request tells which,
     * and the stream is opened again a little later. */
    if (es.readyState !== EventSource.CLOSED) return;
    App.events = null;
    setTimeout(async () => {
      if (!App.me) return;
      await refresh();
      if (App.me) startEvents();
    }, 5000);
  });
  es.addEventListener("alert", (ev) => {
    let d = null;
    try { d = JSON.parse(ev.data); } catch (e) { return; }
    if (!d || !d.id) return;
    App.changed.add(d.id);
    movedAway(d);
    if (d.event === "opened") announce(t("new_alert", { what: sevAlert(d.severity).toLowerCase(), id: d.id }));
    else announce(t("changed_alert", { id: d.id, what: t("ev_" + d.event, { by: "", team: "" }).trim() }));
    scheduleRefresh();
  });
}

/* An alert that escalated to a team that is not hers leaves her list: she
 * is told where it went, so that she does not lose track of it. */
function movedAway(d) {
  if (d.event !== "escalated" || !d.team || (App.me.teams || []).includes(d.team)) return;
  const was = App.alerts.find((a) => a.id === d.id);
  if (!was || App.moved.some((m) => m.id === d.id)) return;
  App.moved.push({ id: d.id, patient: was.patient, severity: was.severity, team: d.team, at: new Date().toISOString() });
}

function movedEl() {
  return h("div", { id: "moved", role: "status" }, App.moved.map((m) =>
    h("p", { class: "moved", dataset: { moved: m.id } },
      sevBadgeSmall(m.severity), " ",
      t("moved", { id: m.id, patient: m.patient, team: I18N.team(m.team), time: I18N.when(m.at) }), " ",
      h("button", { type: "button", class: "secondary", onclick: () => {
        App.moved = App.moved.filter((x) => x.id !== m.id);
        document.getElementById("moved").replaceWith(movedEl());
      } }, t("dismiss")))));
}

function stopEvents() {
  if (App.events) App.events.close();
  App.events = null;
  setLive(false);
}

/* Several events in a burst give one reload of the list. */
function scheduleRefresh() {
  clearTimeout(App.reloadTimer);
  App.reloadTimer = setTimeout(refresh, 150);
}

async function refresh() {
  const r = currentRoute();
  if (r.view === "patient") await showPatient(r.id, true);
  else await showTriage(true);
}

/* ---------- the triage list ---------- */

async function fetchAlerts(params) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 20; page++) {
    const q = new URLSearchParams(params);
    q.set("limit", "200");
    if (cursor) q.set("cursor", cursor);
    const r = await api("GET", "/alerts?" + q.toString());
    if (r.status !== 200 || !r.body) return { error: r };
    out.push(...(r.body.items || []));
    cursor = r.body.next;
    if (!cursor) break;
  }
  return { items: out };
}

/* Keeps keyboard focus on the same control across a re-render. */
function focusKey() {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const item = el.closest && el.closest("[data-alert]");
  if (el.id && !item) return { id: el.id };
  if (item) return { alert: item.dataset.alert, action: el.dataset.action || null, tag: el.tagName };
  return null;
}

function restoreFocus(k) {
  if (!k) return;
  let el = null;
  if (k.id) el = document.getElementById(k.id);
  else {
    const item = document.querySelector(`[data-alert="${CSS.escape(k.alert)}"]`);
    if (item) el = (k.action && item.querySelector(`[data-action="${k.action}"]`)) ||
      item.querySelector(k.tag === "A" ? "a" : "button") || item.querySelector("a");
  }
  if (el) el.focus();
}

async function showTriage(quiet) {
  const base = {};
  if (App.filters.team) base.team = App.filters.team;
  const active = await fetchAlerts(base);
  if (active.error) { if (App.me) main().replaceChildren(h("p", { class: "error" }, errorText(active.error))); return; }
  let list = active.items;
  if (App.filters.state) {
    const f = await fetchAlerts(Object.assign({ state: App.filters.state }, base));
    if (f.error) return;
    list = f.items;
  }
  /* The history of acked and escalated alerts says who acked and where
   * they came from; fetched once per version, in parallel. */
  const ds = await Promise.all(list.map((a) =>
    (a.state !== "open" || a.level > 0) && !(a.state === "acked" && a.acked_by) ? detail(a) : null));
  if (currentRoute().view !== "triage" || !App.me) return;
  App.alerts = list;
  App.counts = active.items;
  App.lastLoad = new Date();
  const fk = quiet ? focusKey() : null;
  renderTriage(list, ds);
  restoreFocus(fk);
  App.changed.clear();
}

function countsEl(items) {
  const red = items.filter((a) => a.severity === "red").length;
  const yellow = items.filter((a) => a.severity === "yellow").length;
  const unacked = items.filter((a) => a.state === "open").length;
  const one = (n, key) => t(n === 1 ? key + "_one" : key, { n });
  return h("div", { class: "summary" },
    h("h2", { id: "counts-title" }, t("counts")),
    h("span", { class: "count red" + (red ? "" : " zero"), dataset: { count: "red" } }, one(red, "n_red")),
    h("span", { class: "count yellow" + (yellow ? "" : " zero"), dataset: { count: "yellow" } }, one(yellow, "n_yellow")),
    h("span", { class: "count unacked" + (unacked ? "" : " zero"), dataset: { count: "open" } }, t("n_unacked", { n: unacked })),
    h("span", { class: "updated" }, t("updated", { time: I18N.when(App.lastLoad.toISOString()) })));
}

function filtersEl() {
  const team = h("select", { id: "f-team", name: "team" },
    h("option", { value: "" }, t("all_teams")),
    (App.me.teams || []).map((tm) => h("option", { value: tm }, I18N.team(tm))));
  team.value = App.filters.team;
  const state = h("select", { id: "f-state", name: "state" },
    h("option", { value: "" }, t("st_active")),
    h("option", { value: "open" }, t("st_open")),
    h("option", { value: "acked" }, t("st_acked")),
    h("option", { value: "resolved" }, t("st_resolved")),
    h("option", { value: "all" }, t("st_all")));
  state.value = App.filters.state;
  const change = () => { App.filters.team = team.value; App.filters.state = state.value; showTriage(true); };
  team.addEventListener("change", change);
  state.addEventListener("change", change);
  return h("form", { class: "filters", role: "search", "aria-label": t("filters"), onsubmit: (e) => e.preventDefault() },
    h("div", {}, h("label", { for: "f-team" }, t("team")), team),
    h("div", {}, h("label", { for: "f-state" }, t("state")), state));
}

/* Re-rendering keeps the controls a nurse may be using: the filters stay,
 * and an alert whose version did not change keeps its element, so that a
 * button does not vanish under the pointer when another alert changes. */
function renderTriage(list, ds) {
  document.title = "dhohub · " + t("triage") + (App.counts.length ? ` (${App.counts.length})` : "");
  let root = document.getElementById("triage");
  if (!root) {
    root = h("div", { id: "triage" }, h("div", { id: "counts" }), h("div", { id: "moved" }), filtersEl(),
      h("h2", { class: "sr", id: "list-title" }, t("triage")), h("div", { id: "list" }));
    main().replaceChildren(root);
  }
  const counts = countsEl(App.counts);
  counts.id = "counts";
  document.getElementById("counts").replaceWith(counts);
  document.getElementById("moved").replaceWith(movedEl());
  const old = new Map([...root.querySelectorAll("#alerts > [data-alert]")].map((e) => [e.dataset.alert, e]));
  const items = list.map((a, i) => {
    const o = old.get(a.id);
    return o && o.dataset.version === String(a.version) && !App.changed.has(a.id) ? o : alertItem(a, ds[i]);
  });
  let ol = document.getElementById("alerts");
  if (!items.length) {
    document.getElementById("list").replaceChildren(h("p", { class: "empty", id: "alerts-empty" }, t("empty")));
    return;
  }
  if (!ol) {
    ol = h("ol", { class: "alerts", id: "alerts", "aria-labelledby": "list-title" });
    document.getElementById("list").replaceChildren(ol);
  }
  /* Only what moved is touched: an element already in its place stays. */
  items.forEach((el, i) => { if (ol.children[i] !== el) ol.insertBefore(el, ol.children[i] || null); });
  while (ol.children.length > items.length) ol.lastElementChild.remove();
}

/* ---------- the patient ---------- */

/* The limits of a threshold rule as [{severity, op, value}]: the API's
 * own list when it gives one. */
function limitsOf(rule) {
  if (!rule) return [];
  if (Array.isArray(rule.limits)) {
    return rule.limits.filter((l) => l && typeof l.value === "number" && /^(<|<=|>|>=)$/.test(l.op))
      .map((l) => ({ severity: l.severity, op: l.op, value: l.value }));
  }
  return [];
}

/* A missing.M rule's first (yellow) limit in seconds: the API gives it as
 * {"op": "silent>", "value": SECONDS}. */
function missingOf(rule) {
  if (!rule || !Array.isArray(rule.limits)) return 0;
  const ls = rule.limits.filter((l) => l && l.op === "silent>" && typeof l.value === "number");
  return ls.length ? Math.min(...ls.map((l) => l.value)) : 0;
}

function ruleMetric(key) { const i = key.indexOf("."); return i < 0 ? key : key.slice(i + 1); }

function limitsText(rule) {
  const kind = rule.key.split(".")[0];
  if (kind === "threshold") {
    const ls = limitsOf(rule);
    if (ls.length) return ls.map((l) => sevWord(l.severity).toLowerCase() + " " + l.op + " " + I18N.number(l.value)).join(", ");
  }
  if (kind === "missing" && Array.isArray(rule.limits)) {
    const ls = rule.limits.filter((l) => l.op === "silent>" && typeof l.value === "number");
    if (ls.length) return ls.map((l) => t("missing_after", { sev: sevWord(l.severity).toLowerCase(), span: I18N.span(l.value) })).join(", ");
  }
  return rule.spec;
}

async function showPatient(id, quiet) {
  const enc = encodeURIComponent(id);
  const since = new Date(Date.now() - 30 * 86400000).toISOString().replace(/\.\d+Z$/, "Z");
  const [p, al, rd] = await Promise.all([
    api("GET", "/patients/" + enc),
    api("GET", "/alerts?patient=" + enc + "&state=all&limit=200"),
    api("GET", "/patients/" + enc + "/readings?since=" + encodeURIComponent(since)),
  ]);
  if (currentRoute().view !== "patient" || currentRoute().id !== id || !App.me) return;
  if (p.status !== 200 || !p.body) {
    main().replaceChildren(h("p", { class: "crumbs" }, h("a", { href: "#/" }, "← " + t("back"))),
      h("p", { class: "error", role: "alert" }, p.status === 404 ? t("not_found") : errorText(p)));
    return;
  }
  const alerts = al.status === 200 && al.body ? al.body.items || [] : [];
  const readings = rd.status === 200 && rd.body ? (Array.isArray(rd.body) ? rd.body : rd.body.items || []) : [];
  const ds = await Promise.all(alerts.slice(0, 30).map((a) => detail(a)));
  if (currentRoute().view !== "patient" || currentRoute().id !== id) return;
  const fk = quiet ? focusKey() : null;
  renderPatient(p.body, alerts, ds, readings);
  restoreFocus(fk);
  App.changed.clear();
}

function renderPatient(pt, alerts, ds, readings) {
  document.title = "dhohub · " + pt.id;
  const open = alerts.map((a, i) => [a, ds[i]]).filter(([a]) => a.state !== "resolved");
  const rules = Array.isArray(pt.rules) ? pt.rules : [];

  const head = h("div", { class: "patient-head" },
    h("h2", {}, t("patient") + " " + pt.id),
    h("dl", {},
      fact(t("responsible"), h("dd", { title: pt.team }, I18N.team(pt.team))),
      fact(t("program"), h("dd", {}, pt.program || "")),
      fact(t("tenant"), h("dd", {}, pt.tenant || "")),
      fact(t("discharged"), h("dd", {}, pt.discharged ? I18N.date(pt.discharged) : "")),
      pt.ended ? fact(t("ended"), h("dd", {}, I18N.date(pt.ended))) : null));

  const openSec = h("section", { class: "panel", "aria-labelledby": "open-title" },
    h("h3", { id: "open-title" }, t("open_alerts") + " (" + open.length + ")"),
    open.length ? h("ol", { class: "alerts", id: "alerts" }, open.map(([a, d]) => alertItem(a, d)))
      : h("p", {}, t("no_open_alerts")));

  /* The charts: one per metric that has a threshold or missing rule or
   * readings, threshold metrics first. */
  const byKey = new Map(rules.map((r) => [r.key, r]));
  const metrics = [];
  for (const r of rules) {
    const kind = r.key.split(".")[0];
    const m = ruleMetric(r.key);
    if ((kind === "threshold" || kind === "missing") && m !== "any" && !metrics.includes(m)) metrics.push(m);
  }
  for (const r of readings) if (!metrics.includes(r.metric)) metrics.push(r.metric);

  const to = Date.now() / 1000, from = to - App.days * 86400;
  const discharged = pt.discharged ? Date.parse(pt.discharged) / 1000 : NaN;
  const followStart = isFinite(discharged) ? discharged : null;
  const chartsEl = h("div", { class: "charts" });
  const range = h("div", { class: "range", role: "group", "aria-label": t("charts") },
    [7, 30].map((n) => h("button", { type: "button", "aria-pressed": String(App.days === n), dataset: { days: String(n) },
      onclick: () => { App.days = n; showPatient(pt.id, true); } }, t("days" + n))));
  const chartSec = h("section", { class: "panel", "aria-labelledby": "charts-title" },
    h("h3", { id: "charts-title" }, t("charts")), range, chartsEl);

  const limitsSec = h("section", { class: "panel", "aria-labelledby": "limits-title" },
    h("h3", { id: "limits-title" }, t("limits")),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("rule")), h("th", { scope: "col" }, t("spec")),
      h("th", { scope: "col" }, t("origin")))),
    h("tbody", {}, sortedRules(rules).map((r) => h("tr", {},
      h("td", {}, ruleTitle(r.key)), h("td", {}, limitsText(r)),
      h("td", {}, r.origin === "patient" ? t("limit_patient") : t("limit_program")))))));

  const inRange = readings.filter((r) => Date.parse(r.measured_at) / 1000 >= from)
    .sort((a, b) => Date.parse(b.measured_at) - Date.parse(a.measured_at));
  const thresholds = (m) => limitsOf(byKey.get("threshold." + m));
  const tableSec = h("section", { class: "panel", "aria-labelledby": "readings-title" },
    h("h3", { id: "readings-title" }, t("readings") + " · " + t("days" + App.days)),
    inRange.length ? h("div", { class: "scroll", tabindex: "0", role: "region", "aria-labelledby": "readings-title" },
      h("table", { id: "readings" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("time")), h("th", { scope: "col" }, t("metric")),
          h("th", { scope: "col" }, t("value")), h("th", { scope: "col" }, t("device")))),
        h("tbody", {}, inRange.map((r) => {
          const sev = Chart.severity(thresholds(r.metric), r.value);
          return h("tr", { class: sev || "" },
            h("td", { class: "num" }, I18N.dateTime(r.measured_at)),
            h("td", {}, I18N.metricName(r.metric)),
            h("td", { class: "num" }, I18N.quantity(r.metric, r.value, r.unit), sev ? " (" + sevWord(sev).toLowerCase() + ")" : ""),
            h("td", {}, r.device || ""));
        })))) : h("p", {}, t("no_readings")));

  const timeline = [];
  alerts.forEach((a, i) => {
    const evs = ds[i] && Array.isArray(ds[i].events) ? ds[i].events : [a];
    for (const e of evs) timeline.push(Object.assign({ id: a.id }, e));
  });
  timeline.sort((x, y) => Date.parse(y.at) - Date.parse(x.at));
  const tlSec = h("section", { class: "panel", "aria-labelledby": "tl-title" },
    h("h3", { id: "tl-title" }, t("timeline")),
    timeline.length ? h("ol", { class: "timeline" }, timeline.slice(0, 100).map((e) =>
      h("li", {}, h("time", { datetime: e.at, title: I18N.dateTime(e.at) }, I18N.when(e.at)),
        h("span", {}, sevBadgeSmall(e.severity), " ", e.id + ": ",
          e.event === "resolved" && e.by === "auto" ? t("ev_resolved_auto")
            : t("ev_" + e.event, { by: e.by || "", team: I18N.team(e.team) }),
          e.event === "opened" || e.event === "raised" || e.event === "recurred" ? " – " + I18N.reason(e.reason).text : "",
          e.note ? h("span", { class: "note" }, " «" + e.note + "»") : null))))
      : h("p", {}, t("no_events")));

  main().replaceChildren(
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "← " + t("back"))),
    head, openSec, chartSec, limitsSec, tableSec, tlSec);

  /* Charts last: uPlot measures its container, which must be in the page
   * with all its siblings, or the first chart takes the whole row. */
  const figs = metrics.map((m) => {
    const fig = h("figure", { class: "chart", dataset: { metric: m } });
    const plot = h("div", { class: "plot", role: "img" });
    fig.append(h("figcaption", {}, I18N.metricName(m)), plot,
      h("div", { class: "legend", "aria-hidden": "true" },
        h("span", {}, h("span", { class: "swatch red" }), t("band_red")),
        h("span", {}, h("span", { class: "swatch yellow" }), t("band_yellow")),
        h("span", {}, h("span", { class: "swatch missing" }), t("missing")),
        h("span", {}, h("span", { class: "swatch pt-ok" }), t("value"))));
    chartsEl.append(fig);
    return [m, fig, plot];
  });
  App.charts = [];
  for (const [m, fig, plot] of figs) {
    const mine = readings.filter((r) => r.metric === m);
    /* Without a missing rule of its own a metric's gaps are marked past
     * 26 hours, the programs' usual daily limit (docs/workspace.md). */
    const miss = missingOf(byKey.get("missing." + m)) || missingOf(byKey.get("missing.any")) || 26 * 3600;
    const s = Chart.draw(plot, { metric: m, unit: mine.length ? mine[0].unit : "", readings: mine,
      limits: thresholds(m), maxGap: miss, start: followStart, from, to });
    App.charts.push([s.chart, plot]);
    plot.setAttribute("aria-label", t("chart_label", { metric: I18N.metricName(m), days: App.days, n: s.n,
      y: s.yellow, r: s.red, g: s.gaps }));
    fig.dataset.points = String(s.n);
    fig.dataset.gaps = String(s.gaps);
    fig.dataset.bands = String(thresholds(m).length);
  }
}

/* The limits table: by metric, each metric's threshold before its other rules. */
function sortedRules(rules) {
  const order = { threshold: 0, trend: 1, baseline: 2, missing: 3, news2: 4 };
  return rules.slice().sort((a, b) => ruleMetric(a.key).localeCompare(ruleMetric(b.key)) ||
    (order[a.key.split(".")[0]] ?? 9) - (order[b.key.split(".")[0]] ?? 9));
}

function sevBadgeSmall(sev) { return sev ? h("span", { class: "sev " + sev }, sevWord(sev)) : null; }

function ruleTitle(key) {
  const [kind, m] = [key.split(".")[0], ruleMetric(key)];
  const kinds = I18N.lang === "en"
    ? { threshold: "threshold", trend: "trend", baseline: "baseline", missing: "missing measurement", news2: "NEWS2" }
    : { threshold: "grense", trend: "endring", baseline: "eget nivå", missing: "manglende måling", news2: "NEWS2" };
  if (kind === "news2") return "NEWS2";
  return I18N.metricName(m) + " – " + (kinds[kind] || kind);
}

/* ---------- routing and start ---------- */

function currentRoute() {
  const m = /^#\/patients\/(.+)$/.exec(location.hash);
  if (m) return { view: "patient", id: decodeURIComponent(m[1]) };
  return { view: "triage" };
}

function route() {
  if (!App.me) { renderLogin(""); return; }
  renderBar();
  if (App.me.role === "auditor") {
    main().replaceChildren(h("p", { class: "empty" }, t("role_auditor")));
    return;
  }
  const r = currentRoute();
  main().replaceChildren();
  if (r.view === "patient") showPatient(r.id, false);
  else showTriage(false);
  main().focus({ preventScroll: true });
}

function start() {
  route();
  if (App.me.role !== "auditor") startEvents();
}

/* The charts follow the window's width. */
let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const [c, el] of App.charts || []) c.setSize({ width: Math.max(280, el.clientWidth), height: c.height });
  }, 200);
});

/* Ages ("for 12 min siden") move on by themselves. */
setInterval(() => {
  for (const el of document.querySelectorAll(".age[data-at]")) {
    const a = I18N.age(el.dataset.at);
    el.textContent = el.textContent.startsWith("(") ? "(" + a + ")" : a;
  }
}, 30000);

document.addEventListener("DOMContentLoaded", async () => {
  I18N.choose();
  staticWords();
  document.getElementById("skip").addEventListener("click", (e) => { e.preventDefault(); main().focus(); });
  window.addEventListener("hashchange", () => { if (App.me) route(); });
  const r = await api("GET", "/session");
  if (r.status === 200 && r.body && r.body.user) {
    App.me = r.body;
    start();
  } else {
    if (r.body && (r.body.require_2fa === true || r.body.require_2fa === "always")) App.require2fa = true;
    renderLogin(r.status === 0 ? t("err_network") : "");
  }
});
