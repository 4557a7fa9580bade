// The live board: storylines by recent activity (or size, outlets), kept current from
// the change stream without reloading.
"use strict";

const PAGE = 50;
const rows = new Map(); // storyline id -> row data as listed
let nextCursor = null;
let latestSeq = 0;
let stream = null;
let pending = new Set();
let refreshTimer = null;

const $ = (id) => document.getElementById(id);

function filters() {
  const days = $("range").value;
  const since = days ? new Date(Date.now() - Number(days) * 86400000).toISOString() : null;
  return {
    sort: $("sort").value,
    active_since: since,
    outlet: $("outlet").value.trim(),
    min_outlets: $("min-outlets").value,
    status: $("status").value,
  };
}

function sortKey(row) {
  const sort = $("sort").value;
  if (sort === "size") return [row.article_count, row.id];
  if (sort === "outlets") return [row.outlet_count, row.id];
  return [Date.parse(row.last_published_at), row.id];
}

function compare(a, b) {
  const ka = sortKey(a), kb = sortKey(b);
  return kb[0] - ka[0] || kb[1] - ka[1];
}

function renderRow(row) {
  const firsts = row.first_publishers.length
    ? row.first_publishers.flatMap((o, i) => (i ? [", ", outletLink(o)] : [outletLink(o)]))
    : ["–"];
  const tie = row.first_publishers.length > 1 ? [" ", h("span", { class: "badge first", title: "Published within the same hour" }, "tie")] : [];
  const status = row.status === "active" ? [] : [" ", h("span", { class: "badge" }, row.status)];
  return h("tr", { "data-id": row.id },
    h("td", {}, storylineLink(row), ...status),
    h("td", { class: "num", "data-label": "articles" }, num(row.article_count)),
    h("td", { class: "num", "data-label": "outlets" }, num(row.outlet_count)),
    h("td", { "data-label": "first" }, ...firsts, ...tie),
    h("td", { class: "opt" }, day(row.first_published_at)),
    h("td", { "data-label": "last" }, day(row.last_published_at)),
    h("td", {}, sparkline(row.sparkline, row.sparkline_start)),
  );
}

function render(flash = new Set()) {
  const body = $("rows");
  const ordered = [...rows.values()].sort(compare);
  body.replaceChildren(...ordered.map((row) => {
    const tr = renderRow(row);
    if (flash.has(row.id)) tr.classList.add("flash");
    return tr;
  }));
  if (flash.size) setTimeout(() => body.querySelectorAll("tr.flash").forEach((tr) => tr.classList.remove("flash")), 1600);
  $("more").hidden = !nextCursor;
}

async function load(reset = true) {
  const f = filters();
  const page = await api(`/storylines${query({ ...f, limit: PAGE, cursor: reset ? null : nextCursor })}`);
  if (reset) rows.clear();
  for (const item of page.items) rows.set(item.id, item);
  nextCursor = page.next_cursor;
  latestSeq = Math.max(latestSeq, page.latest_seq);
  $("summary").textContent = page.total
    ? `${num(page.total)}${page.total_capped ? "+" : ""} storylines match; showing ${num(rows.size)}.`
    : "No storyline matches these filters.";
  render();
  if (!performance.getEntriesByName("board-rendered").length) performance.mark("board-rendered");
  connect();
}

// Changes arrive as ids; a short pause gathers a burst into one read of current rows.
function noteChange(change) {
  pending.add(change.storyline_id);
  if (change.details && change.details.merged_into) pending.add(change.details.merged_into);
  latestSeq = Math.max(latestSeq, change.seq);
  if (!refreshTimer) refreshTimer = setTimeout(applyChanges, 300);
}

let appliedSeq = 0;
async function applyChanges() {
  refreshTimer = null;
  const changed = pending;
  pending = new Set();
  const since = appliedSeq;
  const f = filters();
  let added = 0, updated = 0, removed = 0;
  const seen = new Set();
  let cursor = since;
  for (;;) {
    const page = await api(`/storylines${query({ ...f, changed_since: cursor, limit: 500 })}`);
    for (const item of page.items) {
      seen.add(item.id);
      const merged = item.status === "merged" && f.status !== "merged";
      if (merged) {
        if (rows.delete(item.id)) removed++;
      } else if (rows.has(item.id)) {
        rows.set(item.id, item); updated++;
      } else if (fits(item)) {
        rows.set(item.id, item); added++;
      }
    }
    appliedSeq = Math.max(appliedSeq, page.latest_seq);
    if (!page.next_cursor) break;
    cursor = Number(page.next_cursor);
  }
  // Shown rows that changed but no longer match the filters leave the board.
  for (const id of changed) if (!seen.has(id) && rows.delete(id)) removed++;
  render(seen);
  const parts = [];
  if (added) parts.push(`${added} new`);
  if (updated) parts.push(`${updated} updated`);
  if (removed) parts.push(`${removed} merged or gone`);
  if (parts.length) $("live").textContent = `Live: ${parts.join(", ")} at ${new Date().toISOString().slice(11, 19)} UTC`;
  refreshHealth();
}

// A new storyline joins the board when it would sort into the part already shown.
function fits(item) {
  if (!nextCursor) return true;
  const shown = [...rows.values()].sort(compare);
  return !shown.length || compare(item, shown[shown.length - 1]) <= 0;
}

function connect() {
  if (stream) stream.close();
  appliedSeq = latestSeq;
  stream = new EventSource(`/changes/stream?since=${latestSeq}`);
  stream.onopen = () => { $("live").textContent = "Live updates: on"; };
  stream.onerror = () => { $("live").textContent = "Live updates: reconnecting…"; };
  stream.addEventListener("change", (event) => noteChange(JSON.parse(event.data)));
}

async function refreshHealth() {
  try {
    const health = await api("/health");
    const st = health.storylines;
    const articles = Object.values(health.articles).reduce((a, b) => a + b, 0);
    $("health").textContent = `${num(st.active)} active, ${num(st.dormant)} dormant storylines · ${num(articles)} articles`;
  } catch (error) {
    $("health").textContent = `Health unavailable (${error.message})`;
  }
}

async function loadOutletNames() {
  try {
    const page = await api("/outlets?limit=500");
    $("outlet-names").replaceChildren(...page.items.map((o) => h("option", { value: o.name })));
  } catch (_) { /* suggestions only */ }
}

async function search(event) {
  event.preventDefault();
  const q = $("q").value.trim();
  const results = $("results");
  if (!q) { clearSearch(); return; }
  results.replaceChildren(h("p", { class: "muted" }, "Searching…"));
  try {
    const found = await api(`/search${query({ q, limit: 20 })}`);
    $("clear-search").hidden = false;
    if (!found.hits.length) {
      results.replaceChildren(h("p", { class: "notice", role: "status" }, `No storyline matches “${q}”.`));
      return;
    }
    results.replaceChildren(
      h("h2", {}, `Search results for “${q}”`),
      h("ol", { class: "plain", id: "hits" }, found.hits.map((hit) => h("li", {},
        storylineLink(hit.storyline), " ",
        h("span", { class: "muted" }, `${num(hit.storyline.article_count)} articles, ${num(hit.storyline.outlet_count)} outlets · ${hit.reasons.join("; ")}`),
      ))),
    );
  } catch (error) {
    showError(results, error);
  }
}

function clearSearch() {
  $("q").value = "";
  $("results").replaceChildren();
  $("clear-search").hidden = true;
}

function start() {
  $("filters").addEventListener("change", () => load().catch((e) => showError($("results"), e)));
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  $("search-form").addEventListener("submit", search);
  $("clear-search").addEventListener("click", clearSearch);
  $("more").addEventListener("click", () => load(false).catch((e) => showError($("results"), e)));
  // The rows first: the health line and outlet suggestions wait, not to compete with them.
  load().catch((e) => showError($("results"), e)).finally(() => {
    refreshHealth();
    loadOutletNames();
  });
}

start();
