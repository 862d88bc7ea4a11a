//! Test support: tiny hand-made data directories a reader can see inline.

use std::path::Path;

use crate::config::{Config, SnapshotParams};
use crate::dates::{parse_day, Day};
use crate::io::load::{load_dir, Tables};

/// Writes `(file name, contents)` pairs into a fresh temporary directory.
pub fn data_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text.trim_start()).expect("write fixture");
    }
    dir
}

pub fn load(dir: &Path) -> Tables {
    load_dir(dir, &Config::default()).unwrap_or_else(|e| panic!("fixture must load: {e}"))
}

pub fn day(s: &str) -> Day {
    parse_day(s).unwrap_or_else(|| panic!("bad date in test: {s}"))
}

/// Default parameters, except that a level held by a single account is
/// kept, so the tiny fixtures have categorical columns.
pub fn params() -> SnapshotParams {
    SnapshotParams {
        min_level_accounts: 1,
        ..SnapshotParams::default()
    }
}

/// The hand-made fixture used by the snapshot and label tests; every
/// expected value in those tests is computed by hand from these rows with
/// S = 2024-03-31 (S-29 = 03-02, S-30 = 03-01, S-59 = 02-01, S-89 = 01-02,
/// S-90 = 01-01, S+90 = 06-29).
pub const ACCOUNTS: &str = "
account_id,created_at,name,segment
A1,2024-01-01,Acme,SMB
A2,2024-03-31,Beta,Enterprise
A3,2023-06-01,Gamma,SMB
A4,2023-09-01,Delta,Mid
A5,2024-01-01,Eps,SMB
";
pub const SUBSCRIPTIONS: &str = "
account_id,start_date,end_date,mrr,plan,seats
A1,2024-01-01,,100,Growth,10
A1,2024-02-01,2024-05-01,20,Addon,
A2,2024-03-31,,500,Pro,50
A2,2024-05-01,,100,Addon,10
A3,2023-06-01,2024-02-01,50,Starter,5
A3,2024-02-20,,50,Starter,5
A4,2023-09-01,2024-05-15,80,Growth,8
A4,2024-08-01,,80,Growth,8
A5,2024-01-01,2024-03-31,40,Starter,4
";
pub const EVENTS: &str = "
account_id,timestamp,event,user_id,count
A1,2024-03-31T22:00:00Z,login,u1,2
A1,2024-03-15,report,u2,1
A1,2024-03-02,login,u1,1
A1,2024-03-01,login,u3,4
A1,2024-02-01,export,u1,1
A1,2024-01-31,login,u1,1
A1,2024-04-01,login,u1,100
A3,2024-03-20,login,u7,
";
pub const TICKETS: &str = "
account_id,created_at,priority,csat,sentiment,topic
A1,2024-03-10,urgent,2,-0.5,billing
A1,2024-01-01,high,5,0.9,bug
A1,2024-02-15,low,,0.5,how-to
A1,2024-04-02,urgent,1,-1,bug
";
pub const SURVEYS: &str = "
account_id,responded_at,score
A1,2024-02-01,9
A1,2024-03-30,3
A1,2024-04-15,10
";

pub fn fixture() -> tempfile::TempDir {
    data_dir(&[
        ("accounts.csv", ACCOUNTS),
        ("subscriptions.csv", SUBSCRIPTIONS),
        ("events.csv", EVENTS),
        ("tickets.csv", TICKETS),
        ("surveys.csv", SURVEYS),
    ])
}

/// A fixed pseudo-random sequence for tests (Knuth's MMIX linear
/// congruential generator): the same numbers on every run and machine.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }

    /// The next state, all 64 bits (the low ones are the least random).
    pub fn step(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }

    /// A number in `0..m`, from the state's upper bits.
    pub fn below(&mut self, m: u64) -> u64 {
        (self.step() >> 33) % m
    }
}

/// `accounts` generated accounts over `months` months (seed `seed`), in
/// `format`, in a fresh temporary directory.
pub fn synth_dir(
    accounts: usize,
    months: u32,
    seed: u64,
    format: crate::synth::SynthFormat,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = crate::synth::SynthParams {
        accounts,
        months,
        seed,
        ..crate::synth::SynthParams::default()
    };
    crate::synth::generate_to_dir(&p.check().unwrap(), dir.path(), format).unwrap();
    dir
}

/// Column `name` of `df` as floats, with row `row` set to `value`: a bad
/// value planted in a table read back from a generated file.
pub fn floats_with(
    df: &polars::prelude::DataFrame,
    name: &str,
    row: usize,
    value: f64,
) -> polars::prelude::Float64Chunked {
    use polars::prelude::DataType;
    df.column(name)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, v)| if i == row { Some(value) } else { v })
        .collect()
}
