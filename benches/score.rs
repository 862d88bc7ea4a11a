//! The scoring kernel: features as of one date plus per-account scores,
//! tiers, segments, survival and drivers.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ebbflow::config::SnapshotParams;
use ebbflow::score::{score, ScoreParams};
use ebbflow::train::{train, TrainParams};

#[path = "common.rs"]
mod common;

fn scoring(c: &mut Criterion) {
    let mut g = c.benchmark_group("score");
    g.sample_size(10);
    let (_dir, tables) = common::tables(5_000, 24);
    let params = TrainParams::new(SnapshotParams::default()).check().unwrap();
    let bundle = train(&tables, &params, &mut |_| {}).unwrap();
    for accounts in [5_000usize, 50_000] {
        let (_d, big) = if accounts == 5_000 {
            (None, tables.clone())
        } else {
            let (d, t) = common::tables(accounts, 24);
            (Some(d), t)
        };
        g.throughput(Throughput::Elements(accounts as u64));
        g.bench_with_input(BenchmarkId::new("score", accounts), &accounts, |b, _| {
            b.iter(|| score(&big, &bundle, ScoreParams::new(big.last_day, 4096).unwrap()).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, scoring);
criterion_main!(benches);
