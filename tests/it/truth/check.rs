//! Checks a whole queue file against the raw tables it was scored from:
//! every driver sentence (through `catalog`), and per row the `as_of`,
//! `mrr`, `name` and `owner` columns, that the account is active at S, and
//! that the queue holds each active account once. Collects a report; the
//! tests decide to fail.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::path::Path;

use super::catalog::{judge, Key, Verdict};
use super::raw::{cell, nums, read_file, text, utc_day, Raw};

/// How many sentences of one pattern were true, false or unknown.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Tally {
    pub true_: usize,
    pub false_: usize,
    pub unknown: usize,
}

/// What the checker found in one queue.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: usize,
    pub sentences: usize,
    pub by_pattern: BTreeMap<Key, Tally>,
    /// Problems with a row's own columns, by kind.
    pub row_problems: BTreeMap<&'static str, usize>,
    /// Up to 3 examples per pattern or row problem.
    examples: BTreeMap<String, Vec<String>>,
}

const EXAMPLES_PER_KIND: usize = 3;
const EXAMPLES_SHOWN: usize = 20;

impl Report {
    pub fn is_clean(&self) -> bool {
        self.row_problems.is_empty()
            && self
                .by_pattern
                .values()
                .all(|t| t.false_ == 0 && t.unknown == 0)
    }

    pub fn tally(&self, key: &str) -> Tally {
        self.by_pattern
            .iter()
            .find(|((_, k), _)| k == key)
            .map(|(_, t)| *t)
            .unwrap_or_default()
    }

    fn example(&mut self, kind: String, text: String) {
        let v = self.examples.entry(kind).or_default();
        if v.len() < EXAMPLES_PER_KIND {
            v.push(text);
        }
    }

    fn row_problem(&mut self, kind: &'static str, text: String) {
        *self.row_problems.entry(kind).or_default() += 1;
        self.example(format!("row: {kind}"), text);
    }

    /// Counts per pattern and up to 20 examples, one kind at a time.
    pub fn render(&self) -> String {
        let sum = |f: fn(&Tally) -> usize| self.by_pattern.values().map(f).sum::<usize>();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} rows, {} sentences: {} true, {} false, {} unknown; {} row problems",
            self.rows,
            self.sentences,
            sum(|t| t.true_),
            sum(|t| t.false_),
            sum(|t| t.unknown),
            self.row_problems.values().sum::<usize>()
        );
        let _ = writeln!(
            s,
            "{:>3}  {:<58} {:>7} {:>7} {:>7}",
            "#", "pattern", "true", "false", "unknown"
        );
        for ((n, k), t) in &self.by_pattern {
            let _ = writeln!(
                s,
                "{n:>3}  {k:<58} {:>7} {:>7} {:>7}",
                t.true_, t.false_, t.unknown
            );
        }
        for (k, n) in &self.row_problems {
            let _ = writeln!(s, "row problem: {k}: {n}");
        }
        let _ = writeln!(s, "examples:");
        let mut shown = 0;
        for i in 0..EXAMPLES_PER_KIND {
            for v in self.examples.values() {
                if shown < EXAMPLES_SHOWN {
                    if let Some(e) = v.get(i) {
                        let _ = writeln!(s, "  {e}");
                        shown += 1;
                    }
                }
            }
        }
        s
    }
}

/// Checks `queue` (CSV or Parquet) against the tables in `data`, as of
/// `as_of` (`YYYY-MM-DD`).
pub fn check_queue(data: &Path, queue: &Path, as_of: &str) -> Report {
    let s = utc_day(as_of).expect("as_of is a date");
    let raw = Raw::load(data, s);
    let q = read_file(queue);
    let col = |name: &str| text(&q, name).unwrap_or_else(|| panic!("queue has no {name}"));
    let (ids, dates) = (col("account_id"), col("as_of"));
    let (churn, upgrade) = (col("churn_drivers"), col("upgrade_drivers"));
    let (names, owners) = (text(&q, "name"), text(&q, "owner"));
    let mrr = nums(&q, "mrr", queue).expect("queue has mrr");

    let mut report = Report {
        rows: q.height(),
        ..Report::default()
    };
    let mut seen: HashSet<String> = HashSet::new();
    for i in 0..q.height() {
        let id = ids.get(i).unwrap_or_default();
        let Some(&a) = raw.index.get(id) else {
            report.row_problem("account not in accounts", format!("{id}: not in accounts"));
            continue;
        };
        if !seen.insert(id.to_string()) {
            report.row_problem("account queued twice", format!("{id}: queued twice"));
        }
        let f = raw.facts(a);
        let date = dates.get(i).unwrap_or_default();
        if date != as_of {
            report.row_problem(
                "as_of is not S",
                format!("{id}: as_of {date:?}, S is {as_of}"),
            );
        }
        if !mrr[i].is_some_and(|m| (m - f.mrr).abs() <= 1e-6) {
            report.row_problem(
                "mrr column is not MRR at S",
                format!(
                    "{id}: mrr column {:?}, MRR at S from subscriptions {}",
                    mrr[i], f.mrr
                ),
            );
        }
        if f.mrr <= 0.0 {
            report.row_problem("not active at S", format!("{id}: MRR at S is {}", f.mrr));
        }
        for (column, printed, own) in [
            ("name", &names, &f.account.name),
            ("owner", &owners, &f.account.owner),
        ] {
            let Some(printed) = printed else { continue };
            let printed = cell(printed.get(i));
            if printed != own.as_deref() {
                report.row_problem(
                    if column == "name" {
                        "name differs from accounts"
                    } else {
                        "owner differs from accounts"
                    },
                    format!("{id}: {column} {printed:?} in the queue, {own:?} in accounts"),
                );
            }
        }
        for (which, drivers) in [("churn", &churn), ("upgrade", &upgrade)] {
            let Some(drivers) = cell(drivers.get(i)) else {
                continue;
            };
            let sentences: Vec<&str> = drivers.split("; ").collect();
            if sentences.len() > 3 {
                report.row_problem(
                    "more than 3 drivers",
                    format!("{id} {which}_drivers: {drivers:?}"),
                );
            }
            for sentence in sentences {
                report.sentences += 1;
                let (key, verdict) = judge(sentence, &f);
                let tally = report.by_pattern.entry(key.clone()).or_default();
                let why = match verdict {
                    Verdict::True => {
                        tally.true_ += 1;
                        continue;
                    }
                    Verdict::False(why) => {
                        tally.false_ += 1;
                        format!("false; the tables say: {why}")
                    }
                    Verdict::Unknown(why) => {
                        tally.unknown += 1;
                        format!("unknown: {why}")
                    }
                };
                report.example(
                    format!("{:03} {}", key.0, key.1),
                    format!("{id} {which}: {sentence:?} is {why}"),
                );
            }
        }
    }
    let mut missing: Vec<&str> = raw
        .active_ids()
        .into_iter()
        .filter(|id| !seen.contains(*id))
        .collect();
    missing.sort_unstable();
    for id in missing {
        report.row_problem(
            "active at S but not queued",
            format!("{id}: MRR at S is {}", raw.mrr_on(raw.index[id], s)),
        );
    }
    report
}
