//! Loading: seeded Parquet tables read, checked and grouped by account,
//! whole (training) and as a 90-day scoring window (scoring), at
//! `--threads` 1 and 2. Sizes are accounts x 24 months.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ebbflow::config::Config;
use ebbflow::io::load::{load_dir_with, LoadOptions, Need};
use ebbflow::snapshot::LONGEST_WINDOW_DAYS;
use ebbflow::synth::{generate_to_dir, SynthFormat, SynthParams};

fn load(c: &mut Criterion) {
    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    // EBBFLOW_BENCH_ACCOUNTS=100000 cargo bench --bench load: other sizes.
    let sizes: Vec<usize> = std::env::var("EBBFLOW_BENCH_ACCOUNTS")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![2_000, 20_000]);
    let cfg = Config::default();
    for accounts in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let params = SynthParams {
            accounts,
            months: 24,
            seed: 7,
            ..SynthParams::default()
        }
        .check()
        .expect("params");
        generate_to_dir(&params, dir.path(), SynthFormat::Parquet).expect("synth");
        let all = load_dir_with(dir.path(), &cfg, &LoadOptions::default()).expect("load");
        let events = all.events.as_ref().map_or(0, |e| e.rows.len());
        drop(all);
        g.throughput(Throughput::Elements(events as u64));
        let window = Need::Window {
            as_of: None,
            days: LONGEST_WINDOW_DAYS,
        };
        for (name, need) in [("everything", Need::Everything), ("window", window)] {
            let opts = LoadOptions {
                need,
                ..LoadOptions::default()
            };
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("pool");
                g.bench_with_input(
                    BenchmarkId::new(format!("{name}/threads-{threads}"), accounts),
                    &accounts,
                    |b, _| {
                        b.iter(|| pool.install(|| load_dir_with(dir.path(), &cfg, &opts).unwrap()))
                    },
                );
            }
        }
    }
    g.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
