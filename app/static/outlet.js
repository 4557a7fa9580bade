// One outlet: how often it publishes first, how late it joins, who it leads and follows.
"use strict";

const outletId = Number(location.pathname.split("/").pop());

async function render() {
  const page = document.getElementById("page");
  const outlet = await api(`/outlets/${outletId}`);
  document.title = `${outlet.name} – outlet`;
  const stories = await api(`/storylines${query({ outlet: outlet.name, limit: 100, sort: "last_activity" })}`);
  const share = outlet.multi_outlet_storylines
    ? `${Math.round((100 * outlet.first_in) / outlet.multi_outlet_storylines)}%`
    : "–";
  const co = outlet.co_covering.map((c) => h("tr", {},
    h("td", {}, outletLink(c.outlet)),
    h("td", { class: "num" }, num(c.shared_storylines)),
    h("td", { class: "num" }, num(c.led)),
    h("td", { class: "num" }, num(c.followed)),
  ));
  const rows = stories.items.map((r) => h("tr", {},
    h("td", {}, storylineLink(r)),
    h("td", { class: "num" }, num(r.article_count)),
    h("td", { class: "num" }, num(r.outlet_count)),
    h("td", {}, r.first_publishers.some((o) => o.id === outletId) ? h("span", { class: "badge first" }, "first") : ""),
    h("td", {}, day(r.last_published_at)),
    h("td", { class: "opt" }, sparkline(r.sparkline, r.sparkline_start)),
  ));
  page.replaceChildren(
    h("h1", { id: "name" }, outlet.name),
    h("ul", { class: "facts" },
      h("li", {}, h("b", {}, num(outlet.article_count)), "articles"),
      h("li", {}, h("b", {}, num(outlet.storylines_covered)), "storylines"),
      h("li", {}, h("b", { id: "first-in" }, `${num(outlet.first_in)} of ${num(outlet.multi_outlet_storylines)}`),
        `first, in storylines of two or more outlets (${share})`),
      h("li", {}, h("b", { id: "median-lag" }, outlet.median_join_lag ? lag(outlet.median_join_lag.seconds * 1000) : "–"),
        "median delay when it was not first"),
    ),
    h("p", { class: "muted" }, `First means within ${outlet.tie_window_hours} h of a storyline's first article. First seen ${day(outlet.first_seen_at)}.`),
    h("section", { "aria-labelledby": "co-h" },
      h("h2", { id: "co-h" }, "Outlets covering the same storylines"),
      co.length ? h("div", { class: "table-wrap" }, h("table", { id: "co-covering" },
        h("caption", { class: "sr-only" }, "Outlets covering the same storylines, with how often this outlet came before or after each"),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Outlet"),
          h("th", { scope: "col", class: "num" }, "Shared storylines"),
          h("th", { scope: "col", class: "num" }, `${outlet.name} was earlier`),
          h("th", { scope: "col", class: "num" }, `${outlet.name} was later`))),
        h("tbody", {}, co))) : h("p", { class: "muted" }, "No other outlet covered its storylines."),
    ),
    h("section", { "aria-labelledby": "stories-h" },
      h("h2", { id: "stories-h" }, `Its storylines (${num(stories.total)})`),
      h("div", { class: "table-wrap" }, h("table", { id: "outlet-storylines" },
        h("caption", { class: "sr-only" }, "Storylines this outlet covered, most recent first"),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Storyline"),
          h("th", { scope: "col", class: "num" }, "Articles"),
          h("th", { scope: "col", class: "num" }, "Outlets"),
          h("th", { scope: "col" }, "First?"),
          h("th", { scope: "col" }, "Last"),
          h("th", { scope: "col", class: "opt" }, "Articles per day"))),
        h("tbody", {}, rows))),
      stories.next_cursor ? h("p", { class: "muted" }, `Showing the ${num(stories.items.length)} most recent.`) : null,
    ),
  );
}

render().catch((error) => showError(document.getElementById("page"), error));
