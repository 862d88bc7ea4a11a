// The queue page: sorts, filters and pages the queue in memory and draws
// only one page of rows (PAGE_SIZE), so 50,000 accounts stay responsive;
// totals and the segment summary follow the filters; a click on a row opens
// the account's drivers and its survival curve.
"use strict";
(function () {
  const PAGE_SIZE = 100;
  const D = readData();
  const H = D.bundle.horizon_days;
  const F = {};
  D.fields.forEach((f, i) => { F[f] = i; });
  const TIERS = D.dicts.tier;
  // Models the bundle lacks (single-class training rows): their columns are empty.
  const SKIPPED = new Set(D.bundle.skipped.map((k) => k.target));
  const skippedNotes = () => D.bundle.skipped.map((k) => el("p", { class: "warn small skipped-model" }, `No ${k.target} model in this bundle: ${k.reason}. Its columns are empty (–).`));
  const PHRASES = D.dicts.phrase;
  // What moved since the previous run; null on a first run.
  const M = D.movers;
  const MOVES = D.dicts.movement;
  const ARROW = { up: "▲", down: "▼", new: "●", same: "=" };
  const rows = D.rows.map((a) => {
    const r = {
      rank: a[F.rank], id: a[F.account_id], name: a[F.name] || "",
      ownerIx: a[F.owner], owner: a[F.owner] === null ? "" : D.dicts.owner[a[F.owner]],
      mrr: a[F.mrr], churn: a[F.churn_risk], tierIx: a[F.risk_tier], tier: TIERS[a[F.risk_tier]],
      // The page data holds 0 for a missing ARR at risk: without a churn
      // risk there is none, so it is empty like the risk.
      arr: a[F.churn_risk] === null ? null : a[F.arr_at_risk], up: a[F.upgrade_propensity], upTierIx: a[F.upgrade_tier], upTier: TIERS[a[F.upgrade_tier]],
      rfm: a[F.rfm_code], segIx: a[F.segment], seg: D.dicts.segment[a[F.segment]],
      s90: a[F.survival_90d], edr: a[F.expected_days_remaining],
      cd: a[F.churn_drivers].map((i) => PHRASES[i]).join("; "), ud: a[F.upgrade_drivers].map((i) => PHRASES[i]).join("; "), playIx: a[F.suggested_play], play: D.dicts.play[a[F.suggested_play]],
      tenure: a[F.tenure_days], curve: a[F.curve], theta: a[F.hazard_ratio], tread: a[F.curve_tenure],
      // Against the previous run (all null on a first run).
      // (A first run's rows do not carry these fields.)
      prev: M ? a[F.prev_churn_risk] : null, change: M ? a[F.churn_risk_change] : null,
      prevTier: M && a[F.prev_risk_tier] !== null ? TIERS[a[F.prev_risk_tier]] : "",
      moveIx: M ? a[F.movement] : null, move: M && a[F.movement] !== null ? MOVES[a[F.movement]] : "",
    };
    r.search = (r.id + "\u0001" + r.name + "\u0001" + r.owner).toLowerCase();
    return r;
  });

  const lower = (s) => s.toLowerCase();
  // A model the bundle does not have leaves its score empty (see the note
  // under the title): a dash, no pill.
  const tierCell = (tier, p) => (tier ? [el("span", { class: "pill " + tier }, tier), " ", fmt.pct(p)] : "–");
  const points = (x) => (x === null || x === undefined ? "–" : (x > 0 ? "+" : x < 0 ? "−" : "±") + (Math.abs(x) * 100).toFixed(1) + " pts");
  // One account's move in words, from its own values now and then.
  const moveText = (r) => {
    if (!r.move) return "";
    if (r.move === "new") return `not in the queue on ${M.previous_as_of}`;
    const verb = r.move === "same" ? `still ${r.tier}` : `${r.prevTier} → ${r.tier}`;
    return `${verb}; churn risk ${fmt.pct(r.prev)} → ${fmt.pct(r.churn)} (${points(r.change)}) since ${M.previous_as_of}`;
  };
  // Narrow: the arrow and the change in points ("new" for a new account); the title says it all.
  const moveCell = (r) => (r.move ? el("span", { class: "move move-" + r.move }, ARROW[r.move] + " " + (r.move === "new" ? "new" : points(r.change).replace(" pts", ""))) : "–");
  const tierText = (t) => (t ? `high from ${fmt.pct(t.high)}, medium from ${fmt.pct(t.medium)}` : "no model");
  const COLS = [
    { key: "rank", label: "#", num: true, width: 58, sort: (r) => r.rank, cell: (r) => String(r.rank) },
    { key: "account", label: "Account", width: M ? 180 : 196, sort: (r) => lower(r.name || r.id), cls: "acct",
      cell: (r) => (r.name ? [el("span", { class: "nm", title: r.name }, r.name), el("span", { class: "id" }, r.id)] : el("span", { class: "nm" }, r.id)) },
    D.has_owner ? { key: "owner", label: "Owner", width: 124, sort: (r) => lower(r.owner), cell: (r) => r.owner, title: (r) => r.owner } : null,
    { key: "mrr", label: "MRR", num: true, width: 74, sort: (r) => r.mrr, cell: (r) => fmt.money(r.mrr) },
    { key: "churn", label: `Churn risk\nnext ${H} d`, num: true, width: 122, sort: (r) => r.churn,
      cell: (r) => tierCell(r.tier, r.churn) },
    { key: "arr", label: "ARR at risk", num: true, width: 82, sort: (r) => r.arr, cell: (r) => fmt.money(r.arr) },
    { key: "up", label: `Upgrade\nnext ${H} d`, num: true, width: 122, sort: (r) => r.up,
      cell: (r) => tierCell(r.upTier, r.up) },
    { key: "segment", label: "RFM segment", width: M ? 110 : 120, sort: (r) => lower(r.seg), cell: (r) => r.seg, title: (r) => `${r.seg}, RFM code ${r.rfm} (recency, frequency, money; 5 is best)` },
    { key: "s90", label: "Survival\nnext 90 d", num: true, width: 86, sort: (r) => r.s90, cell: (r) => fmt.pct(r.s90) },
    { key: "edr", label: "Expected\ndays left", num: true, width: 74, sort: (r) => r.edr, cell: (r) => fmt.int(r.edr) },
    M ? { key: "move", label: "Moved", num: false, width: 84, sort: (r) => (r.change === null ? -Infinity : r.change), cell: moveCell, title: moveText } : null,
    { key: "play", label: "Play", width: 86, sort: (r) => r.play, cell: (r) => el("span", { class: "pill play play-" + r.play }, r.play) },
    { key: "driver", label: "Top churn driver", width: null, sort: (r) => lower(r.cd), cell: (r) => el("span", { class: "clamp2" }, r.cd.split("; ")[0] || "–"), title: (r) => r.cd },
  ].filter(Boolean);

  const state = {
    filters: { owner: "", segment: "", tier: "", upTier: "", play: "", move: "" },
    search: "",
    sortKey: "rank",
    sortDir: 1,
    page: 0,
    view: rows,
    selected: null,
  };

  // ---------- layout ----------
  const app = document.getElementById("app");
  const c = D.counts;
  app.appendChild(el("header", { class: "top" },
    el("div", {},
      el("h1", {}, `Risk queue as of ${D.as_of}`),
      el("div", { class: "meta" },
        el("span", {}, `${fmt.int(c.scored)} accounts scored of ${fmt.int(c.accounts)} (${fmt.int(c.inactive)} not paying on ${D.as_of})`),
        el("span", {}, `model ${D.bundle.id}, trained ${D.bundle.created_at.slice(0, 10)} on data to ${D.bundle.data_end}`),
        el("span", { id: "generated-at" }, `generated ${D.generated_at}`)),
      skippedNotes()),
    el("nav", { class: "sections" },
      el("a", { href: "#moved" }, "Moved"), el("a", { href: "#queue" }, "Queue"), el("a", { href: "#segments" }, "Segments"), el("a", { href: "#model" }, "Model and drift"))));

  const cards = el("div", { class: "cards", id: "totals" });
  app.appendChild(cards);
  app.appendChild(movedSection());

  const opt = (v, label) => el("option", { value: v }, label);
  const dictOptions = (values, allLabel) => [opt("", allLabel)].concat(values.map((v, i) => ({ v, i }))
    .sort((a, b) => (a.v < b.v ? -1 : a.v > b.v ? 1 : 0)).map(({ v, i }) => opt(String(i), v)));
  const filterSel = (id, label, options, key) => el("label", {}, label,
    el("select", { id: id, onchange: (e) => { state.filters[key] = e.target.value; apply(); } }, options));
  const search = el("input", { type: "search", id: "search", placeholder: ["account id", D.has_names ? "name" : null, D.has_owner ? "owner" : null].filter(Boolean).join(", ").replace(/, ([^,]*)$/, " or $1"), "aria-label": "Search accounts" });
  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.search = search.value.trim().toLowerCase(); apply(); }, 120);
  });
  const tierOptions = [opt("", "all tiers")].concat(TIERS.map((t, i) => opt(String(i), t)));
  const filters = el("div", { class: "filters" },
    el("label", {}, "Search", search),
    D.has_owner ? filterSel("f-owner", "Owner", dictOptions(D.dicts.owner, "all owners"), "owner") : null,
    filterSel("f-segment", "RFM segment", dictOptions(D.dicts.segment, "all segments"), "segment"),
    filterSel("f-tier", "Churn risk tier", tierOptions.map((o) => o.cloneNode(true)), "tier"),
    filterSel("f-upgrade-tier", "Upgrade tier", tierOptions.map((o) => o.cloneNode(true)), "upTier"),
    filterSel("f-play", "Suggested play", dictOptions(D.dicts.play, "all plays"), "play"),
    M ? filterSel("f-movement", `Moved since ${M.previous_as_of}`, [opt("", "all movements")].concat(MOVES.map((m, i) => opt(String(i), m))), "move") : null,
    el("button", { id: "reset", type: "button", onclick: reset }, "Clear filters"));

  const status = el("div", { class: "status", id: "queue-status", "aria-live": "polite" });
  const thead = el("tr", {});
  const tbody = el("tbody", {});
  const colgroup = el("colgroup", {}, COLS.map((col) => el("col", { style: col.width ? `width:${col.width}px` : null })));
  for (const col of COLS) {
    const th = el("th", { "data-key": col.key, class: col.num ? "num" : null, scope: "col", tabindex: "0", title: "Sort by " + col.label.replace("\n", ", ") }, col.label);
    th.addEventListener("click", () => sortBy(col.key));
    th.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(col.key); } });
    thead.appendChild(th);
  }
  const pager = el("div", { class: "pager", id: "pager" });
  app.appendChild(el("section", { id: "queue" },
    el("h2", {}, "Queue"),
    filters, status,
    el("div", { class: "tablewrap" }, el("table", { class: "queue", id: "queue-table" }, colgroup, el("thead", {}, thead), tbody)),
    pager));

  const segSection = el("section", { id: "segments" });
  app.appendChild(segSection);
  app.appendChild(modelSection());

  const drawer = el("aside", { class: "drawer", id: "account-panel", hidden: true, "aria-label": "Account details" });
  document.body.appendChild(drawer);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeDrawer(); });

  // ---------- behaviour ----------
  function reset() {
    state.filters = { owner: "", segment: "", tier: "", upTier: "", play: "", move: "" };
    state.search = "";
    search.value = "";
    for (const s of filters.querySelectorAll("select")) s.value = "";
    apply();
  }

  function sortBy(key) {
    const col = COLS.find((c) => c.key === key);
    if (state.sortKey === key) state.sortDir = -state.sortDir;
    else { state.sortKey = key; state.sortDir = col.num && key !== "rank" ? -1 : 1; }
    sortView();
    state.page = 0;
    render();
  }

  function sortView() {
    const col = COLS.find((c) => c.key === state.sortKey);
    const dir = state.sortDir;
    const keyed = state.view.map((r) => [col.sort(r), r]);
    keyed.sort((a, b) => (a[0] < b[0] ? -dir : a[0] > b[0] ? dir : a[1].rank - b[1].rank));
    state.view = keyed.map((k) => k[1]);
  }

  function apply() {
    const f = state.filters, q = state.search;
    const owner = f.owner === "" ? -1 : +f.owner, seg = f.segment === "" ? -1 : +f.segment;
    const tier = f.tier === "" ? -1 : +f.tier, upTier = f.upTier === "" ? -1 : +f.upTier, play = f.play === "" ? -1 : +f.play;
    const move = f.move === "" ? -1 : +f.move;
    state.view = rows.filter((r) =>
      (owner < 0 || r.ownerIx === owner) && (seg < 0 || r.segIx === seg) && (tier < 0 || r.tierIx === tier) &&
      (upTier < 0 || r.upTierIx === upTier) && (play < 0 || r.playIx === play) && (move < 0 || r.moveIx === move) &&
      (q === "" || r.search.includes(q)));
    if (state.sortKey !== "rank" || state.sortDir !== 1) sortView();
    state.page = 0;
    render();
  }

  function render() {
    const n = state.view.length, pages = Math.max(1, Math.ceil(n / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const lo = state.page * PAGE_SIZE, hi = Math.min(n, lo + PAGE_SIZE);
    const shown = state.view.slice(lo, hi);
    tbody.replaceChildren(...shown.map(rowEl));
    if (!shown.length) {
      tbody.appendChild(el("tr", {}, el("td", { class: "empty", colspan: COLS.length }, "No account matches these filters.")));
    }
    for (const th of thead.children) {
      th.setAttribute("aria-sort", th.dataset.key === state.sortKey ? (state.sortDir > 0 ? "ascending" : "descending") : "none");
    }
    const filtered = n !== rows.length;
    status.dataset.matching = n;
    status.dataset.total = rows.length;
    status.dataset.shown = shown.length;
    status.replaceChildren();
    append(status, [
      n ? ["Showing ", el("b", {}, `${fmt.int(lo + 1)}–${fmt.int(hi)}`), " of ", el("b", { id: "match-count" }, fmt.int(n)), " accounts"]
        : [el("b", { id: "match-count" }, "0"), " accounts"],
      filtered ? [" (filtered from ", el("span", { id: "total-count" }, fmt.int(rows.length)), ")"] : "",
      ", sorted by ", COLS.find((c) => c.key === state.sortKey).label.replace("\n", ", "), state.sortDir > 0 ? " ascending" : " descending", "."]);
    pager.replaceChildren(
      el("button", { type: "button", id: "first-page", disabled: state.page === 0, onclick: () => go(0) }, "« First"),
      el("button", { type: "button", id: "prev-page", disabled: state.page === 0, onclick: () => go(state.page - 1) }, "‹ Previous"),
      el("span", { id: "page-info" }, `page ${fmt.int(state.page + 1)} of ${fmt.int(pages)}`),
      el("button", { type: "button", id: "next-page", disabled: state.page >= pages - 1, onclick: () => go(state.page + 1) }, "Next ›"),
      el("button", { type: "button", id: "last-page", disabled: state.page >= pages - 1, onclick: () => go(pages - 1) }, "Last »"));
    renderTotals(state.view, filtered);
    renderSegments(state.view, filtered);
  }

  function go(p) {
    state.page = p;
    render();
    document.getElementById("queue").scrollIntoView({ block: "start" });
  }

  function rowEl(r) {
    const tr = el("tr", { "data-account": r.id, "data-rank": r.rank, tabindex: "0", class: state.selected === r ? "selected" : null },
      COLS.map((col) => el("td", { class: [col.num ? "num" : "", col.cls || ""].join(" ").trim() || null, title: col.title ? col.title(r) : null }, col.cell(r))));
    tr.addEventListener("click", () => select(r, tr));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") select(r, tr); });
    return tr;
  }

  function renderTotals(view, filtered) {
    let arr = 0, mrr = 0;
    const tiers = [0, 0, 0], plays = new Map();
    for (const r of view) {
      arr += r.arr || 0; mrr += r.mrr; if (r.tierIx !== null) tiers[r.tierIx]++;
      plays.set(r.play, (plays.get(r.play) || 0) + 1);
    }
    // The page may hold only the top --report-rows accounts of the queue:
    // say so, so totals are not read as the whole queue's.
    const partial = D.counts.shown !== undefined && D.counts.shown < D.counts.scored;
    const scope = (filtered ? "matching the filters" : "in the queue") + (partial ? ` (top ${fmt.int(D.counts.shown)} of ${fmt.int(D.counts.scored)} by ARR at risk)` : "");
    const colors = ["var(--high)", "var(--medium)", "#8fbf98"];
    const n = view.length || 1;
    const playOrder = ["save", "expand", "check-in", "nurture", "monitor"];
    cards.replaceChildren(
      el("div", { class: "card" }, el("div", { class: "label" }, "Accounts " + scope),
        el("div", { class: "value", id: "total-accounts", "data-value": view.length }, fmt.int(view.length)),
        el("div", { class: "sub" }, filtered ? `of ${fmt.int(rows.length)} scored` : `${fmt.int(D.counts.inactive)} more not paying on ${D.as_of}`)),
      el("div", { class: "card" }, el("div", { class: "label" }, "ARR at risk " + scope),
        el("div", { class: "value", id: "total-arr-at-risk", "data-value": Math.round(arr), title: fmt.money(arr) }, SKIPPED.has("churn") ? "–" : fmt.compact(arr)),
        el("div", { class: "sub" }, SKIPPED.has("churn") ? "no churn model in this bundle" : `Σ churn risk × MRR × 12; ${fmt.pct(mrr ? arr / (12 * mrr) : 0)} of ARR`)),
      el("div", { class: "card" }, el("div", { class: "label" }, "MRR " + scope),
        el("div", { class: "value", "data-value": Math.round(mrr), title: fmt.money(mrr) }, fmt.compact(mrr)),
        el("div", { class: "sub" }, `ARR ${fmt.compact(12 * mrr)}`)),
      el("div", { class: "card", id: "tier-counts", "data-high": tiers[0], "data-medium": tiers[1], "data-low": tiers[2] },
        el("div", { class: "label" }, "Accounts by churn risk tier"),
        el("div", { class: "tierbar" }, tiers.map((t, i) => el("span", { style: `width:${(100 * t) / n}%;background:${colors[i]}` }))),
        SKIPPED.has("churn") ? el("div", { class: "sub" }, "no churn model in this bundle")
          : el("div", { class: "legend-row" }, TIERS.map((t, i) => el("span", {}, el("b", {}, fmt.int(tiers[i])), " " + t)))),
      el("div", { class: "card" }, el("div", { class: "label" }, "Suggested plays"),
        el("div", { class: "legend-row", style: "margin-top:6px" },
          playOrder.filter((p) => plays.has(p)).concat([...plays.keys()].filter((p) => !playOrder.includes(p)).sort())
            .map((p) => el("span", {}, el("b", {}, fmt.int(plays.get(p))), " " + p)))));
  }

  function renderSegments(view, filtered) {
    const agg = new Map();
    for (const r of view) {
      let a = agg.get(r.seg);
      if (!a) agg.set(r.seg, (a = { n: 0, mrr: 0, arr: 0, churn: 0, up: 0 }));
      a.n++; a.mrr += r.mrr; a.arr += r.arr || 0; a.churn += r.churn; a.up += r.up;
    }
    const prof = D.segments.map((p) => Object.assign({ live: agg.get(p.name) || { n: 0, mrr: 0, arr: 0, churn: 0, up: 0 } }, p));
    const mean = (a, k) => (a.n && !SKIPPED.has(k === "churn" ? "churn" : "upgrade") ? a[k] / a.n : null);
    segSection.replaceChildren(
      el("h2", {}, "Segments"),
      el("p", { class: "muted small" }, `RFM segments ${filtered ? "of the accounts matching the filters" : "of the whole queue"}: size, revenue and predicted rates now, next to the rates observed when the model was trained (within ${H} days of the last training snapshot).`),
      el("div", { class: "tablewrap" }, table([
        { label: "segment", get: (p) => p.name },
        { label: "accounts now", cls: "num", get: (p) => fmt.int(p.live.n) },
        { label: "MRR now", cls: "num", get: (p) => fmt.money(p.live.mrr) },
        { label: "ARR at risk", cls: "num", get: (p) => (SKIPPED.has("churn") ? "–" : fmt.money(p.live.arr)) },
        { label: `mean churn risk (${H} d)`, cls: "num", get: (p) => fmt.pct(mean(p.live, "churn")) },
        { label: `mean upgrade propensity (${H} d)`, cls: "num", get: (p) => fmt.pct(mean(p.live, "up")) },
        { label: "accounts at training", cls: "num", get: (p) => fmt.int(p.training_size) },
        { label: "mean MRR at training", cls: "num", get: (p) => fmt.money(p.training_mean_mrr) },
        { label: "churn rate at training", cls: "num", get: (p) => fmt.pct(p.training_churn_rate) },
        { label: "upgrade rate at training", cls: "num", get: (p) => fmt.pct(p.training_upgrade_rate) },
      ], prof, { class: "plain", id: "segment-summary" })));
  }

  // "Moved since": who rose into the high tier, who rose most, who left.
  // Lists come from the whole queue (not only the rows the page holds);
  // every figure is the account's own, now or in the previous run.
  function movedSection() {
    if (!M) {
      return el("section", { id: "moved" }, el("h2", {}, "Moved since the last run"),
        el("p", { class: "muted", id: "moved-none" }, "No earlier run to compare with: score with --previous PATH (an earlier run's queue file or --out folder) to see which accounts moved up or down a tier, which are new and which left the queue."));
    }
    const c = M.counts;
    const who = (a) => (a.name ? [el("span", { class: "nm", title: a.name }, a.name), el("span", { class: "id" }, a.account_id)] : el("span", { class: "nm" }, a.account_id));
    const more = (list, what) => (list.total > list.rows.length ? el("p", { class: "muted small" }, `… and ${fmt.int(list.total - list.rows.length)} more ${what}.`) : null);
    const empty = (list, text) => (list.total ? null : el("p", { class: "muted small" }, text));
    const pill = (t) => (t ? el("span", { class: "pill " + t }, t) : "–");
    const panel = (id, title, note, list, cols, what, none) => el("div", { class: "panel", id: id, "data-total": list.total },
      el("h3", {}, `${title} (${fmt.int(list.total)})`), el("p", { class: "muted small" }, note),
      list.total ? table(cols, list.rows, { class: "plain movers" }) : null, more(list, what), empty(list, none));
    return el("section", { id: "moved", "data-previous": M.previous_as_of },
      el("h2", {}, `Moved since ${M.previous_as_of}`),
      el("p", { class: "muted small", id: "moved-counts" },
        `Against the queue as of ${M.previous_as_of}: ${fmt.int(c.up)} up a tier, ${fmt.int(c.down)} down, ${fmt.int(c.same)} in the same tier, ` +
        `${fmt.int(c.new)} new to the queue; ${fmt.int(c.left)} left it.` + (c.not_compared ? ` ${fmt.int(c.not_compared)} without a tier on one side (no churn model then or now).` : "")),
      el("div", { class: "grid3" },
        panel("moved-high", "Newly in the high tier", `High churn risk now, and not on ${M.previous_as_of} (up from a lower tier, or new to the queue). Largest ARR at risk first.`, M.newly_high, [
          { label: "account", get: who },
          { label: "then", get: (a) => (a.movement === "new" ? "new" : pill(a.prev_risk_tier)) },
          { label: "churn risk", cls: "num", get: (a) => (a.movement === "new" ? fmt.pct(a.churn_risk) : `${fmt.pct(a.prev_churn_risk)} → ${fmt.pct(a.churn_risk)}`) },
          { label: "ARR at risk", cls: "num", get: (a) => fmt.money(a.arr_at_risk) },
        ], "newly in the high tier", "No account is newly in the high tier."),
        panel("moved-risers", "Biggest risers", `Largest rise in churn risk since ${M.previous_as_of}, whatever the tier.`, M.risers, [
          { label: "account", get: who },
          { label: "churn risk", cls: "num", get: (a) => `${fmt.pct(a.prev_churn_risk)} → ${fmt.pct(a.churn_risk)}` },
          { label: "change", cls: "num", get: (a) => points(a.churn_risk_change) },
        ], "with a higher churn risk", "No account's churn risk rose."),
        panel("moved-left", "Left the queue", `In the queue on ${M.previous_as_of}, not paying on ${D.as_of}. Largest ARR at risk then first.`, M.left, [
          { label: "account", get: who },
          { label: "tier then", get: (a) => pill(a.prev_risk_tier) },
          { label: "churn risk then", cls: "num", get: (a) => fmt.pct(a.prev_churn_risk) },
          { label: "ARR at risk then", cls: "num", get: (a) => fmt.money(a.prev_arr_at_risk) },
        ], "that left the queue", "No account left the queue.")));
  }

  function modelSection() {
    const warn = D.drift.warn_above;
    const drifted = D.drift.features.filter((f) => f[1] > warn);
    const top = D.drift.features.slice(0, 8);
    return el("section", { id: "model" },
      el("h2", {}, "Model and drift"),
      el("div", { class: "grid2" },
        el("div", { class: "panel" },
          el("h3", {}, "Validation on held-out months"),
          el("p", { class: "muted small" }, `Fitted on earlier months and measured on months the model never saw, next to simple baselines on the same rows. Tiers: churn ${tierText(D.bundle.tiers.churn)}; upgrade ${tierText(D.bundle.tiers.upgrade)}.`),
          skippedNotes(),
          D.validation.map(([target, rows]) => [el("h3", { style: "margin-top:10px" }, `${target} within ${H} days`), figuresTable(rows)])),
        el("div", { class: "panel", id: "drift" },
          el("h3", {}, "Drift against the training data"),
          drifted.length
            ? el("div", { class: "notes", id: "drift-warnings" }, el("p", {}, el("b", { class: "warn" }, `${drifted.length} feature${drifted.length > 1 ? "s" : ""} drifted beyond PSI ${warn}:`)),
              drifted.map((f) => el("p", {}, `${f[0]}: PSI ${f[1].toFixed(3)}`)),
              el("p", { class: "small" }, "Scores for accounts that lean on these features deserve a second look; retraining may be due."))
            : el("p", { class: "okay", id: "drift-warnings" }, `No feature drifted beyond PSI ${warn}.`),
          el("p", { class: "muted small" }, "Population stability index of each feature today against its training distribution: below 0.1 stable, 0.1–0.2 moderate, above 0.2 a shift worth a look. Largest first:"),
          table([
            { label: "feature", get: (f) => f[0] },
            { label: "PSI", cls: "num", get: (f) => el("span", { class: f[1] > warn ? "warn" : null }, f[1].toFixed(3)) },
          ], top))));
  }

  function closeDrawer() {
    drawer.hidden = true;
    state.selected = null;
    for (const tr of tbody.querySelectorAll("tr.selected")) tr.classList.remove("selected");
  }

  function select(r, tr) {
    state.selected = r;
    for (const x of tbody.querySelectorAll("tr.selected")) x.classList.remove("selected");
    if (tr) tr.classList.add("selected");
    const curve = D.curves[r.curve];
    const kv = (k, v, id) => el("div", {}, el("div", { class: "k" }, k), el("div", { class: "v", id: id }, v));
    const drivers = (s) => (s ? el("ul", { class: "drivers" }, s.split("; ").map((d) => el("li", {}, d))) : el("p", { class: "muted" }, "No factor raises this score above an average account."));
    drawer.replaceChildren(
      el("button", { class: "btn close", type: "button", onclick: closeDrawer, "aria-label": "Close" }, "✕"),
      el("h2", { id: "account-title" }, r.name || r.id),
      el("div", { class: "muted" }, [r.name ? r.id : null, r.owner ? "owner " + r.owner : null].filter(Boolean).join(" · ")),
      el("div", { class: "kv" },
        kv(`churn risk (${H} d)`, tierCell(r.tier, r.churn)),
        kv("ARR at risk", fmt.money(r.arr)),
        kv("MRR", fmt.money(r.mrr)),
        kv(`upgrade (${H} d)`, tierCell(r.upTier, r.up)),
        kv("RFM segment", `${r.seg} (${r.rfm})`),
        kv("suggested play", el("span", { class: "pill play play-" + r.play }, r.play)),
        M ? kv(`since ${M.previous_as_of}`, r.move ? moveText(r) : "–", "account-moved") : null,
        kv("paying for", fmt.days(r.tenure), "account-tenure"),
        kv("survival next 90 d", fmt.pct(r.s90)),
        kv("expected days left", fmt.int(r.edr) + " of the next 730")),
      el("h3", { style: "margin-top:14px" }, "Why it may churn"), SKIPPED.has("churn") ? el("p", { class: "muted" }, "No churn model in this bundle.") : drivers(r.cd),
      el("h3", {}, "Why it may expand"), SKIPPED.has("upgrade") ? el("p", { class: "muted" }, "No upgrade model in this bundle.") : drivers(r.ud),
      el("h3", {}, `Survival curve: ${curve.label}`),
      survivalChart(curve, r),
      legend((own(r) ? [{ label: "this account, from today", color: ACCOUNT_COLOR, dash: true }] : []).concat(
        [{ label: `${curve.label}: share still paying (Kaplan–Meier)`, color: "#4e79a7" }, { label: "95% interval", color: "#4e79a7", band: true }])),
      el("p", { class: "chart-note" }, survivalNote(curve, r)));
    drawer.hidden = false;
    drawer.scrollTop = 0;
  }

  function s0ratio(c, t) {
    const a = sAt(c, t);
    return a > 0 ? sAt(c, t + 90) / a : null;
  }

  function sAt(c, t) {
    let k = 0;
    while (k < c.t.length && c.t[k] <= t) k++;
    return k === 0 ? 1 : c.s[k - 1];
  }

  const ACCOUNT_COLOR = "#b3261e";

  // Whether the account has a curve of its own: only with a churn model
  // (without one, θ = 1 and its curve is the reference curve itself).
  function own(r) { return r.churn !== null && r.churn !== undefined; }

  function survivalChart(c, r) {
    // From 0 to the end of the 730 days the account's own curve covers
    // (the reference curve's full length would squeeze a young account's
    // curve against the left edge).
    const xmax = Math.min(kmMaxDays([c]), Math.max(360, Math.ceil((r.tenure + 730) / 90) * 90));
    const mine = own(r) ? accountSeries(c, r, xmax) : null;
    // The y axis holds the band and the account's own curve, which can fall
    // far below the reference.
    const lo = Math.min(...c.lo, 1, ...(mine ? mine.points.map((p) => p[1]) : []));
    const ymin = Math.max(0, Math.floor((lo - 0.05) * 10) / 10);
    return xyChart({
      id: "account-survival", width: 460, height: 280, margin: { left: 58, right: 14, bottom: 48 },
      title: `Survival curve for ${c.label} with this account's tenure marked` + (mine ? " and its own curve from there" : ""),
      x: { min: 0, max: xmax, label: "days since the paid period began", ticks: dayTicks(xmax, 7), format: fmt.int },
      y: { min: ymin, max: 1, label: "still paying (% of accounts)", format: (v) => Math.round(v * 100) + "%" },
      series: [kmSeries(c, "#4e79a7")].concat(mine ? [mine] : []),
      vlines: [{ x: r.tenure, cls: "tenure-marker", color: "#6b7684", dot: sAt(c, r.tenure), dotColor: mine ? ACCOUNT_COLOR : "#4e79a7", label: `today: day ${fmt.int(r.tenure)}` }],
    });
  }

  // The account's own curve from today: the reference curve's conditional
  // survival after today's tenure raised to the account's hazard ratio θ
  // (proportional hazards, so that 90 days on it reads survival_90d), drawn
  // from the reference curve's level today. θ null: the constant hazard
  // that gives the same churn risk over the horizon. Drawn over the 730 days
  // that expected_days_remaining integrates, not beyond.
  function accountSeries(c, r, chartMax) {
    const xmax = Math.min(chartMax, r.tenure + 730);
    const s0 = sAt(c, r.tenure);
    const constant = r.theta === null || r.theta === undefined;
    // The curve is read at `tread` (the account's tenure, or the oldest the
    // curve supports for older accounts) and drawn from today's tenure on.
    const tr = r.tread === null || r.tread === undefined ? r.tenure : r.tread;
    const b0 = sAt(c, tr);
    const at = (x) => (constant ? s0 * Math.pow(1 - r.churn, (x - r.tenure) / H)
      : s0 * Math.pow(b0 > 0 ? sAt(c, tr + x - r.tenure) / b0 : 1, r.theta));
    const xs = constant
      ? Array.from({ length: 41 }, (_, i) => r.tenure + ((xmax - r.tenure) * i) / 40)
      : [r.tenure].concat(c.t.filter((t) => t > tr && t <= tr + xmax - r.tenure).map((t) => t - tr + r.tenure), [xmax]);
    return { points: xs.map((x) => [x, at(x)]), step: !constant, extend: false, color: ACCOUNT_COLOR, dash: "6 4", width: 2, cls: "account-curve" };
  }

  function survivalNote(c, r) {
    const end = c.t.length ? c.t[c.t.length - 1] : 0;
    const base = s0ratio(c, r.tenure);
    let s = `Of ${fmt.int(c.n)} paid periods (${c.label}), ${fmt.pct(sAt(c, r.tenure))} lasted ${fmt.int(r.tenure)} days, as this one has so far; ` +
      `${fmt.pct(base)} of those went on for 90 days more. `;
    if (!own(r)) {
      s += `Without a churn model this account is read on that curve as it is: a ${fmt.pct(r.s90)} chance it pays 90 more days.`;
    } else if (r.theta === null || r.theta === undefined) {
      s += `The curve saw no churn in the next 90 days, so this account's curve (dashed line) is the constant hazard that gives its churn risk: a ${fmt.pct(r.s90)} chance it pays 90 more days.`;
    } else {
      s += `This account's behaviour puts its hazard at ${r.theta.toFixed(2)}× the curve's (dashed line): a ${fmt.pct(r.s90)} chance it pays 90 more days, which is 1 − its churn risk.`;
    }
    if (r.tenure > end) s += ` This account has paid longer than any account the curve saw (${fmt.int(end)} days), so the curve is carried flat.`;
    return s;
  }

  render();
})();
