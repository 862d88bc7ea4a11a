//! Calendar arithmetic on plain day numbers (days since 1970-01-01, UTC).
//! Owns parsing of `YYYY-MM-DD` and RFC 3339 datetimes and month ends; it
//! knows nothing of tables. A day number is an `i32` so that a column of a
//! hundred million of them stays small.

/// Days since 1970-01-01 (proleptic Gregorian), as in Arrow's `Date32`.
pub type Day = i32;

/// Day number of a civil date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> Day {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as i64;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era as i64 * 146_097 + doe - 719_468) as Day
}

/// Civil date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: Day) -> (i32, u32, u32) {
    let z = z as i64 + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

pub fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// `YYYY-MM-DD`.
pub fn format_day(day: Day) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The last day of the month that contains `day`.
pub fn month_end(day: Day) -> Day {
    let (y, m, _) = civil_from_days(day);
    days_from_civil(y, m, days_in_month(y, m))
}

/// Every month end in `[from, to]`, ascending.
pub fn month_ends_between(from: Day, to: Day) -> Vec<Day> {
    let mut out = Vec::new();
    let mut s = month_end(from);
    while s <= to {
        out.push(s);
        s = month_end(s + 1);
    }
    out
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &b| {
        acc.checked_mul(10)?.checked_add((b - b'0') as u32)
    })
}

fn parse_ymd(s: &[u8]) -> Option<Day> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let y = digits(&s[0..4])? as i32;
    let m = digits(&s[5..7])?;
    let d = digits(&s[8..10])?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Parses `YYYY-MM-DD` or an RFC 3339 datetime (`2024-03-01T23:30:00Z`,
/// `2024-03-01 23:30:00.123+02:00`; a datetime without offset is taken as
/// UTC) into the UTC day it falls on. `None` when it is neither.
pub fn parse_day(s: &str) -> Option<Day> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 {
        return None;
    }
    let day = parse_ymd(&b[..10])?;
    if b.len() == 10 {
        return Some(day);
    }
    if b[10] != b'T' && b[10] != b't' && b[10] != b' ' {
        return None;
    }
    let rest = &b[11..];
    if rest.len() < 8 || rest[2] != b':' || rest[5] != b':' {
        return None;
    }
    let hh = digits(&rest[0..2])?;
    let mm = digits(&rest[3..5])?;
    let ss = digits(&rest[6..8])?;
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut i = 8;
    if i < rest.len() && rest[i] == b'.' {
        i += 1;
        let start = i;
        while i < rest.len() && rest[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let tz = &rest[i..];
    let offset_secs: i64 = match tz {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = digits(&[*h1, *h2])? as i64;
            let om = digits(&[*m1, *m2])? as i64;
            if oh > 23 || om > 59 {
                return None;
            }
            let v = oh * 3600 + om * 60;
            if *sign == b'+' {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    let secs =
        day as i64 * 86_400 + (hh as i64) * 3600 + (mm as i64) * 60 + ss as i64 - offset_secs;
    Some(secs.div_euclid(86_400) as Day)
}

/// The current UTC time as RFC 3339 (`2026-11-22T21:30:05Z`), for logs and
/// creation stamps.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (day, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_day(day as Day),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_centuries() {
        for z in -800_000..800_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn known_day_numbers() {
        // Unix epoch and Arrow's Date32 of 2024-02-29 (checked with `date -d 2024-02-29 +%s` / 86400).
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(parse_day("2024-02-29"), Some(19_782));
        assert_eq!(format_day(19_782), "2024-02-29");
    }

    #[test]
    fn datetimes_fall_on_their_utc_day() {
        let d = parse_day("2024-03-01").unwrap();
        assert_eq!(parse_day("2024-03-01T23:30:00Z"), Some(d));
        assert_eq!(parse_day("2024-03-01T23:30:00-05:00"), Some(d + 1));
        assert_eq!(parse_day("2024-03-01 01:00:00.250+02:00"), Some(d - 1));
        assert_eq!(parse_day("2024-03-01T12:00:00"), Some(d));
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "",
            "2024-13-01",
            "2024-02-30",
            "2023-02-29",
            "01/03/2024",
            "2024-03-01T25:00:00Z",
            "2024-03-01X",
            "2024-3-1",
            "2024-03-01T10:00:00+0200",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn month_ends_cover_leap_february() {
        let from = parse_day("2023-12-15").unwrap();
        let to = parse_day("2024-03-31").unwrap();
        let ends: Vec<String> = month_ends_between(from, to)
            .into_iter()
            .map(format_day)
            .collect();
        assert_eq!(
            ends,
            ["2023-12-31", "2024-01-31", "2024-02-29", "2024-03-31"]
        );
    }
}
