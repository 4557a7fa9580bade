// Hand-written SVG charts for the spread page: the spread chart (one lane per outlet)
// and the timeline (articles per bucket, cumulative outlets). No library, no network.
"use strict";

const LANE = 28;
const MAX_LANES = 60;

function ticks(t0, t1, count) {
  const span = t1 - t0;
  const steps = [HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 91 * DAY, 365 * DAY];
  const step = steps.find((st) => span / st <= count) || 365 * DAY;
  const out = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t);
  return { step, values: out };
}

function tickLabel(t, step) {
  const iso = new Date(t).toISOString();
  return step < DAY ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10);
}

// The tooltip shared by every mark: headline, outlet, time and a link.
function tooltip(container) {
  const tip = h("div", { class: "tooltip", role: "tooltip", id: "mark-tip", hidden: true });
  container.append(tip);
  let hideTimer = null;
  return {
    show(mark, article) {
      clearTimeout(hideTimer);
      tip.replaceChildren(
        h("strong", {}, article.title || "(no headline)"), h("br"),
        `${article.outlet.name} · ${minute(article.effective_at)}`, h("br"),
        article.url
          ? h("a", { href: article.url, rel: "noopener noreferrer" }, "Open the article")
          : h("a", { href: `/articles/${article.id}` }, "Stored article (no URL given)"),
      );
      const box = container.getBoundingClientRect();
      const at = mark.getBoundingClientRect();
      tip.hidden = false;
      const left = Math.min(at.left - box.left + 10, box.width - tip.offsetWidth - 4);
      tip.style.left = `${Math.max(0, left)}px`;
      tip.style.top = `${at.bottom - box.top + 6}px`;
    },
    hide() { hideTimer = setTimeout(() => { tip.hidden = true; }, 300); },
    keep() { clearTimeout(hideTimer); },
    el: tip,
  };
}

// spread: GET /storylines/{id}/spread; articles: its members (ArticleBrief), any order.
function spreadChart(container, spread, articles) {
  const width = Math.max(320, container.clientWidth || 800);
  const left = Math.min(200, Math.round(width * 0.38));
  const right = 16, top = 28;
  const lanes = spread.outlets.slice(0, MAX_LANES);
  const height = top + lanes.length * LANE + 8;
  const times = articles.map((a) => Date.parse(a.effective_at));
  let t0 = Math.min(...times), t1 = Math.max(...times);
  if (!(t1 > t0)) { t0 -= HOUR; t1 += HOUR; }
  const pad = (t1 - t0) * 0.02;
  t0 -= pad; t1 += pad;
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (width - left - right);
  const laneOf = new Map(lanes.map((o, i) => [o.outlet.id, i]));
  const y = (outletId) => top + laneOf.get(outletId) * LANE + LANE / 2;
  const start = Date.parse(spread.first_at);

  const svg = s("svg", {
    width, height, viewBox: `0 0 ${width} ${height}`, role: "group", id: "spread-chart",
    "aria-label": `Spread chart: ${spread.outlets.length} outlets in adoption order, one lane each, articles as marks by publication time`,
  });
  const axis = s("g", { class: "axis", "aria-hidden": "true" });
  const tk = ticks(t0, t1, Math.max(2, Math.floor((width - left) / 110)));
  for (const t of tk.values) {
    axis.append(s("line", { x1: x(t), x2: x(t), y1: top - 6, y2: height - 8 }));
    axis.append(s("text", { x: x(t), y: top - 10, "text-anchor": "middle" }, tickLabel(t, tk.step)));
  }
  svg.append(axis);

  lanes.forEach((o, i) => {
    const lagText = o.first_publisher ? "first" : lag(Date.parse(o.first_article.effective_at) - start);
    const g = s("g", { class: o.first_publisher ? "lane lane-first" : "lane", "data-outlet": o.outlet.name, "data-rank": o.rank });
    g.append(s("rect", { class: "lane-bg", x: 0, y: top + i * LANE + 1, width, height: LANE - 2, "aria-hidden": "true" }));
    const label = s("text", { class: "lane-label", x: 6, y: top + i * LANE + LANE / 2 + 4 },
      s("tspan", { "font-weight": o.first_publisher ? "700" : "400" }, truncate(o.outlet.name, Math.floor(left / 8) - 6)),
      s("tspan", { dx: 6, class: "lag" }, `${o.first_publisher ? "" : ""}${lagText}`));
    g.append(label);
    svg.append(g);
  });

  const byId = new Map(articles.map((a) => [a.id, a]));
  const edges = s("g", { "aria-hidden": "true" });
  const curve = (a, b, cls) => {
    if (!laneOf.has(a.outlet.id) || !laneOf.has(b.outlet.id)) return;
    const x1 = x(Date.parse(a.effective_at)), y1 = y(a.outlet.id);
    const x2 = x(Date.parse(b.effective_at)), y2 = y(b.outlet.id);
    const mid = (x1 + x2) / 2;
    edges.append(s("path", { class: cls, d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` }));
  };
  for (const e of spread.follower_edges) curve(e.leader, e.follower, "follow");
  for (const e of spread.republish_edges) curve(e.source, e.republished, "copy");
  svg.append(edges);

  const firstIds = new Set(spread.first_publishers.map((o) => o.first_article.id));
  const tip = tooltip(container);
  const marks = s("g", {});
  for (const a of [...articles].sort((p, q) => Date.parse(p.effective_at) - Date.parse(q.effective_at))) {
    if (!laneOf.has(a.outlet.id)) continue;
    const first = firstIds.has(a.id);
    const link = s("a", {
      href: a.url || `/articles/${a.id}`, class: "mark-link",
      "aria-label": `${a.outlet.name}, ${minute(a.effective_at)}${first ? ", first publisher" : ""}: ${a.title || "no headline"}`,
    });
    const dot = s("circle", { class: first ? "mark first" : "mark", cx: x(Date.parse(a.effective_at)), cy: y(a.outlet.id), r: first ? 7 : 5, "data-article": a.id });
    link.append(dot);
    const show = () => tip.show(dot, byId.get(a.id));
    link.addEventListener("mouseenter", show);
    link.addEventListener("focus", show);
    link.addEventListener("mouseleave", tip.hide);
    link.addEventListener("blur", tip.hide);
    marks.append(link);
  }
  tip.el.addEventListener("mouseenter", tip.keep);
  tip.el.addEventListener("mouseleave", tip.hide);
  svg.append(marks);
  container.append(svg);
  if (spread.outlets.length > lanes.length) {
    container.append(h("p", { class: "muted" }, `Showing the first ${lanes.length} of ${spread.outlets.length} outlets; the table lists them all.`));
  }
}

function truncate(text, n) { return text.length > n ? `${text.slice(0, Math.max(1, n - 1))}…` : text; }

// timeline: GET /storylines/{id}/timeline. Bars: articles per bucket; line: cumulative outlets.
function timelineChart(container, timeline) {
  const width = Math.max(320, container.clientWidth || 800);
  const height = 180, left = 36, right = 36, top = 12, bottom = 28;
  const buckets = timeline.buckets;
  const maxA = Math.max(1, ...buckets.map((b) => b.article_count));
  const maxO = Math.max(1, ...buckets.map((b) => b.cumulative_outlets));
  const bw = (width - left - right) / Math.max(1, buckets.length);
  const yA = (v) => top + (1 - v / maxA) * (height - top - bottom);
  const yO = (v) => top + (1 - v / maxO) * (height - top - bottom);
  const svg = s("svg", {
    width, height, viewBox: `0 0 ${width} ${height}`, role: "img", id: "timeline-chart",
    "aria-label": `Articles per ${timeline.bucket} (bars, left scale up to ${maxA}) and cumulative outlets (line, right scale up to ${maxO}); the table below has the numbers`,
  });
  const axis = s("g", { class: "axis" });
  axis.append(s("line", { x1: left, x2: width - right, y1: height - bottom, y2: height - bottom }));
  axis.append(s("text", { x: left - 4, y: yA(maxA) + 4, "text-anchor": "end" }, maxA));
  axis.append(s("text", { x: left - 4, y: height - bottom, "text-anchor": "end" }, 0));
  axis.append(s("text", { x: width - right + 4, y: yO(maxO) + 4 }, maxO));
  const every = Math.max(1, Math.ceil(buckets.length / Math.floor((width - left) / 90)));
  buckets.forEach((b, i) => {
    if (i % every === 0) {
      const label = timeline.bucket === "hour" ? `${b.start.slice(5, 10)} ${b.start.slice(11, 13)}h` : b.start.slice(0, 10);
      axis.append(s("text", { x: left + i * bw + bw / 2, y: height - 10, "text-anchor": "middle" }, label));
    }
  });
  svg.append(axis);
  buckets.forEach((b, i) => {
    if (!b.article_count) return;
    svg.append(s("rect", { class: "bar", x: left + i * bw + 0.5, y: yA(b.article_count), width: Math.max(1, bw - 1), height: height - bottom - yA(b.article_count) }));
  });
  const points = buckets.map((b, i) => `${(left + i * bw + bw / 2).toFixed(1)},${yO(b.cumulative_outlets).toFixed(1)}`);
  svg.append(s("polyline", { class: "cum", points: points.join(" ") }));
  container.append(svg);
}
