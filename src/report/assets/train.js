// The model page: validation against baselines, calibration and lift,
// coefficients, Kaplan–Meier curves per stratifier with log-rank tests,
// segment profiles, and the comparison with an older bundle when given.
// Everything here is an aggregate taken from the bundle.
"use strict";
(function () {
  const D = readData();
  const H = D.settings.horizon_days;
  const app = document.getElementById("app");

  app.appendChild(el("header", { class: "top" },
    el("div", {},
      el("h1", {}, `Model report: bundle ${D.bundle.id}`),
      el("div", { class: "meta" },
        el("span", {}, `trained ${D.bundle.created_at}`),
        el("span", {}, `ebbflow ${D.bundle.ebbflow_version}, bundle schema ${D.bundle.schema_version}`),
        el("span", {}, `data ${D.data.first_day} to ${D.data.last_day}`),
        el("span", { id: "generated-at" }, `generated ${D.generated_at}`))),
    el("nav", { class: "sections" },
      D.compare ? el("a", { href: "#compare" }, "What changed") : null,
      el("a", { href: "#validation" }, "Validation"), el("a", { href: "#calibration" }, "Calibration and lift"),
      el("a", { href: "#coefficients" }, "Coefficients"), el("a", { href: "#survival" }, "Survival"),
      el("a", { href: "#segments" }, "Segments"), el("a", { href: "#details" }, "Details"))));

  const card = (label, value, sub) => el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value), sub ? el("div", { class: "sub" }, sub) : null);
  app.appendChild(el("div", { class: "cards" },
    card("Accounts in the data", fmt.int(D.data.accounts), `labels and censoring end ${D.data.end}`),
    card("Account-months in the shipped fit", fmt.int(D.rows), `${D.settings.snapshots} month ends, ${D.settings.first_snapshot} to ${D.settings.last_snapshot}`),
    card(`Churn within ${H} days`, fmt.pct(D.churn_base_rate), "base rate over all account-months"),
    card(`Upgrade within ${H} days`, fmt.pct(D.upgrade_base_rate), "base rate over all account-months"),
    card("Held-out months", String(D.backtest.holdout_months.length), `${D.backtest.holdout_months[0]} to ${D.backtest.holdout_months[D.backtest.holdout_months.length - 1]}, ${fmt.int(D.backtest.holdout_rows)} rows`)));

  if (D.compare) app.appendChild(compareSection(D.compare));

  // ---------- validation ----------
  const verdictLine = (t) => {
    const m = t.figures[0], base = t.figures.filter((r) => r.kind === "baseline");
    const best = base.filter((b) => b.roc_auc !== null).sort((a, b) => b.roc_auc - a.roc_auc)[0];
    if (m.roc_auc === null) return "Not measurable: the held-out rows have a single class.";
    if (!best) return `ROC AUC ${m.roc_auc.toFixed(3)} on ${fmt.int(m.n)} held-out rows.`;
    const d = m.roc_auc - best.roc_auc;
    return `ROC AUC ${m.roc_auc.toFixed(3)} vs ${best.roc_auc.toFixed(3)} for the best baseline (${best.label.replace("baseline: ", "")}): ` +
      (d > 0.001 ? "the model ranks better than the baseline." : d < -0.001 ? "the baseline ranks better: do not ship this model." : "no better than the baseline.");
  };
  app.appendChild(section("validation", "Validation against baselines",
    el("p", { class: "muted small" }, `Out of time: fitted on month ends up to ${D.backtest.train_months[D.backtest.train_months.length - 1]} (${fmt.int(D.backtest.train_rows)} rows, labels end before the first held-out month), measured on ${D.backtest.holdout_months.join(", ")}. Baselines are scored on the same rows. The shipped model is then refit on every month; its in-sample figures are shown greyed, for comparison only.`),
    D.skipped.map((k) => el("p", { class: "warn skipped-model" }, `No ${k.target} model: ${k.reason}. Scoring leaves its columns empty.`)),
    el("div", { class: "grid2" }, D.targets.map((t) => el("div", { class: "panel", id: "figures-" + t.target },
      el("h3", {}, `${t.target} within ${H} days`),
      el("p", { class: "small" }, verdictLine(t)),
      figuresTable(t.figures),
      t.warnings.length ? el("div", { class: "notes" }, t.warnings.map((w) => el("p", {}, w))) : null)))));

  // ---------- calibration and lift ----------
  app.appendChild(section("calibration", "Calibration and lift (held-out months)",
    el("div", { class: "grid2" }, D.targets.map((t) => el("div", { class: "panel" },
      el("h3", {}, `Calibration: ${t.target}`), calibrationChart(t),
      legend([{ label: "model, one dot per score decile (equal-count bin; area ∝ rows)", color: "#4e79a7" }, { label: "perfect calibration", color: "#777", dash: true }]),
      el("p", { class: "chart-note" }, `Expected calibration error ${fmt.fixed(t.figures[0].ece, 4)} over ${t.curves.calibration.length} equal-count bins of held-out rows (score deciles): on average the predicted probability is ${fmt.pct(t.figures[0].ece)} away from what happened.`)))),
    el("div", { class: "grid2", style: "margin-top:16px" }, D.targets.map((t) => el("div", { class: "panel" },
      el("h3", {}, `Lift: ${t.target}`), liftChart(t),
      legend([{ label: "model", color: "#4e79a7" }].concat(t.curves.baseline_lift.map(([n], i) => ({ label: "baseline: " + n, color: ["#f28e2b", "#59a14f"][i % 2], dash: true })))
        .concat([{ label: "random targeting (1×)", color: "#777", dash: true }])),
      el("p", { class: "chart-note" }, liftNote(t)))))));

  function calibrationChart(t) {
    const bins = t.curves.calibration;
    const top = Math.max(0.1, ...bins.map((b) => Math.max(b.mean_predicted, b.observed_rate)));
    const max = Math.min(1, Math.ceil(top * 10) / 10);
    const maxCount = Math.max(1, ...bins.map((b) => b.count));
    const pts = bins.map((b) => [b.mean_predicted, b.observed_rate]);
    // Equal-count bins have uneven edges, often a fraction of a percent apart
    // at a low base rate; a bin of tied scores has lower == upper.
    const range = (b) => (b.lower === b.upper ? `scores of ${fmt.pct(b.lower, 2)}` : `scores ${fmt.pct(b.lower, 2)}–${fmt.pct(b.upper, 2)}`);
    return xyChart({
      id: "calibration-" + t.target, cls: "calibration", title: `Calibration of the ${t.target} model on held-out months`,
      x: { min: 0, max: max, label: "predicted probability (mean in bin, %)", format: (v) => Math.round(v * 100) + "%" },
      y: { min: 0, max: max, label: "observed rate (% of accounts)", format: (v) => Math.round(v * 100) + "%" },
      series: [
        { points: [[0, 0], [max, max]], color: "#777", dash: "5 4", width: 1.2 },
        { points: pts, color: "#4e79a7", cls: "calibration",
          dots: bins.map((b) => ({ x: b.mean_predicted, y: b.observed_rate, r: 3 + 9 * Math.sqrt(b.count / maxCount),
            title: `${range(b)}: ${fmt.int(b.count)} rows, predicted ${fmt.pct(b.mean_predicted)}, observed ${fmt.pct(b.observed_rate)}` })) },
      ],
    });
  }

  function liftChart(t) {
    const lift = t.curves.lift;
    if (!lift.length) return el("p", { class: "muted", id: "lift-" + t.target }, "This bundle was trained before lift curves were recorded; retrain to see it. Top-decile lift: " + fmt.fixed(t.figures[0].top_decile_lift, 2) + "×.");
    const all = [lift].concat(t.curves.baseline_lift.map((b) => b[1]));
    const ymax = Math.max(2, Math.ceil(Math.max(...all.flat().map((p) => p.lift))));
    const toPts = (c) => c.map((p) => [p.fraction * 100, p.lift]);
    const series = [{ points: toPts(lift), color: "#4e79a7", cls: "lift", width: 2.5, dots: lift.map((p) => ({ x: p.fraction * 100, y: p.lift, r: 2.5, title: `top ${fmt.pct(p.fraction, 0)}: lift ${p.lift.toFixed(2)}×, ${fmt.pct(p.captured)} of all ${t.target === "churn" ? "churners" : "upgrades"}` })) }];
    t.curves.baseline_lift.forEach(([, c], i) => series.push({ points: toPts(c), color: ["#f28e2b", "#59a14f"][i % 2], dash: "6 4", width: 1.6 }));
    const d10 = lift.find((p) => Math.abs(p.fraction - 0.1) < 0.026) || lift[0];
    return xyChart({
      id: "lift-" + t.target, cls: "lift", title: `Lift of the ${t.target} model on held-out months`,
      x: { min: 0, max: 100, label: "accounts targeted, highest score first (% of accounts)", ticks: [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], format: (v) => v + "%" },
      y: { min: 0, max: ymax, label: "lift (× the base rate)", format: (v) => v + "×" },
      hlines: [{ y: 1, color: "#777" }],
      series: series,
      vlines: [{ x: d10.fraction * 100, color: "#9aa4b1", dash: "3 3", dot: d10.lift, label: `top ${fmt.pct(d10.fraction, 0)}: ${d10.lift.toFixed(2)}×` }],
    });
  }

  function liftNote(t) {
    const c = t.curves.lift;
    const p = c.find((x) => Math.abs(x.fraction - 0.2) < 0.026);
    if (!p) return "";
    return `Calling the top ${fmt.pct(p.fraction, 0)} of accounts by ${t.target} score reaches ${fmt.pct(p.captured, 0)} of all ${t.target === "churn" ? "churners" : "upgrades"} in the held-out months (${p.lift.toFixed(2)}× random).`;
  }

  // ---------- coefficients ----------
  const TOP = 15;
  app.appendChild(section("coefficients", "Coefficients",
    el("p", { class: "muted small" }, "Effect of one standard deviation more of each (transformed) feature on the log-odds, shipped models. exp(coefficient) is the factor on the odds. Strongest first."),
    el("div", { class: "grid2" }, D.targets.map((t) => {
      const holder = el("div", {});
      const colors = t.target === "churn" ? { pos: "#d9534f", neg: "#4e79a7" } : { pos: "#59a14f", neg: "#9aa4b1" };
      const draw = (n) => holder.replaceChildren(barChart(t.coefficients.slice(0, n).map(([f, v]) => ({ label: f, value: v, title: `${f}: ${v >= 0 ? "+" : ""}${v.toFixed(3)} log-odds per SD (odds × ${Math.exp(v).toFixed(2)})` })), {
        id: "coefficients-" + t.target, pos: colors.pos, neg: colors.neg, format: (v) => (Math.round(v * 100) / 100).toString().replace("-", "−"),
        valueFormat: (v) => fmt.signed(v, 2), xLabel: `change in log-odds of ${t.target} per standard deviation`,
      }));
      draw(TOP);
      let all = false;
      const btn = el("button", { class: "btn", type: "button" }, `Show all ${t.coefficients.length}`);
      btn.addEventListener("click", () => { all = !all; draw(all ? t.coefficients.length : TOP); btn.textContent = all ? `Show top ${TOP}` : `Show all ${t.coefficients.length}`; });
      return el("div", { class: "panel" }, el("h3", {}, `${t.target}: ${t.coefficients.length > TOP ? `top ${TOP} of ${t.coefficients.length} features` : "all features"}`),
        holder, legend([{ label: t.target === "churn" ? "raises churn risk" : "raises upgrade propensity", color: colors.pos }, { label: "lowers it", color: colors.neg }]),
        el("p", { class: "chart-note" }, `Intercept ${fmt.signed(t.intercept, 3)}; L2 penalty alpha ${t.alpha}${t.converged ? "" : " (fit did not converge)"}.`),
        t.coefficients.length > TOP ? btn : null);
    }))));

  // ---------- survival ----------
  const S = D.survival;
  const strats = S.stratifiers.slice().sort((a, b) => (a.name === S.queue_stratifier ? -1 : b.name === S.queue_stratifier ? 1 : 0));
  const allCurves = [S.overall.steps].concat(...strats.map((s) => s.levels));
  const XMAX = kmMaxDays(allCurves);
  const kmChart = (id, curves, bands, title) => xyChart({
    id: id, cls: "km-chart", title: title,
    x: { min: 0, max: XMAX, label: "days since the paid period began", ticks: dayTicks(XMAX, 9), format: fmt.int },
    y: { min: 0, max: 1, label: "still paying (% of accounts)", format: (v) => Math.round(v * 100) + "%" },
    series: curves.map((c) => kmSeries(c.c, c.color, bands ? { bandOpacity: curves.length > 1 ? 0.1 : 0.18 } : { band: null })),
  });
  const summaryTable = (levels) => table([
    { label: "level", get: (l) => l.level },
    { label: "accounts", cls: "num", get: (l) => fmt.int(l.summary && l.summary.n) },
    { label: "churned", cls: "num", get: (l) => fmt.int(l.summary && l.summary.churned) },
    { label: "median lifetime", cls: "num", get: (l) => (l.summary && l.summary.median_days !== null ? fmt.days(l.summary.median_days) : "not reached") },
  ].concat([90, 180, 365, 730].map((d, i) => ({ label: `S(${d} d)`, cls: "num", get: (l) => fmt.pct(l.summary && l.summary.survival_at[i] ? l.summary.survival_at[i][1] : null) }))), levels);
  const levelLabel = (l) => `${l.level} (${fmt.int(l.n)} periods${l.summary && l.summary.median_days !== null ? ", median " + fmt.days(l.summary.median_days) : ""})`;
  const overall = { level: "all accounts", summary: S.overall.summary, n: S.overall.steps.n };
  app.appendChild(section("survival", "Survival (Kaplan–Meier)",
    el("p", { class: "muted small" }, `A lifetime is one paid period, as a churn label sees it: from its first paid day to its churn date (a return after churning starts a new one), censored at ${D.data.end} while still paying, and a churn counts only once its grace days are seen. Accounts already paying when the data begins enter the risk sets at their tenure on that day (delayed entry), so years before the export are not counted as churn-free. The plan curves follow the plan an account is on each day. Shaded: pointwise 95% intervals. Each stratifier's log-rank test asks whether its levels share one curve; a small p-value says they do not.${S.queue_stratifier ? ` The queue reads each account's own curve off its ${S.queue_stratifier} curve (or the overall curve where fewer than 50 accounts of its ${S.queue_stratifier} are at risk over the 730 days ahead), with the hazard scaled so that its 90-day churn equals its churn risk.` : ""}`),
    survivalValidation(D.backtest.survival),
    el("div", { class: "grid2" },
      el("div", { class: "panel" }, el("h3", {}, "All accounts"),
        el("p", { class: "small" }, `${fmt.int(S.overall.steps.n)} paid periods (an account that came back after churning has several), ${fmt.int(S.overall.steps.churned)} ended in a churn by ${D.data.end}.`),
        kmChart("km-overall", [{ c: S.overall.steps, color: "#4e79a7" }], true, "Survival of all accounts"),
        legend([{ label: levelLabel(overall), color: "#4e79a7" }, { label: "95% interval", color: "#4e79a7", band: true }]),
        el("details", {}, el("summary", {}, "Figures"), summaryTable([overall]))),
      strats.map((s) => {
        const curves = s.levels.map((l, i) => ({ c: l, color: colorFor(i, l.level) }));
        const lr = s.log_rank;
        const test = lr ? `log-rank χ² = ${lr.statistic.toFixed(1)} on ${lr.dof} df, ${fmt.pvalue(lr.p_value)}` : "log-rank test not defined (one level)";
        const reading = lr ? (lr.p_value < 0.05 ? "the curves differ." : "no evidence the curves differ.") : "";
        return el("div", { class: "panel km-stratifier", "data-stratifier": s.name },
          el("h3", {}, `By ${s.name}`),
          el("p", { class: "small log-rank" }, `${test}: ${reading}`),
          kmChart("km-" + s.name, curves, s.levels.length <= 4, `Survival by ${s.name}`),
          legend(s.levels.map((l, i) => ({ label: levelLabel(l), color: colorFor(i, l.level) }))),
          el("details", {}, el("summary", {}, "Figures"), summaryTable(s.levels)));
      }))));

  // ---------- segments ----------
  const P = D.segments.profiles;
  app.appendChild(section("segments", "Segment profiles (RFM)",
    el("p", { class: "muted small" }, `k-means on standardized log recency, frequency (active days in 90) and monetary value (MRR) of the last training snapshot, k = ${D.segments.k}. Rates are what happened within ${H} days of that snapshot.`),
    el("div", { class: "tablewrap", style: "margin-bottom:16px" }, table([
        { label: "segment", get: (p) => p.name },
        { label: "accounts", cls: "num", get: (p) => fmt.int(p.size) },
        { label: "share", cls: "num", get: (p) => fmt.pct(p.share) },
        { label: "mean MRR", cls: "num", get: (p) => fmt.money(p.mean_mrr) },
        { label: "mean days since activity", cls: "num", get: (p) => fmt.fixed(p.mean_recency_days, 1) },
        { label: "mean active days (90 d)", cls: "num", get: (p) => fmt.fixed(p.mean_active_days_90d, 1) },
        { label: "churn rate", cls: "num", get: (p) => fmt.pct(p.churn_rate) },
        { label: "upgrade rate", cls: "num", get: (p) => fmt.pct(p.upgrade_rate) },
      ], P, { class: "plain", id: "segment-profiles" })),
    el("div", { class: "grid2" },
      el("div", { class: "panel" }, el("h3", {}, "Churn and upgrade rate by segment"),
        segmentChart(P),
        legend([{ label: `churn within ${H} days`, color: "#d9534f" }, { label: `upgrade within ${H} days`, color: "#59a14f" }])),
      el("div", { class: "panel" }, el("h3", {}, "How k was chosen"),
        el("p", { class: "small muted" }, "Mean silhouette of each candidate k on a sample of accounts (higher separates segments better); ties go to the smaller k."),
        table([
          { label: "k", cls: "num", get: (x) => String(x[0]) },
          { label: "mean silhouette", cls: "num", get: (x) => x[1].toFixed(3) },
          { label: "", get: (x) => (x[0] === D.segments.k ? "chosen" : "") },
        ], D.segments.k_selection)))));

  // Per-account survival on the held-out months: concordance and
  // calibration at 90 and 180 days, the queue's method against plan-only.
  function survivalValidation(V) {
    if (!V) return null;
    return el("div", { class: "panel", id: "survival-validation", style: "margin-bottom:16px" },
      el("h3", {}, "Per-account survival, held out"),
      el("p", { class: "small muted" }, `${fmt.int(V.rows)} held-out account-months followed to ${V.follow_up_end}, ${fmt.int(V.churns)} churns seen. Concordance: how often, of two accounts, the one that churned first had fewer expected days left (1 perfect, 0.5 chance; Harrell's C); the churn risk row ranks by the logistic score alone, for reference: the queue's days left should come close to it, the plan curve alone should not. Calibration: predicted churn within 90 and 180 days against what happened (Kaplan–Meier within score deciles, so accounts whose follow-up ended early still count).`),
      el("div", { class: "grid2" },
        table([
          { label: "method", get: (m) => m.method },
          { label: "concordance", cls: "num", get: (m) => fmt.fixed(m.concordance, 3) },
        ], V.concordance, { class: "plain", id: "survival-concordance" }),
        table([
          { label: "method", get: (c) => c.method },
          { label: "horizon", cls: "num", get: (c) => c.horizon_days + " d" },
          { label: "predicted churn", cls: "num", get: (c) => fmt.pct(c.calibration.mean_predicted) },
          { label: "observed", cls: "num", get: (c) => fmt.pct(c.calibration.observed) },
          { label: "ECE", cls: "num", get: (c) => fmt.fixed(c.calibration.ece, 3) },
        ], V.calibration, { class: "plain", id: "survival-calibration" })));
  }

  function segmentChart(P) {
    const W = 620, rowH = 40, m = { top: 8, right: 60, bottom: 48, left: 150 };
    const Hh = m.top + m.bottom + P.length * rowH, pw = W - m.left - m.right;
    const max = Math.max(0.05, ...P.map((p) => Math.max(p.churn_rate || 0, p.upgrade_rate || 0)));
    const ticks = niceTicks(0, max * 1.1, 5), top = ticks[ticks.length - 1];
    const sx = (v) => m.left + (v / top) * pw;
    const root = sv("svg", { class: "chart", id: "segment-rates", viewBox: `0 0 ${W} ${Hh}`, role: "img", "aria-label": "Churn and upgrade rate by segment" });
    const g = sv("g", { class: "grid" }), a = sv("g", { class: "axis" });
    for (const t of ticks) {
      g.appendChild(sv("line", { x1: sx(t), x2: sx(t), y1: m.top, y2: Hh - m.bottom }));
      a.appendChild(sv("text", { x: sx(t), y: Hh - m.bottom + 16, "text-anchor": "middle" }, Math.round(t * 100) + "%"));
    }
    root.appendChild(g); root.appendChild(a);
    P.forEach((p, i) => {
      const y = m.top + i * rowH;
      root.appendChild(sv("text", { x: m.left - 8, y: y + 23, "text-anchor": "end" }, p.name));
      // Bars 13 px high, 17 px apart: their value labels (12 px text) never touch.
      [[p.churn_rate, "#d9534f", 4], [p.upgrade_rate, "#59a14f", 21]].forEach(([v, col, dy]) => {
        if (v === null) return;
        root.appendChild(sv("rect", { x: m.left, y: y + dy, width: Math.max(1, sx(v) - m.left), height: 13, fill: col }));
        root.appendChild(sv("text", { x: sx(v) + 4, y: y + dy + 11 }, fmt.pct(v)));
      });
    });
    root.appendChild(sv("text", { class: "axis-label", x: m.left + pw / 2, y: Hh - 8, "text-anchor": "middle" }, `accounts that churned or upgraded within ${H} days (%)`));
    return root;
  }

  // ---------- details ----------
  app.appendChild(section("details", "Details",
    el("div", { class: "grid2" },
      el("div", { class: "panel" }, el("h3", {}, "Data"),
        table([
          { label: "table", get: (s) => s.table },
          { label: "file", get: (s) => s.file },
          { label: "rows", cls: "num", get: (s) => fmt.int(s.rows) },
          { label: "rows for unknown accounts (skipped)", cls: "num", get: (s) => fmt.int(s.skipped_unknown_account) },
        ], D.data.sources)),
      el("div", { class: "panel" }, el("h3", {}, "Regularization search (held-out log loss on the latest training quarter)"),
        D.targets.map((t) => [el("p", { class: "small", style: "margin-top:6px" }, `${t.target}: chosen alpha ${t.alpha}`),
          table([
            { label: "alpha", cls: "num", get: (a) => String(a.alpha) },
            { label: "log loss", cls: "num", get: (a) => a.tuning_log_loss.toFixed(5) },
            { label: "converged", get: (a) => (a.converged ? "yes" : "no") },
          ], t.alpha_search)]),
        el("p", { class: "small muted", style: "margin-top:8px" }, `Seed ${D.settings.seed}; propensity fits use at most ${fmt.int(D.settings.max_fit_rows)} account-months; ${D.settings.holdout_months} held-out months; embargo ${D.backtest.embargo_days} days.`)))));

  // ---------- comparison ----------
  function compareSection(C) {
    const fmtVal = (d, v) => {
      if (v === null) return "–";
      if (/rate/.test(d.name)) return fmt.pct(v, 2);
      if (/accounts|months|days/.test(d.name)) return fmt.int(v);
      if (/lift/.test(d.name)) return v.toFixed(2) + "×";
      return v.toFixed(4);
    };
    const fmtDelta = (d) => {
      if (d.delta === null) return "–";
      if (/rate/.test(d.name)) return fmt.signed(d.delta * 100, 2) + " pt";
      if (/accounts|months|days/.test(d.name)) return (d.delta > 0 ? "+" : d.delta < 0 ? "−" : "±") + fmt.int(Math.abs(d.delta));
      if (/lift/.test(d.name)) return fmt.signed(d.delta, 2) + "×";
      return fmt.signed(d.delta, 4);
    };
    const words = { better: "better", worse: "worse", same: "about the same", changed: "changed", missing: "not in both" };
    const figs = table([
      { label: "what", get: (d) => d.group },
      { label: "figure", get: (d) => d.name },
      { label: "before", cls: "num", title: "bundle " + C.old.bundle_id, get: (d) => fmtVal(d, d.old) },
      { label: "now", cls: "num", title: "bundle " + D.bundle.id, get: (d) => fmtVal(d, d.new) },
      { label: "change", cls: "num", get: (d) => fmtDelta(d) },
      { label: "verdict", get: (d) => el("span", { class: "verdict verdict-" + d.verdict }, words[d.verdict]) },
    ], C.figures, { class: "plain", id: "compare-figures" });
    // Color the whole verdict cell.
    for (const span of figs.querySelectorAll("span.verdict")) span.parentElement.classList.add(span.classList[1]);
    const betterN = C.figures.filter((d) => d.verdict === "better").length, worseN = C.figures.filter((d) => d.verdict === "worse").length;
    const coefTable = (list) => table([
      { label: "model", get: (c) => c.target },
      { label: "feature", get: (c) => c.feature },
      { label: "before", cls: "num", get: (c) => (c.old === null ? "absent" : fmt.signed(c.old, 3)) },
      { label: "now", cls: "num", get: (c) => (c.new === null ? "absent" : fmt.signed(c.new, 3)) },
      { label: "change", cls: "num", get: (c) => (c.delta === null ? "added or removed" : fmt.signed(c.delta, 3)) },
    ], list, { class: "plain compare-coefficients" });
    const moved = C.coefficients.filter((c) => c.delta === null || Math.abs(c.delta) >= 0.0005);
    return section("compare", `What changed since bundle ${C.old.bundle_id}`,
      el("p", { class: "muted small" }, `Before: bundle ${C.old.bundle_id}, trained ${C.old.created_at} with ebbflow ${C.old.ebbflow_version} on data ${C.old.first_day} to ${C.old.last_day}. Validation figures are better or worse by more than 0.001 (lift: 0.01); base rates and counts have no better direction.`),
      C.notes.length ? el("div", { class: "notes", id: "compare-notes" }, C.notes.map((n) => el("p", {}, n))) : null,
      el("p", { id: "compare-summary" }, el("b", {}, `${betterN} validation figure${betterN === 1 ? "" : "s"} better, ${worseN} worse`),
        `, ${C.figures.filter((d) => d.better && d.verdict === "same").length} about the same.`),
      el("div", { class: "tablewrap" }, figs),
      el("div", { class: "grid2", style: "margin-top:16px" },
        el("div", {}, el("h3", {}, "Segment sizes"),
          el("div", { class: "tablewrap" }, table([
            { label: "segment", get: (s) => s.name },
            { label: "accounts before", cls: "num", get: (s) => fmt.int(s.old_size) },
            { label: "now", cls: "num", get: (s) => fmt.int(s.new_size) },
            { label: "share before", cls: "num", get: (s) => fmt.pct(s.old_share) },
            { label: "now", cls: "num", get: (s) => fmt.pct(s.new_share) },
            { label: "churn rate before", cls: "num", get: (s) => fmt.pct(s.old_churn_rate) },
            { label: "now", cls: "num", get: (s) => fmt.pct(s.new_churn_rate) },
          ], C.segments, { class: "plain", id: "compare-segments" }))),
        el("div", {}, el("h3", {}, "Coefficients that moved most"),
          moved.length ? [el("div", { class: "tablewrap" }, coefTable(moved.slice(0, 10))),
            moved.length > 10 ? el("details", {}, el("summary", {}, `All ${moved.length} changed coefficients`), coefTable(moved)) : null]
            : el("p", { class: "muted" }, "No coefficient changed."))));
  }
})();
