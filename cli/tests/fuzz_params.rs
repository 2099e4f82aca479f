//! A deterministic property test (seeded generator, hundreds of cases per store) over what
//! clients type by hand: the report query parameters (`from`/`to`/`group_by`: valid, invalid,
//! calendar edges, huge ranges) and the time fields of entries (`start`/`end`/
//! `duration_seconds` as strings and numbers, offsets, fractions, huge and negative values)
//! on `POST` and `PATCH /time-entries`. Every answer is the contract's success or its
//! client error — never a 5xx — and every accepted entry has `end > start` and lasts at most
//! 168 h, every 200 report is well-formed.

mod common;

use common::{Kind, World};
use jiff::civil::Date;
use serde_json::{json, Value};

/// xorshift64*: deterministic, so a failure names its seed and case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const SEED: u64 = 0x7137_4E7E_2026_0013;
const MAX_DURATION: i64 = 168 * 3600;

fn a_date(r: &mut Rng) -> Date {
    let edges = ["0000-01-01", "0000-01-03", "9999-12-31", "9999-12-27", "9999-12-28", "2024-02-29", "2026-03-02"];
    if r.chance(40) {
        return r.pick(&edges).parse().unwrap();
    }
    let (y, m) = (r.below(10_000) as i16, 1 + r.below(12) as i8);
    Date::new(y, m, 1 + r.below(28) as i8).unwrap()
}

/// A date parameter: mostly well-formed dates, else something a client might mistype.
fn date_param(r: &mut Rng, near: Option<Date>) -> Option<String> {
    let bad = [
        "",
        "2026-13-01",
        "2026-02-30",
        "2023-02-29",
        "2026-1-1",
        "2026-01-01T00:00:00Z",
        "+002026-01-01",
        "-0001-01-01",
        "10000-01-01",
        "2026/01/01",
        "20260101",
        "2026-01-01 ",
        " 2026-01-01",
        "2026-00-10",
        "0000-00-00",
        "9999-12-32",
        "abcdefghij",
        "2026-01-0a",
        "٢٠٢٦-٠١-٠١",
        "2026-01-01%00",
        "2026‐01‐01",
        "%FF%FE",
        "2026-01-01&from=2026-01-02",
    ];
    match r.below(100) {
        0..=4 => None,
        5..=24 => Some(r.pick(&bad).to_string()),
        25..=34 => Some("9".repeat(1 + r.below(300) as usize)),
        _ => {
            let d = match near {
                Some(n) if r.chance(70) => {
                    let days = [0i64, 1, 6, 7, 30, 364, 365, 366, 367, 1000, 3_652_058];
                    let k = *r.pick(&days) * if r.chance(15) { -1 } else { 1 };
                    n.checked_add(jiff::Span::new().days(k)).unwrap_or(n)
                }
                _ => a_date(r),
            };
            Some(d.to_string())
        }
    }
}

fn encode(s: &str) -> String {
    // Keep `%XX` sequences as typed (they are part of the fuzz), escape the rest.
    s.chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' | '.' | '~' | '%' | '&' | '=' => c.to_string(),
            other => other.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
        })
        .collect()
}

/// What a report request should answer when it is unambiguous: `Some(true)` 200,
/// `Some(false)` 400; `None` when the fuzz made it unclear (raw `&`, `%` escapes).
fn expected(from: &Option<String>, to: &Option<String>, group: &Option<String>, report: &str) -> Option<bool> {
    let unclear = |s: &Option<String>| s.as_deref().is_some_and(|s| s.contains(['%', '&', '=']));
    if unclear(from) || unclear(to) || unclear(group) {
        return None;
    }
    let parse = |s: &Option<String>| s.as_deref().filter(|s| s.len() == 10).and_then(|s| s.parse::<Date>().ok());
    let ok_group = report != "cost" || group.as_deref().is_none_or(|g| g == "member" || g == "project");
    let (Some(f), Some(t)) = (parse(from), parse(to)) else { return Some(false) };
    let days = f.until(t).map(|s| s.get_days() as i64 + 1).unwrap_or(i64::MAX);
    Some(ok_group && f <= t && days <= 366)
}

fn is_int(v: &Value) -> bool {
    v.as_i64().is_some()
}

fn check_report_body(report: &str, group: Option<&str>, b: &Value, ctx: &str) {
    let rows = |k: &str| b[k].as_array().unwrap_or_else(|| panic!("{ctx}: no {k}: {b}")).clone();
    assert!(b["from"].is_string() && b["to"].is_string(), "{ctx}: {b}");
    match report {
        "utilization" => {
            for row in rows("data") {
                assert!(row["user_id"].is_string() && row["week_start"].is_string(), "{ctx}: {row}");
                assert!(is_int(&row["tracked_seconds"]) && row["tracked_seconds"].as_i64() >= Some(0), "{ctx}: {row}");
                let monday: Date = row["week_start"].as_str().unwrap().parse().unwrap();
                assert_eq!(monday.weekday(), jiff::civil::Weekday::Monday, "{ctx}: {row}");
            }
        }
        "cost" => {
            for k in ["billable", "non_billable", "total"] {
                assert!(is_int(&b[k]["seconds"]) && is_int(&b[k]["cost_cents"]), "{ctx}: {b}");
            }
            assert_eq!(b.get("groups").is_some(), group.is_some(), "{ctx}: {b}");
        }
        _ => {
            for row in rows("data") {
                for k in ["billable_seconds", "non_billable_seconds", "revenue_cents", "cost_cents", "profit_cents"] {
                    assert!(is_int(&row[k]), "{ctx}: {row}");
                }
            }
        }
    }
}

async fn report_parameters(w: &World, r: &mut Rng, cases: usize) {
    for case in 0..cases {
        let report = *r.pick(&["utilization", "cost", "profitability"]);
        let from = date_param(r, None);
        let near = from.as_deref().and_then(|s| s.parse::<Date>().ok());
        let to = date_param(r, near);
        let groups = ["member", "project", "", "MEMBER", "user", "member,project", "project&group_by=member"];
        let group = (report == "cost" && r.chance(60)).then(|| r.pick(&groups).to_string());
        let mut q = vec![];
        for (k, v) in [("from", &from), ("to", &to), ("group_by", &group)] {
            if let Some(v) = v {
                q.push(format!("{k}={}", encode(v)));
            }
        }
        let duplicated = r.chance(5);
        if duplicated {
            q.push(format!("from={}", a_date(r)));
        }
        let path = format!("/reports/{report}?{}", q.join("&"));
        let resp = w.get(&w.owner, &path).await;
        let ctx = format!("seed {SEED:#x} case {case}: GET {path} → {} {}", resp.status, resp.body);
        match resp.status {
            200 => check_report_body(report, group.as_deref().filter(|_| report == "cost"), &resp.body, &ctx),
            400 => assert_eq!(resp.code(), "invalid_query", "{ctx}"),
            _ => panic!("{ctx}"),
        }
        if let Some(want) = expected(&from, &to, &group, report).filter(|_| !duplicated) {
            assert_eq!(resp.status == 200, want, "{ctx}");
        }
    }
}

/// An instant as a client might send it: RFC 3339 with any offset and fraction, or not.
fn instant(r: &mut Rng, base: i64) -> Value {
    let shift = [0i64, 1, -1, 59, 3600, -3600, 86_400, MAX_DURATION, MAX_DURATION + 1, -MAX_DURATION, 1 << 40];
    let t = base + r.pick(&shift) * if r.chance(50) { 1 } else { -1 } + r.below(7200) as i64;
    let Ok(ts) = jiff::Timestamp::from_second(t) else { return json!("9999-12-31T23:59:59Z") };
    let offsets = ["Z", "z", "+00:00", "-00:00", "+01:00", "+14:00", "-12:00", "+05:45", "+23:59", "+24:00", ""];
    let off = *r.pick(&offsets);
    let frac = *r.pick(&["", ".5", ".999999999", ".1234567891", ".", ",5"]);
    let oddities = [
        json!(t),
        json!(t as f64),
        json!(null),
        json!(""),
        json!("now"),
        json!("2026-03-02"),
        json!("2026-03-02T09:00:00"),
        json!("2026-03-02T24:00:00Z"),
        json!("2026-03-02T23:59:60Z"),
        json!("9999-12-31T23:59:59Z"),
        json!("9999-12-31T23:59:59-14:00"),
        json!("0000-01-01T00:00:00+14:00"),
        json!("-0001-01-01T00:00:00Z"),
        json!("2026-03-02T09:00:00Z[Europe/Berlin]"),
        json!({"at": "2026-03-02T09:00:00Z"}),
    ];
    if r.chance(20) {
        return r.pick(&oddities).clone();
    }
    let parsed_off = match off {
        "" | "Z" | "z" | "+00:00" | "-00:00" => 0,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o[1..3].parse::<i64>().unwrap() * 3600 + o[4..6].parse::<i64>().unwrap() * 60)
        }
    };
    let local = jiff::Timestamp::from_second(ts.as_second() + parsed_off).unwrap_or(ts);
    let text = local.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    json!(format!("{text}{frac}{off}"))
}

fn duration(r: &mut Rng) -> Value {
    let ints = [0i64, 1, 60, 3600, MAX_DURATION - 1, MAX_DURATION, MAX_DURATION + 1, -1, -3600, i64::MAX, i64::MIN];
    match r.below(10) {
        0 => json!(u64::MAX),
        1 => json!(3600.5),
        2 => json!(1e300),
        3 => json!("3600"),
        4 => json!(null),
        _ => json!(r.pick(&ints).wrapping_add(if r.chance(50) { r.below(100) as i64 } else { 0 })),
    }
}

/// Asserts what every stored entry satisfies; returns its (start, end).
fn check_entry(e: &Value, ctx: &str) -> (i64, i64) {
    let secs = |k: &str| {
        let s = e[k].as_str().unwrap_or_else(|| panic!("{ctx}: {k} is not a string: {e}"));
        s.parse::<jiff::Timestamp>().unwrap_or_else(|_| panic!("{ctx}: {k} is not an instant: {e}")).as_second()
    };
    let (start, end) = (secs("start"), secs("end"));
    assert!(end > start, "{ctx}: end must be after start: {e}");
    assert!(end - start <= MAX_DURATION, "{ctx}: longer than 168 h: {e}");
    assert_eq!(e["duration_seconds"].as_i64(), Some(end - start), "{ctx}: {e}");
    (start, end)
}

fn time_body(r: &mut Rng, base: i64) -> serde_json::Map<String, Value> {
    let mut body = serde_json::Map::new();
    if r.chance(85) {
        body.insert("start".into(), instant(r, base));
    }
    if r.chance(55) {
        body.insert("end".into(), instant(r, base + 3600));
    }
    if r.chance(55) {
        body.insert("duration_seconds".into(), duration(r));
    }
    body
}

async fn entry_time_fields(w: &World, r: &mut Rng, cases: usize) {
    // Ordinary times, the epoch, year 0000, and the last representable hours.
    let last = jiff::Timestamp::MAX.as_second();
    let bases =
        [1_772_442_000i64, 0, -62_167_219_200, last - 86_400, last - 3600, jiff::Timestamp::MIN.as_second() + 60];
    let mut ids: Vec<String> = vec![];
    for case in 0..cases {
        let base = *r.pick(&bases);
        let body = time_body(r, base);
        let patch = !ids.is_empty() && r.chance(40);
        let (method, path, ok) = if patch {
            ("PATCH", format!("/time-entries/{}", r.pick(&ids)), 200)
        } else {
            ("POST", "/time-entries".to_string(), 201)
        };
        let resp = w.call(&w.member, method, &path, Some(Value::Object(body.clone()))).await;
        let ctx = format!(
            "seed {SEED:#x} case {case}: {method} {path} {} → {} {}",
            Value::Object(body),
            resp.status,
            resp.body
        );
        if resp.status == ok {
            check_entry(&resp.body, &ctx);
            let id = resp.body["id"].as_str().unwrap().to_string();
            let stored = w.get(&w.member, &format!("/time-entries/{id}")).await;
            assert_eq!(stored.expect(200)["end"], resp.body["end"], "{ctx}");
            if !patch {
                ids.push(id);
            }
        } else {
            assert_eq!((resp.status, resp.code()), (422, "validation_failed"), "{ctx}");
            assert!(resp.body["error"]["fields"].as_object().is_some_and(|f| !f.is_empty()), "{ctx}");
        }
    }
    // Whatever was accepted, every entry still stored holds the invariants.
    let listed = w.get(&w.member, "/time-entries?limit=200").await;
    for e in listed.expect(200)["data"].as_array().unwrap() {
        check_entry(e, "listing");
    }
}

async fn fuzz_parameters_never_5xx(kind: Kind) {
    let w = World::new(kind).await;
    let p = w.post(&w.owner, "/projects", json!({"name": "Fuzz", "hourly_rate_cents": 9000})).await;
    let p = p.expect(201)["id"].as_str().unwrap().to_string();
    let e = json!({"project_id": p, "start": "2026-03-02T09:00:00Z", "duration_seconds": 5400});
    w.post(&w.manager, "/time-entries", e).await.expect(201);
    let mut r = Rng(SEED ^ (kind as u64 + 1));
    report_parameters(&w, &mut r, 400).await;
    entry_time_fields(&w, &mut r, 400).await;
    let log = std::fs::read_to_string(&w.s.stderr_log).unwrap_or_default();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
}

both_stores!(fuzz_parameters_never_5xx);
