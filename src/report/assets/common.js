// ebbflow reports: DOM helpers, number formats and hand-written SVG charts
// shared by the queue page and the model page. Data reaches the DOM only
// through text nodes and attributes (never parsed as markup), so an account name
// is always shown as text, whatever it contains.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else if (c instanceof Node) node.appendChild(c);
    else node.appendChild(document.createTextNode(String(c)));
  }
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  return node;
}

/** An HTML element: el("td", {class: "num"}, "12"). */
function el(tag, attrs, ...children) {
  return append(setAttrs(document.createElement(tag), attrs), children);
}

/** An SVG element. */
function sv(tag, attrs, ...children) {
  return append(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
}

function readData() {
  return JSON.parse(document.getElementById("report-data").textContent);
}

// Number formats: fixed en-US grouping so the page reads the same on every
// laptop. Money has no currency symbol: the data does not say which.
const fmt = {
  int: (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US")),
  money: (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US")),
  compact: (n) => {
    const a = Math.abs(n);
    if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 1 : 2) + " M";
    if (a >= 1e4) return (n / 1e3).toFixed(0) + " k";
    return Math.round(n).toLocaleString("en-US");
  },
  pct: (p, d = 1) => (p === null || p === undefined || Number.isNaN(p) ? "–" : (p * 100).toFixed(d) + "%"),
  fixed: (x, d = 3) => (x === null || x === undefined || Number.isNaN(x) ? "–" : x.toFixed(d)),
  signed: (x, d = 3) => (x === null || x === undefined ? "–" : (x > 0 ? "+" : x < 0 ? "−" : "±") + Math.abs(x).toFixed(d)),
  pvalue: (p) => {
    if (p === null || p === undefined) return "n/a";
    if (p < 0.0001) return "p < 0.0001";
    return "p = " + (p < 0.01 ? p.toFixed(4) : p.toFixed(3));
  },
  days: (d) => (d === null || d === undefined ? "–" : Math.round(d).toLocaleString("en-US") + " d"),
};

// Ten distinguishable colors (Tableau 10); "other" levels are grey.
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#b6992d"];
function colorFor(i, label) {
  return label === "other" ? "#9aa4b1" : PALETTE[i % PALETTE.length];
}

/** About `count` round tick values covering [min, max]. */
function niceTicks(min, max, count) {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return ticks;
}

let chartSeq = 0;

/**
 * An x/y chart as an SVG element. Every chart has labeled axes with units.
 * opts: {width, height, margin, x: {min, max, label, format, ticks},
 *        y: {...}, series: [{points: [[x, y]], step, extend, color, width, dash,
 *        band: [[x, lo, hi]], dots: [{x, y, r, title}], cls}],
 *        vlines: [{x, label, color, cls, dot, dotColor}], hlines: [{y, color, dash}], id, title}
 */
function xyChart(opts) {
  const W = opts.width || 620, H = opts.height || 320;
  const m = Object.assign({ top: 14, right: 18, bottom: 50, left: 64 }, opts.margin || {});
  const pw = W - m.left - m.right, ph = H - m.top - m.bottom;
  const X = opts.x, Y = opts.y;
  const sx = (v) => m.left + ((v - X.min) / (X.max - X.min || 1)) * pw;
  const sy = (v) => m.top + ph - ((v - Y.min) / (Y.max - Y.min || 1)) * ph;
  const root = sv("svg", {
    class: "chart" + (opts.cls ? " " + opts.cls : ""), id: opts.id, viewBox: `0 0 ${W} ${H}`,
    role: "img", "aria-label": opts.title || "",
  });
  if (opts.title) root.appendChild(sv("title", {}, opts.title));
  const clipId = "clip-" + ++chartSeq;
  root.appendChild(sv("defs", {}, sv("clipPath", { id: clipId },
    sv("rect", { x: m.left, y: m.top - 2, width: pw, height: ph + 4 }))));

  const xt = X.ticks || niceTicks(X.min, X.max, X.count || 6);
  const yt = Y.ticks || niceTicks(Y.min, Y.max, Y.count || 5);
  const xf = X.format || ((v) => String(v)), yf = Y.format || ((v) => String(v));
  const grid = sv("g", { class: "grid" });
  const axis = sv("g", { class: "axis" });
  for (const t of yt) {
    grid.appendChild(sv("line", { x1: m.left, x2: m.left + pw, y1: sy(t), y2: sy(t) }));
    axis.appendChild(sv("text", { x: m.left - 8, y: sy(t) + 4, "text-anchor": "end" }, yf(t)));
  }
  for (const t of xt) {
    grid.appendChild(sv("line", { x1: sx(t), x2: sx(t), y1: m.top, y2: m.top + ph }));
    axis.appendChild(sv("text", { x: sx(t), y: m.top + ph + 18, "text-anchor": "middle" }, xf(t)));
  }
  axis.appendChild(sv("path", { d: `M${m.left},${m.top}V${m.top + ph}H${m.left + pw}`, fill: "none" }));
  root.appendChild(grid);
  root.appendChild(axis);
  root.appendChild(sv("text", { class: "axis-label", x: m.left + pw / 2, y: H - 8, "text-anchor": "middle" }, X.label));
  root.appendChild(sv("text", {
    class: "axis-label", transform: `translate(16,${m.top + ph / 2}) rotate(-90)`, "text-anchor": "middle",
  }, Y.label));

  const plot = sv("g", { "clip-path": `url(#${clipId})` });
  for (const h of opts.hlines || []) {
    plot.appendChild(sv("line", {
      x1: m.left, x2: m.left + pw, y1: sy(h.y), y2: sy(h.y), stroke: h.color || "#777",
      "stroke-dasharray": h.dash || "5 4", "stroke-width": 1.2,
    }));
  }
  for (const s of opts.series || []) {
    const g = sv("g", { class: s.cls || "series" });
    if (s.band && s.band.length) {
      g.appendChild(sv("path", {
        class: (s.cls || "series") + "-band", d: bandPath(s.band, s.step, sx, sy, X.max),
        fill: s.color, "fill-opacity": s.bandOpacity || 0.15, stroke: "none",
      }));
    }
    if (s.points && s.points.length) {
      g.appendChild(sv("path", {
        // A step line runs on to the right edge unless the series ends where its points do.
        class: (s.cls || "series") + "-line", d: linePath(s.points, s.step, sx, sy, s.extend === false ? -Infinity : X.max),
        fill: "none", stroke: s.color, "stroke-width": s.width || 2, "stroke-dasharray": s.dash || null,
        "stroke-linejoin": "round",
      }));
    }
    for (const d of s.dots || []) {
      g.appendChild(sv("circle", {
        cx: sx(d.x), cy: sy(d.y), r: d.r || 4, fill: s.color, "fill-opacity": 0.85, stroke: "#fff",
        "stroke-width": 1,
      }, d.title ? sv("title", {}, d.title) : null));
    }
    plot.appendChild(g);
  }
  root.appendChild(plot);
  for (const v of opts.vlines || []) {
    const x = sx(v.x);
    root.appendChild(sv("line", {
      class: v.cls || "vline", x1: x, x2: x, y1: m.top, y2: m.top + ph, stroke: v.color || "#333",
      "stroke-width": 2, "stroke-dasharray": v.dash || null,
    }));
    if (v.dot !== undefined) {
      root.appendChild(sv("circle", { class: (v.cls || "vline") + "-dot", cx: x, cy: sy(v.dot), r: 5, fill: v.dotColor || v.color || "#333", stroke: "#fff", "stroke-width": 1.5 }));
    }
    if (v.label) {
      // Keep the label inside the plot: right of the line unless that
      // would run past the right edge.
      const right = x < m.left + pw * 0.62;
      root.appendChild(sv("text", {
        class: "annot", x: right ? x + 6 : x - 6, y: m.top + 14, "text-anchor": right ? "start" : "end",
      }, v.label));
    }
  }
  return root;
}

/** Path of a line; a step line holds each value until the next x. */
function linePath(points, step, sx, sy, xmax) {
  let d = "";
  points.forEach(([x, y], i) => {
    if (i === 0) d += `M${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
    else if (step) d += `H${sx(x).toFixed(1)}V${sy(y).toFixed(1)}`;
    else d += `L${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
  });
  if (step && points.length) d += `H${sx(Math.max(points[points.length - 1][0], xmax)).toFixed(1)}`;
  return d;
}

/** A closed band between lo and hi ([x, lo, hi] rows). */
function bandPath(rows, step, sx, sy, xmax) {
  const upper = rows.map((r) => [r[0], r[2]]);
  const lower = rows.map((r) => [r[0], r[1]]);
  let d = linePath(upper, step, sx, sy, xmax);
  const end = step ? Math.max(rows[rows.length - 1][0], xmax) : rows[rows.length - 1][0];
  d += `L${sx(end).toFixed(1)},${sy(lower[lower.length - 1][1]).toFixed(1)}`;
  for (let i = lower.length - 1; i >= 0; i--) {
    const [x, y] = lower[i];
    if (step) {
      d += `V${sy(y).toFixed(1)}H${sx(x).toFixed(1)}`;
    } else {
      d += `L${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
    }
  }
  return d + "Z";
}

/** A Kaplan–Meier step series from thinned steps {t, s, lo, hi}. */
function kmSeries(c, color, opts) {
  const pts = c.t.map((t, i) => [t, c.s[i]]);
  const band = c.t.map((t, i) => [t, c.lo[i], c.hi[i]]);
  return Object.assign({ points: pts, band: band, step: true, color: color, cls: "km" }, opts || {});
}

/** The x range a set of KM curves needs, rounded up to 90 days. */
function kmMaxDays(curves) {
  let max = 90;
  for (const c of curves) if (c.t.length) max = Math.max(max, c.t[c.t.length - 1]);
  return Math.ceil(max / 90) * 90;
}

/** Day ticks in quarters, half years or years, at most `most` of them. */
function dayTicks(max, most) {
  const step = [30, 90, 180, 365, 730, 1461].find((s) => max / s <= (most || 8)) || 1461;
  const t = [];
  for (let v = 0; v <= max; v += step) t.push(v);
  return t;
}

/** A legend under a chart: [{label, color, dash, band}]. */
function legend(items) {
  return el("div", { class: "chart-legend" }, items.map((it) =>
    el("span", {}, el("span", { class: "sw" + (it.dash ? " dash" : "") + (it.band ? " band" : ""), style: `background:${it.color};--sw:${it.color}` }), it.label)));
}

/**
 * Horizontal bars: rows [{label, value, title}], centered on zero, with the
 * labels left of the axis. Positive bars in `pos` color, negative in `neg`.
 */
function barChart(rows, opts) {
  const W = opts.width || 620, rowH = 22;
  const m = { top: 8, right: 8, bottom: 48, left: opts.labelWidth || 200 };
  const H = m.top + m.bottom + rows.length * rowH;
  const pw = W - m.left - m.right;
  let lo = Math.min(0, ...rows.map((r) => r.value)), hi = Math.max(0, ...rows.map((r) => r.value));
  const pad = (hi - lo) * 0.05 || 0.1;
  const ticks = niceTicks(lo - pad, hi + pad, 6).filter((t) => t >= lo - pad && t <= hi + pad);
  lo = Math.min(lo, ticks[0]); hi = Math.max(hi, ticks[ticks.length - 1]);
  // Room for the value labels beyond the longest bars on either side, so
  // a label never runs into the feature names or off the chart.
  const room = 46;
  const sx = (v) => m.left + room + ((v - lo) / (hi - lo || 1)) * (pw - 2 * room);
  const root = sv("svg", { class: "chart bars", id: opts.id, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.title || "" });
  const grid = sv("g", { class: "grid" }), axis = sv("g", { class: "axis" });
  for (const t of ticks) {
    grid.appendChild(sv("line", { x1: sx(t), x2: sx(t), y1: m.top, y2: H - m.bottom }));
    axis.appendChild(sv("text", { x: sx(t), y: H - m.bottom + 16, "text-anchor": "middle" }, (opts.format || String)(t)));
  }
  root.appendChild(grid);
  root.appendChild(axis);
  root.appendChild(sv("line", { x1: sx(0), x2: sx(0), y1: m.top, y2: H - m.bottom, stroke: "#6b7684" }));
  rows.forEach((r, i) => {
    const y = m.top + i * rowH;
    const x0 = sx(Math.min(0, r.value)), x1 = sx(Math.max(0, r.value));
    const label = r.label.length > 34 ? r.label.slice(0, 33) + "…" : r.label;
    root.appendChild(sv("text", { x: m.left - 8, y: y + 15, "text-anchor": "end" }, label, sv("title", {}, r.label)));
    root.appendChild(sv("rect", {
      class: "bar", x: x0, y: y + 4, width: Math.max(1, x1 - x0), height: rowH - 8,
      fill: r.value >= 0 ? opts.pos : opts.neg,
    }, sv("title", {}, r.title || `${r.label}: ${r.value}`)));
    const vx = r.value >= 0 ? x1 + 4 : x0 - 4;
    root.appendChild(sv("text", { x: vx, y: y + 15, "text-anchor": r.value >= 0 ? "start" : "end" }, (opts.valueFormat || String)(r.value)));
  });
  root.appendChild(sv("text", { class: "axis-label", x: m.left + pw / 2, y: H - 8, "text-anchor": "middle" }, opts.xLabel));
  return root;
}

/** A table from column specs [{label, cls, get(row) -> text or node, title}]. */
function table(cols, rows, attrs) {
  return el("table", Object.assign({ class: "plain" }, attrs || {}),
    el("thead", {}, el("tr", {}, cols.map((c) => el("th", { class: c.cls, title: c.title }, c.label)))),
    el("tbody", {}, rows.map((r) => el("tr", { class: r && r.kind ? "kind-" + r.kind : null },
      cols.map((c) => el("td", { class: c.cls }, c.get(r)))))));
}

/** The validation figures of one target, with baselines and in-sample. */
function figuresTable(rows) {
  return table([
    { label: "model", get: (r) => r.label },
    { label: "rows", cls: "num", get: (r) => fmt.int(r.n) },
    { label: "base rate", cls: "num", get: (r) => fmt.pct(r.base_rate) },
    { label: "ROC AUC", cls: "num", title: "chance a churner ranks above a non-churner; 0.5 is a coin", get: (r) => fmt.fixed(r.roc_auc) },
    { label: "PR AUC", cls: "num", title: "average precision", get: (r) => fmt.fixed(r.pr_auc) },
    { label: "Brier", cls: "num", title: "mean squared error of the probability; lower is better", get: (r) => fmt.fixed(r.brier, 4) },
    { label: "top-decile lift", cls: "num", title: "positive rate in the top 10% by score over the base rate", get: (r) => (r.top_decile_lift === null ? "–" : r.top_decile_lift.toFixed(2) + "×") },
    { label: "ECE", cls: "num", title: "expected calibration error over equal-count bins (score deciles); lower is better", get: (r) => fmt.fixed(r.ece, 4) },
  ], rows, { class: "plain figures" });
}

function section(id, title, ...children) {
  return el("section", { id: id }, el("h2", {}, title), children);
}
