// Shared by the dashboard pages: the JSON API client, formatting, small DOM helpers.
"use strict";

const KEY_STORE = "storyline.readKey";

class ApiError extends Error {
  constructor(status, detail) {
    super(status === 401 ? `Not allowed: ${detail}` : `HTTP ${status}: ${detail}`);
    this.status = status;
  }
}

// One prompt at a time: the requests a page starts together share the answer.
let asking = null;
let refused = false;
function askForKey(refused) {
  if (!asking) {
    asking = new Promise((resolve) => {
      const why = refused
        ? "The stored read key was refused. Enter a read key (API key with read scope):"
        : "This service needs a read key (API key with read scope):";
      const entered = (window.prompt(why) || "").trim();
      if (entered) localStorage.setItem(KEY_STORE, entered);
      resolve(Boolean(entered));
    }).finally(() => { setTimeout(() => { asking = null; }, 0); });
  }
  return asking;
}

// GET a path of this service, with the stored read key if any. A 401 asks once for
// a key, keeps it in localStorage and retries; a key refused after that is dropped
// (so the next visit asks again) and the error says so. Same origin only.
async function authorizedFetch(path, accept, asked = false) {
  const headers = { Accept: accept };
  const key = localStorage.getItem(KEY_STORE);
  if (key) headers.Authorization = `Bearer ${key}`;
  const response = await fetch(path, { headers });
  if (response.status === 401) {
    const now = localStorage.getItem(KEY_STORE);
    if (!asked && now && now !== key) return authorizedFetch(path, accept, true); // entered meanwhile
    if (!asked && !refused && await askForKey(Boolean(key))) return authorizedFetch(path, accept, true);
    if (key && localStorage.getItem(KEY_STORE) === key) localStorage.removeItem(KEY_STORE);
    refused = true; // one refusal per page: later reads say so instead of asking again
    throw new ApiError(401, key
      ? "the read key was refused: it is unknown, revoked or lacks the read scope. Reload to enter another."
      : "this service needs a read key. Reload to enter one.");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = JSON.stringify((await response.json()).detail); } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response;
}

async function api(path) {
  return (await authorizedFetch(path, "application/json")).json();
}

// Save what ``path`` answers as a file named ``filename``: fetched with the read key
// (a plain link cannot carry it), handed to the browser as a Blob download.
async function download(path, filename) {
  const blob = await (await authorizedFetch(path, "*/*")).blob();
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== "") q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

// h("a", {href: "/x"}, "text", child) -> element; attributes null/false are skipped.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const DAY = 86400000;
const HOUR = 3600000;

function day(iso) { return iso ? iso.slice(0, 10) : "–"; }
function minute(iso) { return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : "–"; }
function num(n) { return Number(n).toLocaleString("en"); }

// A delay in ms as people say it: "+9 d", "+3 h 5 min", "+40 s".
function lag(ms) {
  if (ms < 1000) return "+0";
  const d = Math.floor(ms / DAY), hr = Math.floor((ms % DAY) / HOUR), mi = Math.floor((ms % HOUR) / 60000);
  if (d >= 1) return hr && d < 10 ? `+${d} d ${hr} h` : `+${d} d`;
  if (hr >= 1) return mi ? `+${hr} h ${mi} min` : `+${hr} h`;
  if (mi >= 1) return `+${mi} min`;
  return `+${Math.round(ms / 1000)} s`;
}

function outletLink(o) { return h("a", { href: `/ui/outlets/${o.id}` }, o.name); }
function storylineLink(sl, text) {
  return h("a", { href: `/ui/storylines/${sl.id}` }, text || sl.label || `Storyline ${sl.id}`);
}

// Articles per day as a tiny bar chart, with its numbers as the text alternative.
function sparkline(counts, start, width = 120, height = 24) {
  const max = Math.max(1, ...counts);
  const w = width / Math.max(counts.length, 1);
  const label = counts.length
    ? `Articles per day from ${start}: ${counts.join(", ")}`
    : "No articles";
  const svg = s("svg", { class: "sparkline", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  counts.forEach((c, i) => {
    if (!c) return;
    const bh = Math.max(2, (c / max) * (height - 2));
    svg.append(s("rect", { x: (i * w).toFixed(1), y: (height - bh).toFixed(1), width: Math.max(1, w - 1).toFixed(1), height: bh.toFixed(1) }));
  });
  return svg;
}

function showError(where, error) {
  where.replaceChildren(h("p", { class: "notice", role: "alert" }, `Could not load: ${error.message}`));
}
