// The spread page: who published first, who followed and when, whose text was copied.
"use strict";

const storylineId = Number(location.pathname.split("/").pop());
const MAX_ARTICLES = 2000;

function bucketFor(detail) {
  const span = Date.parse(detail.last_published_at) - Date.parse(detail.first_published_at);
  if (span <= 3 * DAY) return "hour";
  if (span <= 240 * DAY) return "day";
  return "week";
}

async function allArticles() {
  const items = [];
  let cursor = null;
  do {
    const page = await api(`/storylines/${storylineId}/articles${query({ limit: 500, cursor })}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < MAX_ARTICLES);
  return { items, more: Boolean(cursor) };
}

async function relabels() {
  const page = await api(`/changes${query({ storyline_id: storylineId, limit: 1000 })}`);
  return page.changes.filter((c) => c.kind === "relabelled");
}

// numeric: right-aligned columns; optional: columns a phone-width screen leaves out.
function table(caption, head, body, numeric = [], optional = []) {
  const cls = (i) => [numeric.includes(i) ? "num" : "", optional.includes(i) ? "opt" : ""].join(" ").trim() || null;
  return h("div", { class: "table-wrap" }, h("table", {},
    h("caption", { class: "sr-only" }, caption),
    h("thead", {}, h("tr", {}, head.map((c, i) => h("th", { scope: "col", class: cls(i) }, c)))),
    h("tbody", {}, body.map((row) => h("tr", {}, row.map((c, i) => h("td", { class: cls(i) }, c))))),
  ));
}

function header(detail, spread) {
  const firsts = spread.first_publishers;
  const firstText = firsts.length > 1
    ? [`First published by ${firsts.length} outlets at once (tie within ${spread.tie_window_hours} h): `, ...firsts.flatMap((o, i) => (i ? [", ", outletLink(o.outlet)] : [outletLink(o.outlet)]))]
    : firsts.length ? ["First published by ", outletLink(firsts[0].outlet), ` on ${minute(firsts[0].first_article.effective_at)}`] : [];
  const notes = [];
  if (detail.status === "merged") {
    notes.push(h("p", { class: "notice", role: "status" }, "This storyline was merged into ", storylineLink({ id: detail.merged_into }, `storyline ${detail.merged_into}`), "."));
  }
  if (detail.split_from) {
    notes.push(h("p", { class: "notice" }, "Split from ", storylineLink({ id: detail.split_from }, `storyline ${detail.split_from}`), "."));
  }
  if (spread.uses_ingest_time) {
    notes.push(h("p", { class: "notice" }, "Some articles had no publication time; their ingest time places them."));
  }
  return [
    h("h1", { id: "label" }, detail.label || `Storyline ${detail.id}`),
    h("p", { id: "first-publisher" }, ...firstText),
    h("ul", { class: "facts" },
      h("li", {}, h("b", {}, num(detail.article_count)), "articles"),
      h("li", {}, h("b", {}, num(detail.outlet_count)), "outlets"),
      h("li", { id: "languages" }, h("b", {}, Object.entries(spread.languages).map(([code, n]) => `${code} ${num(n)}`).join(" · ") || "–"), "languages"),
      h("li", {}, h("b", {}, day(detail.first_published_at)), "first article"),
      h("li", {}, h("b", {}, day(detail.last_published_at)), "latest article"),
      h("li", {}, h("b", {}, detail.status), "status"),
    ),
    ...notes,
  ];
}

function spreadSection(spread, articles, more) {
  const chart = h("div", { class: "chart", id: "spread" });
  const start = Date.parse(spread.first_at);
  const lanes = spread.outlets.map((o) => [
    String(o.rank), outletLink(o.outlet), o.language,
    o.first_publisher ? h("span", { class: "badge first" }, "first") : `${o.outlet.name}: ${lag(Date.parse(o.first_article.effective_at) - start)}`,
    minute(o.first_article.effective_at), num(o.article_count),
  ]);
  const follows = spread.follower_edges.map((e) => [e.leader.outlet.name, e.follower.outlet.name, lag(e.lag.seconds * 1000), e.similarity === null ? "–" : e.similarity.toFixed(2)]);
  const copies = spread.republish_edges.map((e) => [e.source.outlet.name, e.republished.outlet.name, lag(e.lag.seconds * 1000), e.jaccard.toFixed(2)]);
  const section = h("section", { "aria-labelledby": "spread-h" },
    h("h2", { id: "spread-h" }, "How it spread"),
    h("div", { class: "legend", "aria-hidden": "true" },
      h("span", {}, h("i", { class: "dot first" }), "first publisher"),
      h("span", {}, h("i", { class: "dot" }), "article"),
      h("span", {}, h("i", {}), "followed (closest earlier outlet)"),
      h("span", {}, h("i", { class: "copy" }), "republished text")),
    chart,
    more ? h("p", { class: "muted" }, `The chart shows the first ${articles.length} articles.`) : null,
    h("details", { id: "lanes-table" }, h("summary", {}, "Outlets in adoption order (table)"),
      table("Outlets in adoption order", ["Rank", "Outlet", "Language", "Lag after the first article", "First article", "Articles"], lanes, [0, 5])),
    h("details", {}, h("summary", {}, `Follower edges (${follows.length}) and republish edges (${copies.length})`),
      follows.length ? table("Follower edges", ["Leader", "Follower", "Lag", "Similarity"], follows, [3]) : h("p", {}, "No follower edges."),
      copies.length ? table("Republish edges", ["Source", "Republished by", "Lag", "Text overlap (Jaccard)"], copies, [3]) : h("p", {}, "No republished text found.")),
  );
  return { section, draw: () => spreadChart(chart, spread, articles) };
}

function timelineSection(timeline) {
  const chart = h("div", { class: "chart", id: "timeline" });
  const rows = timeline.buckets.filter((b) => b.article_count || b.new_outlets).map((b) => [
    timeline.bucket === "hour" ? minute(b.start) : day(b.start), num(b.article_count), num(b.new_outlets), num(b.cumulative_outlets),
  ]);
  const section = h("section", { "aria-labelledby": "timeline-h" },
    h("h2", { id: "timeline-h" }, `Articles per ${timeline.bucket} and outlets so far`),
    h("div", { class: "legend", "aria-hidden": "true" },
      h("span", {}, h("i", { class: "dot" }), `articles per ${timeline.bucket}`),
      h("span", {}, h("i", { style: null, class: "cum" }), "cumulative outlets")),
    chart,
    h("details", {}, h("summary", {}, "The same numbers (table)"),
      table(`Articles per ${timeline.bucket}`, [timeline.bucket === "hour" ? "Hour" : timeline.bucket === "week" ? "Week of" : "Day", "Articles", "New outlets", "Outlets so far"], rows, [1, 2, 3])),
  );
  return { section, draw: () => timelineChart(chart, timeline) };
}

function lineageSection(detail, relabelled) {
  const items = [];
  for (const e of detail.lineage) {
    const what = e.kind === "moved"
      ? (e.other_id === detail.id
        ? [`${e.articles_moved} revised article(s) moved here from `, storylineLink({ id: e.storyline_id }, `storyline ${e.storyline_id}`)]
        : ["A revised article moved to ", storylineLink({ id: e.other_id }, `storyline ${e.other_id}`)])
      : e.kind === "merged"
      ? (e.other_id === detail.id
        ? ["Merged from ", storylineLink({ id: e.storyline_id }, `storyline ${e.storyline_id}`)]
        : ["Merged into ", storylineLink({ id: e.other_id }, `storyline ${e.other_id}`)])
      : (e.other_id === detail.id
        ? ["Split from ", storylineLink({ id: e.storyline_id }, `storyline ${e.storyline_id}`)]
        : ["Split off into ", storylineLink({ id: e.other_id }, `storyline ${e.other_id}`)]);
    items.push([e.at, h("li", {}, `${minute(e.at)}: `, ...what, ` (${num(e.articles_moved)} articles moved; ${e.reason})`)]);
  }
  for (const c of relabelled) items.push([c.at, h("li", {}, `${minute(c.at)}: relabelled “${c.label}”`)]);
  items.sort((a, b) => Date.parse(a[0]) - Date.parse(b[0]));
  return h("section", { "aria-labelledby": "lineage-h" },
    h("h2", { id: "lineage-h" }, "Lineage"),
    items.length ? h("ul", { class: "plain", id: "lineage" }, items.map((i) => i[1])) : h("p", { class: "muted" }, "No merges, splits or relabels yet."));
}

// Links to the export API; a click fetches with the read key and saves the answer.
function exportLinks() {
  const status = h("span", { class: "muted", id: "export-status", role: "status" });
  const link = (format, text) => {
    const path = `/storylines/${storylineId}/export?format=${format}`;
    const filename = `storyline-${storylineId}.${format}`;
    return h("a", {
      href: path, download: filename, class: "button", "data-format": format,
      onclick: (event) => {
        event.preventDefault();
        status.textContent = `Preparing ${text}…`;
        download(path, filename)
          .then(() => { status.textContent = `${text} saved.`; })
          .catch((error) => { status.textContent = `${text} failed: ${error.message}`; });
      },
    }, text);
  };
  return h("p", { class: "exports", id: "exports" }, "Download: articles as ", link("csv", "CSV"), " ",
    link("jsonl", "JSON Lines"), "; the spread graph as ", link("graphml", "GraphML"), " ",
    link("gexf", "GEXF"), " ", status);
}

function articleSection(articles, more, detail) {
  const rows = articles.map((a) => [
    outletLink(a.outlet), minute(a.effective_at), a.language || "–",
    a.similarity === null ? "–" : a.similarity.toFixed(2),
    a.url ? h("a", { href: a.url, rel: "noopener noreferrer" }, a.title || "(no headline)") : (a.title || "(no headline)"),
  ]);
  return h("section", { "aria-labelledby": "articles-h" },
    h("h2", { id: "articles-h" }, `Articles (${num(detail.article_count)})`),
    exportLinks(),
    more ? h("p", { class: "muted" }, `Showing the first ${num(articles.length)}.`) : null,
    h("div", { id: "articles" }, table("Articles, oldest first", ["Outlet", "Published", "Language", "Similarity", "Headline"], rows, [3], [2, 3])));
}

let drawn = [];
async function render() {
  const page = document.getElementById("page");
  // Every read starts at once. The timeline's bucket depends on the span, which the
  // detail tells: days are asked for at once (most spans), hours or weeks only after.
  const detailRead = api(`/storylines/${storylineId}`);
  const timelineBy = (bucket) => api(`/storylines/${storylineId}/timeline?bucket=${bucket}`);
  const byDay = timelineBy("day").catch((error) => error);
  const reads = [
    api(`/storylines/${storylineId}/spread`).catch((error) => error),
    allArticles().catch((error) => error),
    relabels(),
    detailRead.then((d) => (bucketFor(d) === "day" ? byDay : timelineBy(bucketFor(d)))).catch((error) => error),
  ];
  const detail = await detailRead;
  document.title = `${detail.label || `Storyline ${storylineId}`} – spread`;
  if (detail.status === "merged" || detail.article_count === 0) {
    page.replaceChildren(...header(detail, { first_publishers: [], tie_window_hours: 1, uses_ingest_time: false }), lineageSection(detail, await reads[2]));
    return detail;
  }
  const [spread, members, relabelled, timeline] = await Promise.all(reads);
  for (const result of [spread, members, timeline]) if (result instanceof Error) throw result;
  const sp = spreadSection(spread, members.items, members.more);
  const tl = timelineSection(timeline);
  page.replaceChildren(...header(detail, spread), sp.section, tl.section, lineageSection(detail, relabelled), articleSection(members.items, members.more, detail));
  drawn = [sp.draw, tl.draw];
  for (const draw of drawn) draw();
  if (!performance.getEntriesByName("spread-rendered").length) performance.mark("spread-rendered");
  return detail;
}

function follow(version) {
  const live = document.getElementById("live");
  const stream = new EventSource(`/changes/stream${query({ since: version, storyline_id: storylineId })}`);
  let timer = null;
  stream.onopen = () => { live.textContent = "Live updates: on"; };
  stream.onerror = () => { live.textContent = "Live updates: reconnecting…"; };
  stream.addEventListener("change", () => {
    clearTimeout(timer);
    timer = setTimeout(() => render().then(() => { live.textContent = `Updated at ${new Date().toISOString().slice(11, 19)} UTC`; }), 500);
  });
}

render()
  .then((detail) => follow(detail.version))
  .catch((error) => showError(document.getElementById("page"), error));

let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const id of ["spread", "timeline"]) {
      const el = document.getElementById(id);
      if (el) el.querySelectorAll("svg, p, .tooltip").forEach((n) => n.remove());
    }
    for (const draw of drawn) draw();
  }, 200);
});
