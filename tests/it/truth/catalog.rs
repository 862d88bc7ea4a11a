//! The sentence catalog: which pattern a driver sentence follows and whether
//! what it says is true of the account's raw facts (`raw::Facts`). Knows
//! nothing of the writer; a sentence that follows no pattern (or today's
//! retired phrasings) is unknown, never accepted.

use super::raw::{ymd, Facts};

/// What the checker makes of one sentence.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    True,
    /// False, with what the raw tables say.
    False(String),
    /// Follows no catalog pattern (or more than one), with why.
    Unknown(String),
}

/// A pattern's place in the catalog (0 for unknown sentences) and its name
/// in reports. Categorical and missing-value sentences are named by their
/// own text ("segment is Enterprise"), so each defect is counted apart.
pub type Key = (u8, String);

/// The judgement on one sentence.
pub fn judge(sentence: &str, f: &Facts) -> (Key, Verdict) {
    if let Some(note) = old_phrasing(sentence) {
        return (
            (0, format!("old phrasing: {note}")),
            Verdict::Unknown(format!("today's phrasing, not in the catalog ({note})")),
        );
    }
    let mut hits: Vec<(Key, Verdict)> = PATTERNS.iter().filter_map(|p| p(sentence, f)).collect();
    match hits.len() {
        0 => match regrouped(sentence) {
            // A catalog sentence but for its number format: unknown still,
            // saying whether it would be true once formatted.
            Some(fixed) if PATTERNS.iter().any(|p| p(&fixed, f).is_some()) => {
                let (_, v) = judge(&fixed, f);
                (
                    (0, "number without thousands separators".to_string()),
                    Verdict::Unknown(format!("the catalog prints {fixed:?}, which is {v:?}")),
                )
            }
            _ => (
                (0, "not in the catalog".to_string()),
                Verdict::Unknown("follows no catalog pattern".to_string()),
            ),
        },
        1 => hits.pop().unwrap(),
        _ => {
            let names: Vec<String> = hits.iter().map(|((_, k), _)| k.clone()).collect();
            (
                (0, "ambiguous".to_string()),
                Verdict::Unknown(format!(
                    "matches {} patterns: {}",
                    names.len(),
                    names.join(" | ")
                )),
            )
        }
    }
}

/// The sentence with every whole number of 4 or more digits grouped by
/// thousands (`1024 seats` -> `1,024 seats`); `None` when there is none.
fn regrouped(t: &str) -> Option<String> {
    let mut out = String::with_capacity(t.len() + 4);
    let mut changed = false;
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            out.push(t[i..].chars().next().unwrap());
            i += t[i..].chars().next().unwrap().len_utf8();
            continue;
        }
        let digits = &t[start..i];
        let part_of_other = (start > 0 && matches!(b[start - 1], b'.' | b','))
            || (i < b.len() && matches!(b[i], b'.' | b','));
        if digits.len() >= 4 && !part_of_other {
            changed = true;
            for (k, c) in digits.chars().enumerate() {
                if k > 0 && (digits.len() - k) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
        } else {
            out.push_str(digits);
        }
    }
    changed.then_some(out)
}

/// Today's writer's phrasings that the catalog replaces.
fn old_phrasing(t: &str) -> Option<&'static str> {
    if t.ends_with(" outside the common ones") {
        return Some("<attr> outside the common ones");
    }
    if let Some(r) = t
        .strip_prefix("events up 0% vs prior 30 days (")
        .and_then(|r| r.strip_suffix(')'))
    {
        if r.split_once(" vs ").is_some_and(|(a, b)| a == b) {
            return Some("events up 0% for equal windows (catalog: events flat)");
        }
    }
    if t.starts_with("seat utilization ") {
        return Some("seat utilization P%");
    }
    if t.ends_with(" unknown") && t != "seat count unknown" {
        return Some("<feature> unknown");
    }
    None
}

type Pattern = fn(&str, &Facts) -> Option<(Key, Verdict)>;

const PATTERNS: &[Pattern] = &[
    events_trend,
    events_flat,
    events_none,
    events_new,
    active_today,
    no_activity,
    active_days,
    active_users,
    seat_use,
    seats,
    event_kinds,
    tickets,
    high_tickets,
    mean_csat,
    sentiment,
    last_ticket,
    last_nps,
    mrr,
    mrr_change,
    tenure,
    kind_count,
    missing,
    categorical,
];

// ---- parsing printed values ------------------------------------------

/// A whole number as the catalog prints it: digits grouped by thousands
/// with ',' (`1,204`), no leading zeros, optional leading '-'.
pub(super) fn int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let mut groups = digits.split(',');
    let first = groups.next()?;
    let all_digits = |g: &str| g.bytes().all(|c| c.is_ascii_digit());
    if first.is_empty() || first.len() > 3 || !all_digits(first) {
        return None;
    }
    if first.len() > 1 && first.starts_with('0') {
        return None;
    }
    if groups.any(|g| g.len() != 3 || !all_digits(g)) {
        return None;
    }
    let v: i64 = digits.replace(',', "").parse().ok()?;
    if neg && v == 0 {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// A non-negative whole number (see [`int`]).
fn count(s: &str) -> Option<i64> {
    int(s).filter(|_| !s.starts_with('-'))
}

/// A decimal with exactly `places` digits after the point; with `signed`
/// a leading '+' or '-' is required.
fn decimal(s: &str, places: usize, signed: bool) -> Option<f64> {
    let body = if signed {
        s.strip_prefix(['+', '-'])?
    } else {
        s
    };
    let (i, f) = body.split_once('.')?;
    let ok = |g: &str| !g.is_empty() && g.bytes().all(|c| c.is_ascii_digit());
    if !ok(i) || !ok(f) || f.len() != places || (i.len() > 1 && i.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// `N <one|many><tail>`: the number, and a grammar note when the noun
/// does not agree with it ("1 day", "0 days", "2 days").
fn counted(s: &str, one: &str, many: &str, tail: &str) -> Option<(i64, Option<String>)> {
    let (n, rest) = s.split_once(' ')?;
    let n = count(n)?;
    let noun = rest.strip_suffix(tail)?;
    let singular = if noun == many {
        false
    } else if noun == one {
        true
    } else {
        return None;
    };
    let wrong = (n == 1) != singular;
    Some((n, wrong.then(|| format!("says {n} {noun}"))))
}

/// The printed value agrees with the recomputed one rounded the same way
/// (a float tie may round either way).
fn near(x: f64, printed: f64, half_unit: f64) -> bool {
    (x - printed).abs() <= half_unit + 1e-9
}

/// Money or counts for evidence: whole units with thousands separators.
pub(super) fn whole(x: f64) -> String {
    let r = x.round();
    let digits = (r.abs() as u64).to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if r < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

fn verdict(ok: bool, grammar: Option<String>, evidence: impl FnOnce() -> String) -> Verdict {
    match (ok, grammar) {
        (true, None) => Verdict::True,
        (true, Some(g)) => Verdict::False(format!("{g}: {}", evidence())),
        (false, _) => Verdict::False(evidence()),
    }
}

fn key(n: u8, name: &str) -> Key {
    (n, name.to_string())
}

// ---- evidence ---------------------------------------------------------

fn events_said(f: &Facts) -> String {
    format!(
        "sum of count {} in S-29..S, {} in S-59..S-30",
        whole(f.events.sum30),
        whole(f.events.prev30)
    )
}

fn last_event_said(f: &Facts) -> String {
    match f.events.last_day {
        Some(d) => format!("last event {} ({} days before S)", ymd(d), f.s - d),
        None => format!(
            "no event on or before S; created {} ({} days before S)",
            ymd(f.account.created),
            f.s - f.account.created
        ),
    }
}

fn seats_said(f: &Facts) -> String {
    match f.seats {
        Some(n) => format!("{} seats at S", whole(n)),
        None => "no line active at S states seats".to_string(),
    }
}

fn mean_said(what: &str, m: Option<(f64, usize)>) -> String {
    match m {
        Some((m, n)) => format!("{what}: mean {m:.4} over {n} tickets in 90 days"),
        None => format!("no ticket in 90 days has a {what}"),
    }
}

fn mrr_said(f: &Facts) -> String {
    format!("MRR {:.2} at S, {:.2} at S-90", f.mrr, f.mrr_90_ago)
}

// ---- 1. events trend ---------------------------------------------------

fn events_trend(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let (up, rest) = match t.strip_prefix("events up ") {
        Some(r) => (true, r),
        None => (false, t.strip_prefix("events down ")?),
    };
    let (p, rest) = rest.split_once("% vs prior 30 days (")?;
    let (a, b) = rest.strip_suffix(')')?.split_once(" vs ")?;
    let (p, a, b) = (count(p)?, count(a)?, count(b)?);
    let (now, prev) = (f.events.sum30, f.events.prev30);
    let ok = prev > 0.0
        && near(now, a as f64, 0.5)
        && near(prev, b as f64, 0.5)
        && near((now - prev).abs() / prev * 100.0, p as f64, 0.5)
        && if up { now > prev } else { now < prev };
    Some((
        key(1, "events up/down P% vs prior 30 days (A vs B)"),
        verdict(ok, None, || events_said(f)),
    ))
}

fn events_flat(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let rest = t
        .strip_prefix("events flat vs prior 30 days (")?
        .strip_suffix(')')?;
    let (a, b) = rest.split_once(" vs ")?;
    let (a, b) = (count(a)?, count(b)?);
    let (now, prev) = (f.events.sum30, f.events.prev30);
    let ok = prev > 0.0
        && (now - prev).abs() <= 1e-9
        && near(now, a as f64, 0.5)
        && near(prev, b as f64, 0.5);
    Some((
        key(1, "events flat vs prior 30 days (A vs A)"),
        verdict(ok, None, || events_said(f)),
    ))
}

fn events_none(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    (t == "no events in 60 days").then(|| {
        let ok = f.events.sum30 == 0.0 && f.events.prev30 == 0.0;
        (
            key(1, "no events in 60 days"),
            verdict(ok, None, || events_said(f)),
        )
    })
}

fn events_new(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let a = count(t.strip_suffix(" events in 30 days, none in the 30 before")?)?;
    let ok = f.events.prev30 == 0.0 && f.events.sum30 > 0.0 && near(f.events.sum30, a as f64, 0.5);
    Some((
        key(1, "A events in 30 days, none in the 30 before"),
        verdict(ok, None, || events_said(f)),
    ))
}

// ---- 2, 3, 4. recency, active days, users -----------------------------

fn active_today(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    (t == "active today").then(|| {
        (
            key(2, "active today"),
            verdict(f.events.last_day == Some(f.s), None, || last_event_said(f)),
        )
    })
}

fn no_activity(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let (n, grammar) = counted(t.strip_prefix("no activity for ")?, "day", "days", "")?;
    let since = f.events.last_day.unwrap_or(f.account.created);
    let ok = f.events.last_day != Some(f.s) && i64::from(f.s - since) == n;
    Some((
        key(2, "no activity for N days"),
        verdict(ok, grammar, || last_event_said(f)),
    ))
}

fn active_days(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let (n, w) = t.strip_prefix("active on ")?.split_once(" of the last ")?;
    let n = count(n)?;
    let (window, actual) = match w {
        "30 days" => ("active on N of the last 30 days", f.events.days30),
        "90 days" => ("active on N of the last 90 days", f.events.days90),
        _ => return None,
    };
    Some((
        key(3, window),
        verdict(actual as i64 == n, None, || {
            format!("{actual} distinct event days")
        }),
    ))
}

fn active_users(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let (n, grammar) = counted(t, "active user", "active users", " in 30 days")?;
    let actual = f.events.users30;
    Some((
        key(4, "N active users in 30 days"),
        verdict(actual as i64 == n, grammar, || {
            format!("{actual} distinct user_id in S-29..S")
        }),
    ))
}

// ---- 5, 6. seats -------------------------------------------------------

fn seat_use(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let (p, rest) = t.split_once("% of ")?;
    let p = count(p)?;
    let (n, grammar) = counted(rest, "seat", "seats", " in use")?;
    let users = f.events.users30 as f64;
    let ok = f.seats.is_some_and(|s| {
        s > 0.0 && near(s, n as f64, 0.5) && near(users / s * 100.0, p as f64, 0.5)
    });
    Some((
        key(5, "P% of N seats in use"),
        verdict(ok, grammar, || {
            format!("{}; {users} active users in 30 days", seats_said(f))
        }),
    ))
}

fn seats(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let (n, grammar) = counted(t, "seat", "seats", "")?;
    let ok = f.seats.is_some_and(|s| near(s, n as f64, 0.5));
    Some((key(6, "N seats"), verdict(ok, grammar, || seats_said(f))))
}

// ---- 7, 8, 9, 10, 11. event types, tickets, NPS ------------------------

fn event_kinds(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let (n, grammar) = counted(t, "event type", "event types", " used in 30 days")?;
    let actual = f.events.kinds30;
    Some((
        key(7, "N event types used in 30 days"),
        verdict(actual as i64 == n, grammar, || {
            format!("{actual} distinct event types in S-29..S")
        }),
    ))
}

fn tickets(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let (n, grammar) = counted(t, "ticket", "tickets", " in 90 days")?;
    let actual = f.tickets.n90;
    Some((
        key(8, "N tickets in 90 days"),
        verdict(actual as i64 == n, grammar, || {
            format!("{actual} tickets in S-89..S")
        }),
    ))
}

fn high_tickets(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let (n, grammar) = counted(
        t,
        "high/urgent ticket",
        "high/urgent tickets",
        " in 90 days",
    )?;
    let actual = f.tickets.high90;
    Some((
        key(8, "N high/urgent tickets in 90 days"),
        verdict(actual as i64 == n, grammar, || {
            format!(
                "{actual} high/urgent of {} tickets in S-89..S",
                f.tickets.n90
            )
        }),
    ))
}

fn mean_csat(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let x = t
        .strip_prefix("mean CSAT ")?
        .strip_suffix(" over 90 days")?;
    let x = decimal(x, 1, false)?;
    let ok = f.tickets.csat90.is_some_and(|(m, _)| near(m, x, 0.05));
    Some((
        key(9, "mean CSAT x.x over 90 days"),
        verdict(ok, None, || mean_said("csat", f.tickets.csat90)),
    ))
}

fn sentiment(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let x = t
        .strip_prefix("ticket sentiment ")?
        .strip_suffix(" over 90 days")?;
    let x = decimal(x, 2, true)?;
    let ok = f
        .tickets
        .sentiment90
        .is_some_and(|(m, _)| near(m, x, 0.005));
    Some((
        key(9, "ticket sentiment +0.12 over 90 days"),
        verdict(ok, None, || mean_said("sentiment", f.tickets.sentiment90)),
    ))
}

fn last_ticket(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let rest = t.strip_prefix("last ticket ")?.strip_suffix(" ago")?;
    let (n, grammar) = counted(rest, "day", "days", "")?;
    let ok = f.tickets.last_day.is_some_and(|d| i64::from(f.s - d) == n);
    Some((
        key(10, "last ticket N days ago"),
        verdict(ok, grammar, || match f.tickets.last_day {
            Some(d) => format!("last ticket {} ({} days before S)", ymd(d), f.s - d),
            None => "no ticket on or before S".to_string(),
        }),
    ))
}

fn last_nps(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let n = count(t.strip_prefix("last NPS ")?)?;
    let ok = f.nps.is_some_and(|(_, v)| near(v, n as f64, 0.5));
    Some((
        key(11, "last NPS N"),
        verdict(ok, None, || match f.nps {
            Some((d, v)) => format!("last survey {} scored {v}", ymd(d)),
            None => "no survey on or before S".to_string(),
        }),
    ))
}

// ---- 12, 13, 14. money, tenure, per-type counts ------------------------

fn mrr(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let x = int(t.strip_prefix("MRR ")?)?;
    Some((
        key(12, "MRR X"),
        verdict(near(f.mrr, x as f64, 0.5), None, || mrr_said(f)),
    ))
}

fn mrr_change(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let d = f.mrr - f.mrr_90_ago;
    let zero = 1e-6;
    let (name, ok) = if t == "MRR flat over 90 days" {
        ("MRR flat over 90 days", d.abs() <= zero)
    } else {
        let rest = t.strip_prefix("MRR ")?.strip_suffix(" over 90 days")?;
        if let Some(x) = rest.strip_prefix("up ") {
            let x = count(x)?;
            ("MRR up X over 90 days", d > zero && near(d, x as f64, 0.5))
        } else {
            let x = count(rest.strip_prefix("down ")?)?;
            (
                "MRR down X over 90 days",
                d < -zero && near(-d, x as f64, 0.5),
            )
        }
    };
    Some((key(12, name), verdict(ok, None, || mrr_said(f))))
}

fn tenure(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let (n, grammar) = counted(t.strip_prefix("customer for ")?, "day", "days", "")?;
    let actual = f.s - f.account.created;
    Some((
        key(13, "customer for N days"),
        verdict(i64::from(actual) == n, grammar, || {
            format!(
                "created {} ({actual} days before S)",
                ymd(f.account.created)
            )
        }),
    ))
}

fn kind_count(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let (n, kind) = t.strip_suffix(" events in 30 days")?.split_once(' ')?;
    let n = count(n)?;
    if kind.is_empty() {
        return None;
    }
    let actual = f.events.by_kind30.get(kind).copied().unwrap_or(0.0);
    Some((
        key(14, "N <type> events in 30 days"),
        verdict(near(actual, n as f64, 0.5), None, || {
            format!("sum of count of {kind} in S-29..S: {}", whole(actual))
        }),
    ))
}

// ---- 15, 16. missing values and categorical attributes ------------------

fn missing(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let (ok, said): (bool, String) = match t {
        "no NPS answer yet" => (
            f.nps.is_none(),
            f.nps
                .map(|(d, v)| format!("survey {} scored {v}", ymd(d)))
                .unwrap_or_default(),
        ),
        "no rated tickets in 90 days" => (
            f.tickets.csat90.is_none(),
            mean_said("csat", f.tickets.csat90),
        ),
        "no ticket sentiment in 90 days" => (
            f.tickets.sentiment90.is_none(),
            mean_said("sentiment", f.tickets.sentiment90),
        ),
        "never opened a ticket" => (
            f.tickets.last_day.is_none(),
            f.tickets
                .last_day
                .map(|d| format!("last ticket {}", ymd(d)))
                .unwrap_or_default(),
        ),
        "seat count unknown" => (f.seats.is_none(), seats_said(f)),
        _ => return None,
    };
    Some((key(15, t), verdict(ok, None, || said)))
}

fn categorical(t: &str, f: &Facts) -> Option<(Key, Verdict)> {
    let names = f.attr_names.iter().map(String::as_str).chain(["plan"]);
    for attr in names {
        let Some(rest) = t.strip_prefix(attr) else {
            continue;
        };
        let own = f.attr(attr).expect("a known attribute");
        let said = || match own {
            Some(v) => format!("{attr} = {v}"),
            None => format!("{attr} is empty"),
        };
        if let Some(value) = rest.strip_prefix(" is ") {
            return Some((key(16, t), verdict(own == Some(value), None, said)));
        }
        if rest == " not recorded" {
            return Some((key(16, t), verdict(own.is_none(), None, said)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_numbers_parse_only_as_the_catalog_prints_them() {
        assert_eq!(int("1,204"), Some(1204));
        assert_eq!(int("-12,345,678"), Some(-12_345_678));
        assert_eq!(int("0"), Some(0));
        for bad in ["1204", "01", "-0", "1,20", "", "1.5", "+3"] {
            assert_eq!(int(bad), None, "{bad}");
        }
        assert_eq!(decimal("+0.12", 2, true), Some(0.12));
        assert_eq!(decimal("-0.50", 2, true), Some(-0.5));
        assert_eq!(decimal("0.12", 2, true), None);
        assert_eq!(decimal("3.4", 1, false), Some(3.4));
        assert_eq!(decimal("3.40", 1, false), None);
        assert_eq!(counted("1 day", "day", "days", ""), Some((1, None)));
        assert_eq!(counted("0 days", "day", "days", ""), Some((0, None)));
        assert!(counted("2 day", "day", "days", "").unwrap().1.is_some());
        assert_eq!(
            regrouped("94% of 1024 seats in use").as_deref(),
            Some("94% of 1,024 seats in use")
        );
        assert_eq!(regrouped("MRR 1,204"), None);
        assert_eq!(regrouped("mean CSAT 4.5 over 90 days"), None);
        assert!(near(64.5, 64.0, 0.5) && near(64.5, 65.0, 0.5) && !near(64.51, 64.0, 0.5));
    }
}
