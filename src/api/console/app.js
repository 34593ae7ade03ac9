// The Skip the Line console: the API and the live feed (GET /events), drawn. No library:
// the page is small, and everything it needs is served by `skipline serve` itself.
"use strict";

const STAGES = ["accepted", "committed", "invoiced", "published", "notified", "cleared"];
const state = {
  csrf: sessionStorage.getItem("skipline-csrf"),
  orders: new Map(),     // orderid -> {account, vendor, stages:Set, status, error}
  vendors: new Map(),    // vendorid -> Map(endpointid -> last attempt)
  definition: null,
  selected: null,
  feed: null,
};

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
};

class Unauthorized extends Error {}

/// Calls the API on the page's own origin; the session cookie goes along, and state changes
/// carry the session's CSRF token.
async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.method && options.method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const r = await fetch(path, { credentials: "same-origin", ...options, headers });
  if (r.status === 401) throw new Unauthorized(path);
  const text = await r.text();
  const body = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error((body && body.error && body.error.message) || `${r.status} on ${path}`);
  return body;
}

// ---------- sign-in ----------

function showSignIn(show) {
  $("#signin").hidden = !show;
  $("main").hidden = show;
}

async function signIn(ev) {
  ev.preventDefault();
  $("#signin-error").textContent = "";
  try {
    const r = await api("/console/session", { method: "POST", body: JSON.stringify({ token: $("#token").value }) });
    $("#token").value = "";
    if (r.csrf) { state.csrf = r.csrf; sessionStorage.setItem("skipline-csrf", r.csrf); }
    $("#signout").hidden = Boolean(r.open);
    await start();
  } catch (e) {
    $("#signin-error").textContent = e instanceof Unauthorized ? "That token is not valid (unknown or revoked)." : e.message;
  }
}

async function signOut() {
  await fetch("/console/session", { method: "DELETE", credentials: "same-origin" });
  sessionStorage.removeItem("skipline-csrf");
  state.csrf = null;
  if (state.feed) state.feed.close();
  showSignIn(true);
}

// ---------- the flow graph ----------

function edgesOf(st) {
  const out = [];
  if (st.Next) out.push({ to: st.Next, kind: "next" });
  if (st.Default) out.push({ to: st.Default, kind: "next" });
  for (const c of st.Choices || []) if (c.Next) out.push({ to: c.Next, kind: "next" });
  for (const c of st.Catch || []) if (c.Next) out.push({ to: c.Next, kind: "catch" });
  return out;
}

const NODE_W = 170, NODE_H = 38, GAP_X = 28, GAP_Y = 46, PAD = 14, HEADER = 34;

/// Lays out one machine (the file, a Parallel branch or a Map's item processor) in levels by
/// distance from its StartAt, as the Step Functions console does top to bottom. A Parallel
/// or Map is a frame around its branches' or items' own layouts. Node ids are history paths:
/// `Fan/0/A` is state A in branch 0 of Fan, `Each/*/Item` state Item in any item of Each.
function layout(def, prefix) {
  const names = Object.keys(def.States || {});
  const level = new Map([[def.StartAt, 0]]);
  const queue = [def.StartAt];
  while (queue.length) {
    const n = queue.shift();
    for (const e of edgesOf(def.States[n] || {})) {
      if (!level.has(e.to)) { level.set(e.to, level.get(n) + 1); queue.push(e.to); }
    }
  }
  for (const n of names) if (!level.has(n)) level.set(n, 0);
  const boxes = new Map();
  for (const n of names) {
    const st = def.States[n];
    let inner = [];
    if (st.Type === "Parallel") inner = (st.Branches || []).map((b, i) => layout(b, `${prefix}${n}/${i}/`));
    if (st.Type === "Map") inner = [layout(st.ItemProcessor || st.Iterator || { States: {} }, `${prefix}${n}/*/`)];
    const w = inner.length ? Math.max(NODE_W, inner.reduce((s, l) => s + l.width, 0) + GAP_X * (inner.length - 1) + 2 * PAD) : NODE_W;
    const h = inner.length ? HEADER + Math.max(...inner.map((l) => l.height)) + PAD : NODE_H;
    boxes.set(n, { id: prefix + n, name: n, st, w, h, inner });
  }
  const rows = [];
  for (const n of names) (rows[level.get(n)] ||= []).push(n);
  const rowWidth = (row) => row.reduce((s, n) => s + boxes.get(n).w, 0) + GAP_X * (row.length - 1);
  const width = Math.max(NODE_W, ...rows.map(rowWidth));
  let y = 0;
  for (const row of rows) {
    let x = (width - rowWidth(row)) / 2;
    const rowH = Math.max(...row.map((n) => boxes.get(n).h));
    for (const n of row) { const b = boxes.get(n); b.x = x; b.y = y; x += b.w + GAP_X; }
    y += rowH + GAP_Y;
  }
  return { def, boxes, width, height: y - GAP_Y };
}

/// Draws a layout at (ox, oy): edges, then states, then each frame's inner layouts.
function draw(svg, lay, ox, oy, visited) {
  const ns = "http://www.w3.org/2000/svg";
  for (const b of lay.boxes.values()) {
    for (const e of edgesOf(b.st)) {
      const t = lay.boxes.get(e.to);
      if (!t) continue;
      const [x1, y1, x2, y2] = [ox + b.x + b.w / 2, oy + b.y + b.h, ox + t.x + t.w / 2, oy + t.y];
      const path = document.createElementNS(ns, "path");
      path.setAttribute("d", `M${x1},${y1} C${x1},${y1 + 30} ${x2},${y2 - 30} ${x2},${y2}`);
      const taken = visited.has(norm(b.id)) && visited.has(norm(t.id));
      path.setAttribute("class", `edge ${e.kind}${taken && e.kind === "next" ? " taken" : ""}`);
      svg.append(path);
    }
  }
  for (const b of lay.boxes.values()) {
    const g = document.createElementNS(ns, "g");
    const cls = visited.failed === norm(b.id) ? "failed" : visited.has(norm(b.id)) ? "visited" : "";
    g.setAttribute("class", `node ${b.inner.length ? "frame " : ""}${cls}`);
    g.setAttribute("data-state", b.id);
    g.setAttribute("transform", `translate(${ox + b.x},${oy + b.y})`);
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("width", b.w); rect.setAttribute("height", b.h);
    const name = document.createElementNS(ns, "text");
    name.setAttribute("x", 10); name.setAttribute("y", 16); name.textContent = b.name;
    const type = document.createElementNS(ns, "text");
    type.setAttribute("x", 10); type.setAttribute("y", 30); type.setAttribute("class", "type");
    const what = b.st.Type === "Parallel" ? ` · ${b.inner.length} branches` : b.st.Type === "Map" ? " · per item" : "";
    type.textContent = b.st.Type + what + (lay.def.StartAt === b.name ? " · start" : "");
    g.append(rect, name, type);
    svg.append(g);
    let x = ox + b.x + PAD;
    for (const inner of b.inner) {
      draw(svg, inner, x, oy + b.y + HEADER, visited);
      x += inner.width + GAP_X;
    }
  }
}

/// `Each/3/Item` and `Each/*/Item` name the same drawn state.
const norm = (path) => path.replace(/\/\d+\//g, "/*/");

function drawGraph() {
  const svg = $("#graph");
  svg.replaceChildren();
  if (!state.definition) return;
  const lay = layout(state.definition, "");
  const [width, height] = [lay.width + 2 * GAP_X, lay.height + 2 * GAP_X];
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  draw(svg, lay, GAP_X, GAP_X, selectedPath());
}

/// The states the selected execution entered (as normalised history paths), and the one it
/// failed in.
function selectedPath() {
  const visited = new Set();
  const hist = state.selected && state.selected.history;
  let last = null;
  for (const h of hist || []) {
    if (h.type && h.type.endsWith("StateEntered") && h.state) { visited.add(norm(h.state)); if (!h.state.includes("/")) last = h.state; }
  }
  visited.failed = state.selected && state.selected.status === "FAILED" ? last : null;
  return visited;
}

async function selectOrder(orderid) {
  state.selected = await api(`/orders/${encodeURIComponent(orderid)}`);
  for (const tr of document.querySelectorAll("#board tr.order")) tr.classList.toggle("selected", tr.dataset.order === orderid);
  const ex = $("#execution");
  const s = state.selected;
  ex.replaceChildren(
    el("h3", {}, `Order ${s.orderid}`),
    el("p", {}, el("span", { class: statusClass(s.status) }, s.status), s.error ? ` — ${s.error}: ${s.cause || ""}` : ""),
  );
  for (const h of s.history || []) {
    const detail = el("details", { class: "step" }, el("summary", {}, `${h.type}${h.state ? " · " + h.state : ""}`));
    detail.append(el("pre", {}, JSON.stringify(h.detail !== undefined ? h.detail : h, null, 2)));
    ex.append(detail);
  }
  drawGraph();
  switchTab("flow");
}

// ---------- the orders board ----------

function order(id) {
  if (!state.orders.has(id)) state.orders.set(id, { id, account: "", vendor: "", stages: new Set(), status: "RUNNING", error: "" });
  return state.orders.get(id);
}

function statusClass(status) {
  return status === "SUCCEEDED" ? "done" : status === "RUNNING" ? "running" : "failed";
}

function renderBoard() {
  const fv = $("#f-vendor").value.trim(), fa = $("#f-account").value.trim(), fs = $("#f-status").value;
  const rows = [...state.orders.values()].reverse()
    .filter((o) => (!fv || o.vendor === fv) && (!fa || o.account === fa) && (!fs || o.status === fs))
    .slice(0, 200)
    .map((o) => {
      const tr = el("tr", { class: "order", "data-order": o.id, onclick: () => selectOrder(o.id).catch(report) },
        el("td", {}, o.id), el("td", {}, o.account), el("td", {}, o.vendor));
      for (const s of STAGES) tr.append(el("td", { class: `stage ${o.stages.has(s) ? "done" : ""}`, "data-stage": s }, o.stages.has(s) ? "✓" : ""));
      tr.append(el("td", { class: `status ${statusClass(o.status)}` }, o.status + (o.error ? ` (${o.error})` : "")));
      return tr;
    });
  $("#board tbody").replaceChildren(...rows);
}

function onExecution(e) {
  const o = order(e.name);
  for (const step of e.steps) {
    const [kind, st] = step.split(":");
    if (kind.endsWith("StateExited") && /PutItem/i.test(st)) o.stages.add("committed");
    if (kind.endsWith("StateExited") && /PutObject/i.test(st)) o.stages.add("invoiced");
    if (kind.endsWith("StateExited") && /^Publish/i.test(st) && /Completed/i.test(st)) o.stages.add("published");
  }
  o.status = e.status;
  if (e.error) o.error = e.error;
  o.stages.add("accepted");
  renderBoard();
  if (state.selected && state.selected.orderid === e.name && e.status !== "RUNNING") selectOrder(e.name).catch(report);
}

// ---------- vendors ----------

function onDelivery(a) {
  if (!state.vendors.has(a.vendorid)) state.vendors.set(a.vendorid, { endpoints: new Map(), recent: [] });
  const v = state.vendors.get(a.vendorid);
  v.endpoints.set(a.endpointid, a);
  v.recent.unshift(a);
  v.recent.length = Math.min(v.recent.length, 12);
  renderVendors();
}

/// "in 4s", "in 2h": when the next attempt is due.
function due(at) {
  if (!at) return "";
  const s = Math.round((Date.parse(at) - Date.now()) / 1000);
  if (s <= 0) return "due now";
  return s < 120 ? `in ${s}s` : s < 7200 ? `in ${Math.round(s / 60)}m` : `in ${Math.round(s / 3600)}h`;
}

const table = (heads, rows) => el("table", {}, el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", {}, h)))), el("tbody", {}, ...rows));

function renderVendors() {
  const cards = [...state.vendors.entries()].map(([vendor, v]) => {
    const endpoints = [...v.endpoints.values()].map((a) => el("tr", { "data-endpoint": a.endpointid },
      el("td", {}, a.endpointid),
      el("td", { class: a.outcome === "delivered" ? "done" : "failed" }, a.outcome),
      el("td", {}, a.status !== undefined ? a.status : a.error || ""),
      el("td", {}, a.attempt),
      el("td", { title: a.nextAttemptAt || "" }, due(a.nextAttemptAt))));
    const recent = v.recent.map((a) => el("tr", {},
      el("td", {}, new Date(a.at).toLocaleTimeString()),
      el("td", {}, a.eventid.split(".")[0]),
      el("td", {}, a.endpointid),
      el("td", { class: a.outcome === "delivered" ? "done" : "failed" }, a.outcome + (a.redelivery ? " (redelivery)" : "")),
      el("td", {}, a.status !== undefined ? a.status : a.error || ""),
      el("td", {}, `${a.latencyMs} ms`)));
    return el("div", { class: "card", "data-vendor": vendor }, el("h3", {}, vendor),
      table(["endpoint", "last outcome", "status", "attempt", "next retry"], endpoints),
      el("h4", {}, "Tickets, newest first"),
      table(["at", "order", "endpoint", "outcome", "status", "latency"], recent));
  });
  if (cards.length) $("#vendor-cards").replaceChildren(...cards);
}

async function loadVendor(vendor) {
  if (!vendor || state.vendors.has(vendor)) return;
  const r = await api(`/vendors/${encodeURIComponent(vendor)}/deliveries?limit=50`);
  for (const a of [...r.deliveries].reverse()) onDelivery(a);
}

// ---------- queues ----------

let queueTimer = null;
function refreshQueuesSoon() {
  // Coalesces a burst of events into one read, made because something changed.
  if (queueTimer) return;
  queueTimer = setTimeout(() => { queueTimer = null; loadQueues().catch(report); }, 300);
}

async function loadQueues() {
  const r = await api("/queues");
  const visible = new Map(r.queues.map((q) => [q.name, q.visible]));
  $("#queue-table tbody").replaceChildren(...r.queues.map((q) => el("tr", { "data-queue": q.name },
    el("td", {}, q.name), el("td", {}, q.visible), el("td", {}, q.in_flight !== undefined ? q.in_flight : q.inFlight),
    el("td", {}, q.delayed), el("td", {}, q.dlq ? `${q.dlq}: ${visible.get(q.dlq) || 0}` : ""),
    el("td", {}, el("button", { onclick: () => peek(q.name).catch(report) }, "Peek"), " ",
      el("button", { class: "replay", onclick: () => previewReplay(q.name).catch(report) }, "Replay…")))));
}

async function peek(queue) {
  const r = await api(`/queues/${encodeURIComponent(queue)}/messages?max=10`);
  $("#queue-detail").replaceChildren(el("h3", {}, `${queue}: ${r.messages.length} message(s)`),
    ...r.messages.map((m) => el("pre", {}, JSON.stringify(m, null, 2))));
}

async function previewReplay(queue) {
  const preview = await api(`/queues/${encodeURIComponent(queue)}/replay`, { method: "POST", body: JSON.stringify({ dryRun: true }) });
  const detail = $("#queue-detail");
  const confirm = el("button", { class: "primary", id: "replay-confirm" }, `Move ${preview.moved} message(s)`);
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    confirm.textContent = "Moving…";
    confirm.after(el("progress", { id: "replay-progress", max: Math.max(preview.moved, 1), value: 0 }));
    try {
      const done = await api(`/queues/${encodeURIComponent(queue)}/replay`, { method: "POST", body: JSON.stringify({}) });
      detail.replaceChildren(el("p", { id: "replay-result" }, `Moved ${done.moved}, skipped ${done.skipped}, failed ${done.failed}.`));
      loadQueues().catch(report);
    } catch (e) { report(e); }
  });
  detail.replaceChildren(el("h3", {}, `Replay ${queue}`),
    el("p", { id: "replay-preview" }, `Would move ${preview.moved} and skip ${preview.skipped} (dry run: nothing moved yet).`),
    confirm);
}

// ---------- the live feed ----------

function connect() {
  if (state.feed) state.feed.close();
  const feed = new EventSource("/events");
  state.feed = feed;
  const pill = $("#feed");
  feed.addEventListener("Ready", () => { pill.textContent = "live"; pill.className = "pill on"; });
  feed.addEventListener("Started", (m) => {
    const e = JSON.parse(m.data);
    const o = order(e.name);
    o.account = e.accountid || ""; o.vendor = e.vendorid || "";
    o.stages.add("accepted");
    renderBoard();
    loadVendor(o.vendor).catch(report);
  });
  feed.addEventListener("Execution", (m) => onExecution(JSON.parse(m.data)));
  feed.addEventListener("Consumed", (m) => {
    const e = JSON.parse(m.data);
    const stage = e.queue === "notify-vendor" ? "notified" : e.queue === "clear-cart" ? "cleared" : null;
    if (stage) for (const id of e.orderids) order(id).stages.add(stage);
    renderBoard();
    refreshQueuesSoon();
  });
  feed.addEventListener("Delivery", (m) => { onDelivery(JSON.parse(m.data).attempt); refreshQueuesSoon(); });
  feed.addEventListener("Lagged", () => refreshQueuesSoon());
  feed.addEventListener("Replay", (m) => {
    const e = JSON.parse(m.data);
    const p = $("#replay-progress");
    if (p && !e.dryRun) { p.max = Math.max(e.total, 1); p.value = e.moved + e.skipped + e.failed; }
  });
  feed.onerror = () => { pill.textContent = "reconnecting"; pill.className = "pill off"; };
}

// ---------- start ----------

function report(e) {
  if (e instanceof Unauthorized) { showSignIn(true); return; }
  const b = $("#banner");
  b.hidden = false;
  b.textContent = e.message;
}

function switchTab(name) {
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of document.querySelectorAll("section.tab")) s.hidden = s.id !== name;
}

async function start() {
  let flow;
  try {
    flow = await api("/flow");
  } catch (e) {
    if (e instanceof Unauthorized) { showSignIn(true); return; }
    $("#banner").hidden = false;
    $("#banner").textContent = `${e.message}. The console shows the embedded backend only; on AWS, use the Step Functions console.`;
    return;
  }
  showSignIn(false);
  state.definition = flow.definition;
  $("#machine").textContent = flow.name;
  drawGraph();
  const recent = await api("/executions?limit=50");
  for (const x of [...recent.executions].reverse()) {
    const o = order(x.name || x.orderid);
    o.status = x.status;
    o.stages.add("accepted");
    if (x.error) o.error = x.error;
  }
  renderBoard();
  await loadQueues();
  connect();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("nav button")) {
    b.addEventListener("click", () => {
      switchTab(b.dataset.tab);
      // A dead-lettered message moves when a poller next receives it, which no event reports:
      // opening the tab reads the queues afresh.
      if (b.dataset.tab === "queues") loadQueues().catch(report);
    });
  }
  for (const f of ["#f-vendor", "#f-account", "#f-status"]) $(f).addEventListener("input", renderBoard);
  $("#signin").addEventListener("submit", signIn);
  $("#signout").addEventListener("click", () => signOut().catch(report));
  $("#signout").hidden = !state.csrf;
  start().catch(report);
});
