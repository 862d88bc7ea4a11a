//! Model fitting: the whole training run (backtest, final fit, RFM,
//! survival) on generated data.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ebbflow::config::SnapshotParams;
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
            |b, _| b.iter(|| train(&tables, &params, &mut |_| {}).unwrap()),
        );
    }
    g.finish();
}

criterion_group!(benches, fit);
criterion_main!(benches);
