//! History building: features for every active account at every labeled
//! month end of 24 months (the training path).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ebbflow::config::SnapshotParams;
use ebbflow::snapshot::{features_as_of, history_dates, timelines, FeatureSpec};

#[path = "common.rs"]
mod common;

fn history(c: &mut Criterion) {
    let mut g = c.benchmark_group("history");
    g.sample_size(10);
    // EBBFLOW_BENCH_ACCOUNTS=100000 cargo bench --bench history: other sizes.
    let sizes: Vec<usize> = std::env::var("EBBFLOW_BENCH_ACCOUNTS")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![2_000, 20_000]);
    for accounts in sizes {
        let (_dir, tables) = common::tables(accounts, 24);
        let p = SnapshotParams::default();
        let dates =
            history_dates(&tables, tables.last_day, p.horizon_days, p.grace_days, None).unwrap();
        let spec = FeatureSpec::fit(&tables, *dates.last().unwrap(), p);
        let tl = timelines(&tables, p.grace_days);
        let events = tables.events.as_ref().map_or(0, |e| e.rows.len());
        g.throughput(Throughput::Elements(events as u64));
        g.bench_with_input(
            BenchmarkId::new("features_as_of_24m", accounts),
            &accounts,
            |b, _| b.iter(|| features_as_of(&tables, &tl, &dates, &spec).unwrap()),
        );
        g.bench_with_input(
            BenchmarkId::new("timelines", accounts),
            &accounts,
            |b, _| b.iter(|| timelines(&tables, p.grace_days)),
        );
    }
    g.finish();
}

criterion_group!(benches, history);
criterion_main!(benches);
