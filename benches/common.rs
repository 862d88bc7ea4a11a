//! Shared setup for the benches: seeded synthetic data, generated once per
//! size into a temporary directory and loaded through the real loader.

use ebbflow::config::Config;
use ebbflow::io::load::{load_dir, Tables};
use ebbflow::synth::{generate_to_dir, SynthFormat, SynthParams};

pub fn tables(accounts: usize, months: u32) -> (tempfile::TempDir, Tables) {
    let dir = tempfile::tempdir().expect("tempdir");
    let params = SynthParams {
        accounts,
        months,
        seed: 7,
        ..SynthParams::default()
    }
    .check()
    .expect("params");
    generate_to_dir(&params, dir.path(), SynthFormat::Parquet).expect("synth");
    let tables = load_dir(dir.path(), &Config::default()).expect("load");
    (dir, tables)
}
