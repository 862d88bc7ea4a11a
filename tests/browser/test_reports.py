"""The HTML reports in a real browser: what a success manager sees.

Each page is opened from disk (file://) in headless chromium at laptop
width. The tests drive the page like a person (filters, sort, search, a
click on an account) and check the DOM against the queue file the same
run wrote; they also fail on any script error, any request the page
makes, sideways scrolling at 1366 px and overlapping chart text.
Screenshots go to target/screenshots/.
"""

import json
import math
import re
import time

from conftest import LAPTOP, SHOTS, read_queue

# Text boxes of SVG charts that overlap by more than a pixel each way.
OVERLAPS_JS = """
() => {
  const out = [];
  for (const svg of document.querySelectorAll("svg.chart")) {
    const boxes = [...svg.querySelectorAll("text")]
      .map((t) => ({ t: t.textContent, r: t.getBoundingClientRect() }))
      .filter((b) => b.r.width > 0 && b.r.height > 0);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i].r, b = boxes[j].r;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1) out.push([svg.id || svg.getAttribute("aria-label"), boxes[i].t, boxes[j].t]);
      }
    }
  }
  return out;
}
"""

# Charts whose axes carry no label.
UNLABELED_JS = """
() => [...document.querySelectorAll("svg.chart")]
  .filter((s) => ![...s.querySelectorAll("text.axis-label")].some((t) => t.textContent.trim().length > 3))
  .map((s) => s.id)
"""


def path_points(d):
    """The vertices of an SVG path of absolute M, L, H and V commands (what
    the charts draw), as (x, y) pairs in drawing order."""
    points, x, y = [], 0.0, 0.0
    for cmd, args in re.findall(r"([MLHVZ])([^MLHVZ]*)", d):
        nums = [float(v) for v in re.split(r"[ ,]+", args.strip()) if v]
        if cmd in "ML":
            x, y = nums[0], nums[1]
        elif cmd == "H":
            x = nums[0]
        elif cmd == "V":
            y = nums[0]
        else:
            continue
        points.append((x, y))
    return points


def ys_at(points, x, tol=0.6):
    """Every y a polyline takes at x: on a vertical step at x, both ends."""
    ys = []
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if min(x0, x1) - tol <= x <= max(x0, x1) + tol:
            if abs(x1 - x0) <= tol:
                ys += [y0, y1]
            else:
                ys.append(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    return ys


def y_scale(chart):
    """data value -> pixel y of a chart, from its y-axis tick labels ("80%")."""
    ticks = chart.locator("g.axis text[text-anchor=end]").evaluate_all(
        "ts => ts.map(t => [t.textContent, +t.getAttribute('y')])")
    (v0, p0), (v1, p1) = [(float(t.rstrip("%")) / 100, p - 4) for t, p in (ticks[0], ticks[-1])]
    return lambda v: p0 + (v - v0) * (p1 - p0) / (v1 - v0)


def status(page):
    """(matching, total, shown) as the queue page states them."""
    s = page.locator("#queue-status")
    return int(s.get_attribute("data-matching")), int(s.get_attribute("data-total")), int(s.get_attribute("data-shown"))


def body_rows(page):
    return page.locator("#queue-table tbody tr[data-account]")


def no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= LAPTOP["width"], f"page is {width}px wide at {LAPTOP['width']}px"


def wait_matching(page, n):
    """Waits until the queue page reports `n` matching accounts. A function,
    not an expression: the page's CSP forbids eval, which Playwright would
    use to run an expression string."""
    page.wait_for_function("(n) => document.querySelector('#queue-status').dataset.matching === n", arg=str(n))


def scroll_to(page, section):
    """Scrolls a section's top to the top of the window, for a screenshot."""
    page.evaluate("(id) => document.getElementById(id).scrollIntoView()", section)


def money(text):
    return float(text.replace(",", ""))


def js_round(x):
    """Math.round: halves go up (Python's round goes to even)."""
    return math.floor(x + 0.5)


def test_queue_page_filters_sorts_searches_and_shows_an_account(score_out, open_page, shots):
    queue = read_queue(score_out / "queue.csv")
    p = open_page(score_out / "report.html")
    page = p.page
    page.wait_for_selector("#queue-table tbody tr")

    # Every account is there; one page of 100 rows is drawn, in rank order.
    matching, total, shown = status(page)
    assert (matching, total) == (len(queue), len(queue))
    assert shown == min(100, len(queue)) == body_rows(page).count()
    ids = body_rows(page).evaluate_all("rs => rs.map(r => r.dataset.account)")
    assert ids == [r["account_id"] for r in queue[:shown]]
    assert page.locator("#match-count").inner_text() == f"{len(queue):,}"

    # Totals match the queue file.
    tiers = page.locator("#tier-counts")
    for t in ("high", "medium", "low"):
        assert int(tiers.get_attribute(f"data-{t}")) == sum(r["risk_tier"] == t for r in queue)
    arr = int(page.locator("#total-arr-at-risk").get_attribute("data-value"))
    exact = sum(float(r["arr_at_risk"]) for r in queue)
    assert abs(arr - exact) <= len(queue) * 0.5 + 1, (arr, exact)
    assert page.locator("#segment-summary tbody tr").count() >= 3
    assert page.locator("#drift-warnings").count() == 1
    no_sideways_scroll(page)
    assert page.evaluate(OVERLAPS_JS) == []
    page.screenshot(path=str(shots / "score-overview.png"))

    # Filter: churn tier high narrows to exactly the high rows of the file.
    page.select_option("#f-tier", label="high")
    high = [r for r in queue if r["risk_tier"] == "high"]
    matching, total, shown = status(page)
    assert 0 < matching < total and matching == len(high)
    tier_cells = body_rows(page).evaluate_all("rs => rs.map(r => r.querySelector('.pill').textContent)")
    assert set(tier_cells) == {"high"}

    # And an owner on top: the intersection, as in the file.
    owner = high[0]["owner"]
    page.select_option("#f-owner", label=owner)
    both = [r for r in high if r["owner"] == owner]
    assert status(page)[0] == len(both) > 0

    # Sort by MRR: highest first, then lowest first on a second click.
    page.click("#reset")
    assert status(page)[0] == len(queue)
    mrr_col = page.locator("#queue-table thead th").evaluate_all("ths => ths.findIndex(t => t.dataset.key === 'mrr')") + 1
    mrr_cells = lambda: [money(t) for t in page.locator(f"#queue-table tbody tr td:nth-child({mrr_col})").all_inner_texts()]
    page.click("th[data-key=mrr]")
    assert page.locator("th[data-key=mrr]").get_attribute("aria-sort") == "descending"
    desc = mrr_cells()
    assert desc == sorted(desc, reverse=True)
    assert desc[0] == js_round(max(float(r["mrr"]) for r in queue))
    page.click("th[data-key=mrr]")
    asc = mrr_cells()
    assert asc == sorted(asc) and asc[0] == js_round(min(float(r["mrr"]) for r in queue))
    # Paging keeps the order across pages.
    page.click("#next-page")
    assert mrr_cells()[0] >= asc[-1]
    page.click("th[data-key=rank]")

    # Search by account id finds exactly that account.
    target = queue[36]
    page.fill("#search", target["account_id"])
    wait_matching(page, 1)
    assert body_rows(page).first.get_attribute("data-account") == target["account_id"]
    # By part of a name, case-insensitively: the accounts whose id, name or owner contain it.
    word = target["name"].split()[0].lower()
    page.fill("#search", word)
    expect = sum(word in (r["account_id"] + "\x01" + r["name"] + "\x01" + r["owner"]).lower() for r in queue)
    wait_matching(page, expect)
    page.fill("#search", "")
    wait_matching(page, len(queue))

    # A click on an account shows its drivers and its survival curve with
    # the 95% band and today's tenure marked.
    row = queue[1]
    page.click(f"#queue-table tbody tr[data-account='{row['account_id']}']")
    panel = page.locator("#account-panel")
    assert panel.is_visible()
    assert page.locator("#account-title").inner_text() == row["name"]
    drivers = panel.locator("ul.drivers").first.locator("li").all_inner_texts()
    assert "; ".join(drivers) == row["churn_drivers"]
    chart = page.locator("#account-survival")
    assert chart.locator("path.km-line").count() == 1
    assert chart.locator("path.km-band").count() == 1
    assert chart.locator("line.tenure-marker").count() == 1
    assert chart.locator("circle.tenure-marker-dot").count() == 1
    assert len(chart.locator("path.km-line").get_attribute("d")) > 200, "a step curve, not a stub"
    labels = chart.locator("text.axis-label").all_text_contents()
    assert any("days" in t for t in labels) and any("%" in t for t in labels)
    # The marker sits at the account's tenure on the x axis.
    tenure = int(page.locator("#account-tenure").inner_text().split()[0].replace(",", ""))
    assert f"day {tenure:,}" in chart.text_content()
    # Its own curve (dashed) branches off the reference curve at the tenure
    # marker: its first point is the marker's dot, which lies on the
    # reference curve; 90 days on it has fallen by the factor survival_90d.
    own = chart.locator("path.account-curve-line")
    assert own.count() == 1, "the account's own curve is drawn"
    assert own.get_attribute("stroke-dasharray")
    first = path_points(own.get_attribute("d"))[0]
    marker_x = float(chart.locator("line.tenure-marker").get_attribute("x1"))
    dot_y = float(chart.locator("circle.tenure-marker-dot").get_attribute("cy"))
    assert abs(first[0] - marker_x) < 0.6 and abs(first[1] - dot_y) < 0.6, (first, marker_x, dot_y)
    reference = ys_at(path_points(chart.locator("path.km-line").get_attribute("d")), marker_x)
    assert reference and min(reference) - 0.6 <= dot_y <= max(reference) + 0.6, (dot_y, reference)
    sy = y_scale(chart)
    s_today = 0.0 + (dot_y - sy(0.0)) / (sy(1.0) - sy(0.0))
    px_per_day = (marker_x - float(chart.locator("g.axis text[text-anchor=middle]").first.get_attribute("x"))) / tenure if tenure else None
    if px_per_day:
        after = ys_at(path_points(own.get_attribute("d")), marker_x + 90 * px_per_day)
        want = sy(s_today * float(row["survival_90d"]))
        assert after and min(abs(y - want) for y in after) < 1.5, (after, want)
    legend_items = panel.locator(".chart-legend span:not(.sw)").all_inner_texts()
    assert any("this account" in t for t in legend_items), legend_items
    # Drawn over the 730 days expected_days_remaining covers, not to the chart's edge.
    own_end = max(x for x, _ in path_points(own.get_attribute("d")))
    assert own_end <= marker_x + 730 * px_per_day + 0.6, (own_end, marker_x)

    # An account whose plan curve has no churn in its next 90 days (hazard
    # ratio null in the page data) gets the constant-hazard curve, from the
    # same point.
    data = json.loads(page.locator("#report-data").text_content())
    theta, ident = data["fields"].index("hazard_ratio"), data["fields"].index("account_id")
    constant = [r[ident] for r in data["rows"] if r[theta] is None]
    if constant:
        page.keyboard.press("Escape")
        page.fill("#search", constant[0])
        wait_matching(page, 1)
        page.click("#queue-table tbody tr")
        own = chart.locator("path.account-curve-line")
        first = path_points(own.get_attribute("d"))[0]
        marker_x = float(chart.locator("line.tenure-marker").get_attribute("x1"))
        dot_y = float(chart.locator("circle.tenure-marker-dot").get_attribute("cy"))
        assert abs(first[0] - marker_x) < 0.6 and abs(first[1] - dot_y) < 0.6, (first, marker_x, dot_y)
        assert "constant hazard" in panel.locator(".chart-note").inner_text()
        assert page.evaluate(OVERLAPS_JS) == []
        page.keyboard.press("Escape")
        page.fill("#search", "")
        wait_matching(page, len(queue))
        page.click(f"#queue-table tbody tr[data-account='{row['account_id']}']")
    no_sideways_scroll(page)
    assert page.evaluate(OVERLAPS_JS) == []
    assert page.evaluate(UNLABELED_JS) == []
    page.screenshot(path=str(shots / "score-account.png"))
    page.keyboard.press("Escape")
    assert not panel.is_visible()

    scroll_to(page, "model")
    page.screenshot(path=str(shots / "score-model-and-drift.png"), full_page=False)
    p.check_clean()


def test_model_page_shows_validation_calibration_lift_survival_and_changes(train_out, open_page, shots):
    bundle = json.loads((train_out / "bundle.json").read_text())
    p = open_page(train_out / "report.html")
    page = p.page
    page.wait_for_selector("#calibration-churn")

    no_sideways_scroll(page)
    page.screenshot(path=str(shots / "train-overview.png"))
    for t in ("churn", "upgrade"):
        assert page.locator(f"#figures-{t} table tbody tr").count() >= 3
        assert page.locator(f"#calibration-{t} circle").count() == len(bundle[t]["holdout"]["calibration"])
        assert page.locator(f"#lift-{t} path.lift-line").count() == 1
        assert page.locator(f"#coefficients-{t} rect.bar").count() == 15
    # "Show all" draws every coefficient.
    page.locator("#coefficients button").first.click()
    assert page.locator("#coefficients-churn rect.bar").count() == len(bundle["churn"]["model"]["coefficients"])

    # One KM chart per stratifier, a line per level, with its log-rank p-value.
    strata = bundle["survival"]["strata"]
    for name, test in bundle["survival"]["log_rank"]:
        panel = page.locator(f".km-stratifier[data-stratifier='{name}']")
        levels = sum(s["stratifier"] == name for s in strata)
        assert panel.locator("path.km-line").count() == levels, name
        assert "log-rank" in panel.locator("p.log-rank").inner_text()
        assert "p " in panel.locator("p.log-rank").inner_text()
    assert page.locator("#km-overall path.km-band").count() == 1

    # Per-account survival, held out: concordance and calibration with numbers, as in the bundle.
    validation = bundle["backtest"]["survival"]
    panel = page.locator("#survival-validation")
    assert panel.is_visible()
    assert f"{validation['churns']:,} churns" in panel.inner_text()
    rows = page.locator("#survival-concordance tbody tr")
    assert rows.count() == len(validation["concordance"])
    for i, c in enumerate(validation["concordance"]):
        assert rows.nth(i).locator("td").nth(1).inner_text() == f"{c['concordance']:.3f}"
    rows = page.locator("#survival-calibration tbody tr")
    assert rows.count() == len(validation["calibration"])
    for i, c in enumerate(validation["calibration"]):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[1] == f"{c['horizon_days']} d" and cells[-1] == f"{c['calibration']['ece']:.3f}", cells
        assert all(re.fullmatch(r"\d+\.\d%", t) for t in cells[2:4]), cells
    assert page.locator("#segment-profiles tbody tr").count() == len(bundle["segments"]["profiles"])

    # The comparison with models/demo: 12 months of history is another model.
    assert page.locator("#compare-figures tbody tr").count() >= 10
    verdicts = page.locator("#compare-figures td.verdict-better, #compare-figures td.verdict-worse").count()
    assert verdicts >= 1, "a different model is better or worse somewhere"
    assert "better" in page.locator("#compare-summary").inner_text()

    no_sideways_scroll(page)
    assert page.evaluate(OVERLAPS_JS) == []
    assert page.evaluate(UNLABELED_JS) == []
    scroll_to(page, "compare")
    page.screenshot(path=str(shots / "train-compare.png"))
    scroll_to(page, "calibration")
    page.screenshot(path=str(shots / "train-calibration-lift.png"))
    scroll_to(page, "survival")
    page.screenshot(path=str(shots / "train-survival.png"))
    page.screenshot(path=str(shots / "train-full.png"), full_page=True)
    p.check_clean()


def test_fifty_thousand_accounts_load_and_filter_in_reasonable_time(big_out, open_page, shots):
    queue = read_queue(big_out / "queue.csv")
    assert len(queue) >= 45_000, len(queue)
    size = (big_out / "report.html").stat().st_size
    t0 = time.monotonic()
    p = open_page(big_out / "report.html")
    page = p.page
    page.wait_for_selector("#queue-table tbody tr")
    load_s = time.monotonic() - t0
    assert status(page)[:2] == (len(queue), len(queue))
    assert body_rows(page).count() == 100, "one page of rows, never the whole queue"

    # Filter and sort run synchronously in the change/click handlers, so
    # the time around them covers filtering, sorting and drawing the rows.
    filter_ms = page.evaluate("""() => {
      const s = document.querySelector('#f-tier'); const t0 = performance.now();
      s.value = '0'; s.dispatchEvent(new Event('change')); return performance.now() - t0; }""")
    assert status(page)[0] == sum(r["risk_tier"] == "high" for r in queue)
    sort_ms = page.evaluate("""() => {
      const t0 = performance.now(); document.querySelector('th[data-key=arr]').click();
      document.querySelector('th[data-key=arr]').click(); return performance.now() - t0; }""")
    page.click("#reset")
    t1 = time.monotonic()
    page.fill("#search", queue[12_345]["account_id"])
    wait_matching(page, 1)
    search_s = time.monotonic() - t1  # includes the 120 ms typing debounce
    page.click("#queue-table tbody tr")
    assert page.locator("#account-survival line.tenure-marker").count() == 1
    page.screenshot(path=str(shots / "score-50k.png"))
    p.check_clean()

    figures = {"rows": len(queue), "report_bytes": size, "load_s": round(load_s, 2),
               "filter_ms": round(filter_ms), "sort_twice_ms": round(sort_ms), "search_s": round(search_s, 2)}
    (SHOTS / "timings-50k.json").write_text(json.dumps(figures, indent=2) + "\n")
    print("\n50k queue:", figures)
    # Sane bounds for a shared 2-core CI machine; typical figures are far lower.
    assert load_s < 15, figures
    assert filter_ms < 2000 and sort_ms < 4000 and search_s < 3, figures


def test_moved_since_lists_who_moved_and_filters_by_movement(moved_out, score_out, open_page, shots):
    before_dir, out = moved_out
    before = {r["account_id"]: r for r in read_queue(before_dir / "queue.csv")}
    queue = read_queue(out / "queue.csv")
    now = {r["account_id"]: r for r in queue}
    p = open_page(out / "report.html")
    page = p.page
    page.wait_for_selector("#queue-table tbody tr")
    moved = page.locator("#moved")
    assert moved.locator("h2").inner_text() == "Moved since 2025-11-30"

    # Each list's count is re-derived from the two queue files.
    order = {"low": 0, "medium": 1, "high": 2}
    newly_high = [r for r in queue if r["risk_tier"] == "high"
                  and (r["account_id"] not in before or order[before[r["account_id"]]["risk_tier"]] < 2)]
    risers = [r for r in queue if r["account_id"] in before
              and float(r["churn_risk"]) > float(before[r["account_id"]]["churn_risk"])]
    left = [i for i in before if i not in now]
    for panel, want in (("moved-high", newly_high), ("moved-risers", risers), ("moved-left", left)):
        box = page.locator(f"#{panel}")
        assert int(box.get_attribute("data-total")) == len(want) > 0, panel
        assert box.locator("tbody tr").count() == min(10, len(want)), panel
    # The newly-high list is the top of the queue among them, and every
    # account it names was below high (or absent) on 2025-11-30.
    names = page.locator("#moved-high tbody tr td:first-child .id").all_inner_texts()
    assert names == [r["account_id"] for r in newly_high[:10]]
    for i in page.locator("#moved-left tbody tr td:first-child .id").all_inner_texts():
        assert i in before and i not in now
    # The biggest riser first: its change in points as the file gives it.
    top = max(risers, key=lambda r: float(r["churn_risk"]) - float(before[r["account_id"]]["churn_risk"]))
    first = page.locator("#moved-risers tbody tr").first
    assert first.locator(".id").inner_text() == top["account_id"]
    rise = (float(top["churn_risk"]) - float(before[top["account_id"]]["churn_risk"])) * 100
    assert first.locator("td").last.inner_text() == f"+{rise:.1f} pts"
    no_sideways_scroll(page)
    scroll_to(page, "moved")
    page.screenshot(path=str(shots / "score-moved.png"))

    # The movement filter narrows the table to exactly those rows of the file.
    for m in ("up", "down", "new", "same"):
        page.select_option("#f-movement", label=m)
        want = [r for r in queue if r["movement"] == m]
        wait_matching(page, len(want))
        shown = body_rows(page).evaluate_all("rs => rs.map(r => r.dataset.account)")
        assert shown == [r["account_id"] for r in want[:100]], m
    # An account that moved up says so in its panel, from its own values.
    page.select_option("#f-movement", label="up")
    scroll_to(page, "queue")
    page.screenshot(path=str(shots / "score-moved-up.png"))
    body_rows(page).first.click()
    r = now[body_rows(page).first.get_attribute("data-account")]
    said = page.locator("#account-moved").inner_text()
    pct = lambda x: f"{float(x) * 100:.1f}%"
    assert said.startswith(f"{r['prev_risk_tier']} → {r['risk_tier']}; churn risk {pct(r['prev_churn_risk'])} → {pct(r['churn_risk'])}"), said
    no_sideways_scroll(page)
    p.check_clean()

    # A first run says there is nothing to compare with, and has no such filter.
    first_run = open_page(score_out / "report.html").page
    first_run.wait_for_selector("#queue-table tbody tr")
    assert "No earlier run to compare with" in first_run.locator("#moved-none").inner_text()
    assert first_run.locator("#f-movement").count() == 0


def test_every_page_loads_without_script_errors(score_out, train_out, open_page):
    for path in (score_out / "report.html", train_out / "report.html"):
        p = open_page(path)
        p.page.wait_for_selector("#app > *")
        p.check_clean()


def test_a_bundle_without_a_churn_model_says_so_on_both_pages(no_churn_out, open_page, shots):
    model, out = no_churn_out
    bundle = json.loads((model / "bundle.json").read_text())
    assert bundle["churn"] is None and [s["target"] for s in bundle["skipped"]] == ["churn"]
    queue = read_queue(out / "queue.csv")
    assert all(r["churn_risk"] == "" for r in queue)

    p = open_page(out / "report.html")
    page = p.page
    page.wait_for_selector("#queue-table tbody tr")
    assert status(page)[:2] == (len(queue), len(queue))
    # The note under the title says why, before anyone reads an empty column.
    note = page.locator("header .skipped-model")
    assert note.count() == 1 and note.is_visible()
    assert "No churn model" in note.inner_text() and bundle["skipped"][0]["reason"] in note.inner_text()
    churn_col = page.locator("#queue-table thead th").evaluate_all("ths => ths.findIndex(t => t.dataset.key === 'churn')") + 1
    assert set(page.locator(f"#queue-table tbody tr td:nth-child({churn_col})").all_inner_texts()) == {"–"}
    assert page.locator("#total-arr-at-risk").inner_text() == "–"
    arr_col = page.locator("#queue-table thead th").evaluate_all("ths => ths.findIndex(t => t.dataset.key === 'arr')") + 1
    assert set(page.locator(f"#queue-table tbody tr td:nth-child({arr_col})").all_inner_texts()) == {"–"}
    assert set(page.locator("#segment-summary tbody tr td:nth-child(4)").all_inner_texts()) == {"–"}
    no_sideways_scroll(page)
    assert page.evaluate(OVERLAPS_JS) == []
    page.screenshot(path=str(shots / "no-churn-overview.png"))

    # An account reads on its plan curve as it is: no curve of its own.
    row = queue[0]
    page.click(f"#queue-table tbody tr[data-account='{row['account_id']}']")
    chart = page.locator("#account-survival")
    assert chart.locator("path.km-line").count() == 1
    assert chart.locator("line.tenure-marker").count() == 1
    assert chart.locator("path.account-curve-line").count() == 0
    assert "Without a churn model" in page.locator("#account-panel .chart-note").inner_text()
    assert "No churn model" in page.locator("#account-panel").inner_text()
    assert page.evaluate(OVERLAPS_JS) == []
    page.screenshot(path=str(shots / "no-churn-account.png"))
    p.check_clean()

    m = open_page(model / "report.html")
    m.page.wait_for_selector("#survival-validation")
    assert m.page.locator("#validation .skipped-model").count() == 1
    assert "No churn model" in m.page.locator("#validation .skipped-model").inner_text()
    assert m.page.locator("#figures-upgrade table tbody tr").count() >= 2
    assert m.page.locator("#figures-churn").count() == 0
    no_sideways_scroll(m.page)
    assert m.page.evaluate(OVERLAPS_JS) == []
    m.check_clean()
