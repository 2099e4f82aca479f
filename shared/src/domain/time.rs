//! Time helpers: RFC 3339 in (any offset, fractions truncated), UTC `Z` out, whole seconds.

use jiff::{Timestamp, ToSpan};

/// Now, truncated to whole seconds.
pub fn now() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).expect("now is in range")
}

/// Now as epoch seconds.
pub fn now_secs() -> i64 {
    Timestamp::now().as_second()
}

/// 0000-01-01T00:00:00Z: the first instant RFC 3339 can write (four-digit years).
const FIRST_SECOND: i64 = -62_167_219_200;

/// Parses an RFC 3339 instant; fractional seconds are truncated.
pub fn parse_instant(s: &str) -> Option<Timestamp> {
    // jiff accepts RFC 9557 extensions and lowercase separators; insist on RFC 3339's shape.
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b't') {
        return None;
    }
    if s.contains('[') {
        return None;
    }
    let ts: Timestamp = s.parse().ok()?;
    // An offset can move year 0000 into year -1, which RFC 3339 (and `fmt`) cannot write.
    if ts.as_second() < FIRST_SECOND {
        return None;
    }
    Timestamp::from_second(ts.as_second()).ok()
}

/// Formats as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn fmt(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Epoch seconds → formatted UTC.
pub fn fmt_secs(s: i64) -> String {
    Timestamp::from_second(s).map(fmt).unwrap_or_default()
}

/// Parses formatted UTC back to epoch seconds.
pub fn secs(s: &str) -> Option<i64> {
    s.parse::<Timestamp>().ok().map(jiff::Timestamp::as_second)
}

/// `YYYY-MM` (UTC) of an instant: the shard of the workspace entry listing.
pub fn month_of(ts: Timestamp) -> String {
    ts.strftime("%Y-%m").to_string()
}

/// The months from `from` to `to` inclusive, newest first, as `YYYY-MM`.
pub fn months_desc(from: Timestamp, to: Timestamp) -> Vec<String> {
    let tz = jiff::tz::TimeZone::UTC;
    let mut d = to.to_zoned(tz.clone()).date().first_of_month();
    let start = from.to_zoned(tz).date().first_of_month();
    let mut out = vec![];
    while d >= start && out.len() < 1200 {
        out.push(d.strftime("%Y-%m").to_string());
        d = match d.checked_sub(1.month()) {
            Ok(x) => x,
            Err(_) => break,
        };
    }
    out
}
