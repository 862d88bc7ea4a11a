//! The scoring kernel and what follows it: features as of one date plus
//! per-account scores, tiers, segments, survival and drivers
//! (`score/score/N`); the survival integral alone, per account read off the
//! bundle's plan curves (`score/expected_days/N`); and the queue written as
//! each format `ebbflow-score` writes by default (`score/write_parquet/N`,
//! `score/write_csv/N`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ebbflow::config::SnapshotParams;
use ebbflow::io::write::{write_frame, Format};
use ebbflow::queue::{to_frame, with_text_dates};
use ebbflow::score::{score, ScoreParams};
use ebbflow::train::{train, TrainParams};

#[path = "common.rs"]
mod common;

fn scoring(c: &mut Criterion) {
    let mut g = c.benchmark_group("score");
    g.sample_size(10);
    let (_dir, tables) = common::tables(5_000, 24);
    let params = TrainParams::new(SnapshotParams::default()).check().unwrap();
    let bundle = train(&tables, &params, &|_| {}).unwrap();
    let out = tempfile::tempdir().unwrap();
    for accounts in [5_000usize, 50_000] {
        let (_d, big) = if accounts == 5_000 {
            (None, tables.clone())
        } else {
            let (d, t) = common::tables(accounts, 24);
            (Some(d), t)
        };
        let p = ScoreParams::new(big.last_day, 4096).unwrap();
        g.throughput(Throughput::Elements(accounts as u64));
        g.bench_with_input(BenchmarkId::new("score", accounts), &accounts, |b, _| {
            b.iter(|| score(&big, &bundle, p).unwrap())
        });

        // The survival integral over the next 730 days, for every scored
        // account at its tenure and churn risk (the bulk of `score` at
        // scale): each reads some hundreds of curve rows.
        let scored = score(&big, &bundle, p).unwrap();
        let reader = bundle.survival.reader();
        let accounts_read: Vec<(Option<String>, f64, f64)> = scored
            .rows
            .iter()
            .map(|r| (r.survival_level.clone(), r.tenure_days, r.churn_risk))
            .collect();
        let horizon = bundle.settings.horizon_days as f64;
        g.throughput(Throughput::Elements(accounts_read.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("expected_days", accounts),
            &accounts,
            |b, _| {
                b.iter(|| {
                    accounts_read
                        .iter()
                        .map(|(level, tenure, risk)| {
                            let own =
                                reader.read(level.as_deref(), *tenure, Some((*risk, horizon)));
                            own.expected_days()
                        })
                        .sum::<f64>()
                })
            },
        );

        // Writing the queue: the table is built from the rows each time,
        // as a run does.
        for (name, fmt) in [
            ("write_parquet", Format::Parquet),
            ("write_csv", Format::Csv),
        ] {
            let path = out.path().join(format!("queue.{}", fmt.extension()));
            g.bench_with_input(BenchmarkId::new(name, accounts), &accounts, |b, _| {
                b.iter(|| {
                    let df = to_frame(&scored.rows, scored.has_names, scored.has_owner).unwrap();
                    let mut df = match fmt {
                        Format::Parquet => df,
                        _ => with_text_dates(&df).unwrap(),
                    };
                    write_frame(&path, &mut df, fmt).unwrap();
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, scoring);
criterion_main!(benches);
