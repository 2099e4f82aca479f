//! Brute-force report recomputation from the entries and membership histories, shared by
//! the report property test and the time-zone job test.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use jiff::ToSpan;
use serde_json::{json, Value};

use super::World;

/// A small deterministic generator (xorshift), so failures reproduce from the seed.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

fn round_div(n: i128, d: i128) -> i128 {
    let q = (2 * n.abs() + d.abs()) / (2 * d.abs());
    if (n < 0) != (d < 0) {
        -q
    } else {
        q
    }
}

fn tenths(n: i128, d: i128) -> Value {
    if d == 0 {
        Value::Null
    } else {
        json!(round_div(10 * n, d) as f64 / 10.0)
    }
}

fn centi_json(c: i128) -> Value {
    if c % 100 == 0 {
        json!((c / 100) as i64)
    } else {
        json!(c as f64 / 100.0)
    }
}

fn monday(d: Date) -> Date {
    d - (d.weekday().to_monday_zero_offset() as i64).days()
}

pub struct Entry {
    user: String,
    project: Option<String>,
    day: Date,
    seconds: i64,
    billable: bool,
    cost: i64,
    rate: i64,
}

pub async fn snapshot(w: &World) -> (Vec<Entry>, Vec<Value>) {
    let tz = w.get(&w.owner, "/workspace").await.body["timezone"].as_str().unwrap().to_string();
    let zone = jiff::tz::TimeZone::get(&tz).unwrap();
    let mut entries = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/time-entries?limit=200&cursor={c}"),
            None => "/time-entries?limit=200".to_string(),
        };
        let r = w.get(&w.owner, &path).await;
        for e in r.expect(200)["data"].as_array().unwrap() {
            if e["end"].is_null() {
                continue; // running entries are excluded
            }
            let start: jiff::Timestamp = e["start"].as_str().unwrap().parse().unwrap();
            entries.push(Entry {
                user: e["user_id"].as_str().unwrap().into(),
                project: e["project_id"].as_str().map(str::to_string),
                day: start.to_zoned(zone.clone()).date(),
                seconds: e["duration_seconds"].as_i64().unwrap(),
                billable: e["billable"].as_bool().unwrap(),
                cost: e["internal_hourly_cost_cents"].as_i64().unwrap_or(0),
                rate: e["billable_rate_cents"].as_i64().unwrap_or(0),
            });
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let members = w.get(&w.owner, "/memberships?limit=200").await.body["data"].as_array().unwrap().clone();
    (entries, members)
}

fn money(s: i64, c: i128) -> Value {
    json!({"seconds": s, "cost_cents": round_div(c, 3600) as i64})
}

pub fn expected(entries: &[Entry], members: &[Value], from: Date, to: Date) -> (Value, Value, Value, Value) {
    let inside: Vec<&Entry> = entries.iter().filter(|e| e.day >= from && e.day <= to).collect();
    // Utilization.
    let mut users: BTreeSet<String> = members
        .iter()
        .filter(|m| m["active"] == json!(true))
        .map(|m| m["user_id"].as_str().unwrap().to_string())
        .collect();
    users.extend(inside.iter().filter(|e| e.seconds > 0).map(|e| e.user.clone()));
    // Capacity in force on a day, from the member's history (a direct, day-by-day reading).
    let cap_on = |u: &str, day: Date| -> Option<i128> {
        let m = members.iter().find(|m| m["user_id"] == json!(u))?;
        let mut c = None;
        for p in m["capacity_history"].as_array().unwrap() {
            let starts = p["effective_from"].as_str().map(|d| d.parse::<Date>().unwrap());
            if starts.is_none_or(|s| s <= day) {
                c = p["expected_weekly_capacity_hours"].as_f64().map(|h| (h * 100.0).round() as i128);
            }
        }
        c
    };
    let mut rows = vec![];
    let mut week = monday(from);
    while week <= to {
        let days: Vec<Date> = (0..7).map(|i| week + i.days()).filter(|d| *d >= from && *d <= to).collect();
        let weekdays: Vec<Date> = days.iter().copied().filter(|d| d.weekday().to_monday_zero_offset() < 5).collect();
        for u in &users {
            let tracked: i64 = inside.iter().filter(|e| &e.user == u && monday(e.day) == week).map(|e| e.seconds).sum();
            let caps: Vec<Option<i128>> = weekdays.iter().map(|d| cap_on(u, *d)).collect();
            let sum: i128 = caps.iter().map(|c| c.unwrap_or(0)).sum();
            let (capacity, pct) = if caps.is_empty() {
                (json!(0), Value::Null)
            } else if caps.iter().all(Option::is_none) {
                (Value::Null, Value::Null)
            } else {
                (centi_json(round_div(sum, 5)), tenths(tracked as i128 * 100 * 5 * 100, 3600 * sum))
            };
            rows.push(json!({
                "user_id": u, "week_start": week.to_string(), "tracked_seconds": tracked,
                "expected_weekly_capacity_hours": cap_on(u, days[0]).map(centi_json).unwrap_or(Value::Null),
                "capacity_hours": capacity, "utilization_percent": pct,
            }));
        }
        week += 7.days();
    }
    let util = json!({"from": from.to_string(), "to": to.to_string(), "data": rows});
    // Cost, with groups.
    let sums = |es: &[&Entry]| {
        let (mut bs, mut ns, mut bc, mut nc) = (0i64, 0i64, 0i128, 0i128);
        for e in es {
            if e.billable {
                bs += e.seconds;
                bc += e.seconds as i128 * e.cost as i128;
            } else {
                ns += e.seconds;
                nc += e.seconds as i128 * e.cost as i128;
            }
        }
        (money(bs, bc), money(ns, nc), money(bs + ns, bc + nc), bs + ns)
    };
    let (b, n, t, _) = sums(&inside);
    let groups = |key: &dyn Fn(&Entry) -> Option<String>, field: &str| -> Vec<Value> {
        let mut by: BTreeMap<(bool, String), Vec<&Entry>> = BTreeMap::new();
        for e in &inside {
            let k = key(e);
            by.entry((k.is_none(), k.unwrap_or_default())).or_default().push(e);
        }
        by.into_iter()
            .filter_map(|((none, id), es)| {
                let (b, n, t, secs) = sums(&es);
                (secs != 0).then(|| json!({field: if none { Value::Null } else { json!(id) }, "billable": b, "non_billable": n, "total": t}))
            })
            .collect()
    };
    let base = json!({"from": from.to_string(), "to": to.to_string(), "billable": b, "non_billable": n, "total": t});
    let mut by_member = base.clone();
    by_member["groups"] = json!(groups(&|e| Some(e.user.clone()), "user_id"));
    let mut by_project = base.clone();
    by_project["groups"] = json!(groups(&|e| e.project.clone(), "project_id"));
    // Profitability.
    let mut by: BTreeMap<(bool, String), Vec<&Entry>> = BTreeMap::new();
    for e in &inside {
        by.entry((e.project.is_none(), e.project.clone().unwrap_or_default())).or_default().push(e);
    }
    let data: Vec<Value> = by
        .into_iter()
        .filter_map(|((none, id), es)| {
            let bs: i64 = es.iter().filter(|e| e.billable).map(|e| e.seconds).sum();
            let ns: i64 = es.iter().filter(|e| !e.billable).map(|e| e.seconds).sum();
            if bs + ns == 0 {
                return None;
            }
            let revenue = round_div(es.iter().filter(|e| e.billable).map(|e| e.seconds as i128 * e.rate as i128).sum(), 3600) as i64;
            let cost = round_div(es.iter().map(|e| e.seconds as i128 * e.cost as i128).sum(), 3600) as i64;
            let profit = revenue - cost;
            Some(json!({
                "project_id": if none { Value::Null } else { json!(id) }, "billable_seconds": bs, "non_billable_seconds": ns,
                "revenue_cents": revenue, "cost_cents": cost, "profit_cents": profit, "margin_percent": tenths(profit as i128 * 100, revenue as i128),
            }))
        })
        .collect();
    let profit = json!({"from": from.to_string(), "to": to.to_string(), "data": data});
    (util, by_member, by_project, profit)
}

/// Every report over each range equals the brute-force recomputation from the entries (in
/// the workspace's current zone).
pub async fn check_reports_over(w: &World, label: &str, ranges: &[(&str, &str)]) {
    let (entries, members) = snapshot(w).await;
    let d = |s: &str| s.parse::<Date>().unwrap();
    for &(from, to) in ranges {
        let (util, by_member, by_project, profit) = expected(&entries, &members, d(from), d(to));
        let q = format!("from={from}&to={to}");
        assert_eq!(
            w.get(&w.owner, &format!("/reports/utilization?{q}")).await.expect(200),
            &util,
            "{label} utilization {q}"
        );
        assert_eq!(
            w.get(&w.manager, &format!("/reports/cost?{q}&group_by=member")).await.expect(200),
            &by_member,
            "{label} cost/member {q}"
        );
        assert_eq!(
            w.get(&w.owner, &format!("/reports/cost?{q}&group_by=project")).await.expect(200),
            &by_project,
            "{label} cost/project {q}"
        );
        let plain = w.get(&w.owner, &format!("/reports/cost?{q}")).await;
        let mut no_groups = by_member.clone();
        no_groups.as_object_mut().unwrap().remove("groups");
        assert_eq!(plain.expect(200), &no_groups, "{label} cost {q}");
        assert_eq!(
            w.get(&w.owner, &format!("/reports/profitability?{q}")).await.expect(200),
            &profit,
            "{label} profitability {q}"
        );
    }
}
