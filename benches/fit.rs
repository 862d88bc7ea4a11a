//! Model fitting: the whole training run (backtest, final fit, RFM,
//! survival) on generated data, and one propensity fit (alpha path and
//! final refit) on that data's monthly history.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ebbflow::config::SnapshotParams;
use ebbflow::labels::labels_for;
use ebbflow::models::propensity::PropensityParams;
use ebbflow::models::scale::Transform;
use ebbflow::snapshot::{features_as_of, history_dates, timelines, FeatureSpec, Kind};
use ebbflow::train::{train, TrainParams};

#[path = "common.rs"]
mod common;

fn fit(c: &mut Criterion) {
    let mut g = c.benchmark_group("train");
    g.sample_size(10);
    for accounts in [2_000usize, 10_000] {
        let (_dir, tables) = common::tables(accounts, 24);
        let params = TrainParams::new(SnapshotParams::default()).check().unwrap();
        g.bench_with_input(
            BenchmarkId::new("train_24m", accounts),
            &accounts,
            |b, _| b.iter(|| train(&tables, &params, &|_| {}).unwrap()),
        );
    }
    g.finish();
}

/// The churn model alone, default grid, on every row of a 5,000-account
/// history (about 60k account-months): what the training run does four
/// times, at most at `max_fit_rows`.
fn propensity(c: &mut Criterion) {
    let mut g = c.benchmark_group("propensity");
    g.sample_size(10);
    let accounts = 5_000usize;
    let (_dir, tables) = common::tables(accounts, 24);
    let sp = SnapshotParams::default();
    let tl = timelines(&tables, sp.grace_days);
    let dates = history_dates(
        &tables,
        tables.last_day,
        sp.horizon_days,
        sp.grace_days,
        None,
    )
    .unwrap();
    let spec = FeatureSpec::fit(&tables, *dates.last().unwrap(), sp);
    let frame = features_as_of(&tables, &tl, &dates, &spec).unwrap();
    let churned = labels_for(&frame, &tl, sp.horizon_days).churned;
    let transforms: Vec<Transform> = spec
        .features
        .iter()
        .map(|f| match f.kind {
            Kind::Log => Transform::Log1p,
            _ => Transform::Identity,
        })
        .collect();
    let fold: Vec<u32> = frame.as_of.iter().map(|&d| d.max(0) as u32).collect();
    let params = PropensityParams::default().embargo(120).check().unwrap();
    let columns = frame.column_slices();
    g.bench_with_input(
        BenchmarkId::new("churn_24m", accounts),
        &accounts,
        |b, _| {
            b.iter(|| {
                params
                    .fit(
                        "churn",
                        &frame.names,
                        &transforms,
                        &columns,
                        &churned,
                        &fold,
                    )
                    .unwrap()
            })
        },
    );
    g.finish();
}

criterion_group!(benches, fit, propensity);
criterion_main!(benches);
