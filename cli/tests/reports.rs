//! Reports over HTTP on both stores. The property test drives random sequences of creates,
//! edits, deletes, project moves, timer start/stop, cost changes, dated and undated capacity
//! changes (random capacity histories) and time-zone changes, then checks every report
//! against a brute-force, day-by-day computation over the entries and histories, to the cent.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Actor, Kind, World};
use jiff::civil::Date;
use jiff::ToSpan;
use serde_json::{json, Value};

/// A small deterministic generator (xorshift), so failures reproduce from the seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
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

struct Entry {
    user: String,
    project: Option<String>,
    day: Date,
    seconds: i64,
    billable: bool,
    cost: i64,
    rate: i64,
}

async fn snapshot(w: &World) -> (Vec<Entry>, Vec<Value>) {
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

fn expected(entries: &[Entry], members: &[Value], from: Date, to: Date) -> (Value, Value, Value, Value) {
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

async fn check_reports(w: &World, label: &str) {
    let (entries, members) = snapshot(w).await;
    let d = |s: &str| s.parse::<Date>().unwrap();
    for (from, to) in [
        ("2026-03-01", "2026-03-31"),
        ("2026-03-04", "2026-03-17"),
        ("2026-03-09", "2026-03-15"),
        ("2026-03-10", "2026-03-10"),
        ("2026-02-27", "2026-03-08"),
        ("2026-02-11", "2026-04-14"),
    ] {
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

async fn reports_match_brute_force(kind: Kind) {
    for seed in [0x9E3779B97F4A7C15u64, 42] {
        let w = World::new(kind).await;
        let mut rng = Rng(seed);
        let mut projects: Vec<Option<String>> = vec![None];
        for (rate, billable) in [(Some(12345), true), (None, true), (Some(777), false)] {
            let r = w
                .post(
                    &w.owner,
                    "/projects",
                    json!({"name": format!("P{rate:?}{billable}"), "hourly_rate_cents": rate, "billable": billable}),
                )
                .await;
            projects.push(Some(r.expect(201)["id"].as_str().unwrap().to_string()));
        }
        let actors: Vec<Actor> = vec![w.owner.clone(), w.manager.clone(), w.member.clone()];
        let mut ids: Vec<String> = vec![];
        for step in 0..45 {
            match rng.below(10) {
                0..=3 => {
                    let who = rng.pick(&actors).clone();
                    let day = 1 + rng.below(25);
                    let start =
                        format!("2026-03-{day:02}T{:02}:{:02}:{:02}Z", rng.below(24), rng.below(60), rng.below(60));
                    let mut b =
                        json!({"start": start, "duration_seconds": 1 + rng.below(5 * 3600), "user_id": who.user_id});
                    if let Some(p) = rng.pick(&projects) {
                        b["project_id"] = json!(p);
                    }
                    if rng.below(3) == 0 {
                        b["billable"] = json!(rng.below(2) == 0);
                    }
                    let r = w.post(&w.owner, "/time-entries", b).await;
                    ids.push(r.expect(201)["id"].as_str().unwrap().to_string());
                }
                4 | 5 if !ids.is_empty() => {
                    let id = rng.pick(&ids).clone();
                    let mut b = json!({});
                    match rng.below(4) {
                        0 => b["duration_seconds"] = json!(1 + rng.below(8 * 3600)),
                        1 => {
                            b["start"] =
                                json!(format!("2026-03-{:02}T{:02}:30:00-05:00", 1 + rng.below(25), rng.below(24)));
                        }
                        2 => b["project_id"] = rng.pick(&projects).clone().map(Value::from).unwrap_or(Value::Null),
                        _ => b["billable"] = json!(rng.below(2) == 0),
                    }
                    // A start change may push start past end: the API refuses (422) and nothing changes.
                    let r = w.patch(&w.owner, &format!("/time-entries/{id}"), b).await;
                    assert!(r.status == 200 || r.status == 422, "{}", r.body);
                }
                6 if !ids.is_empty() => {
                    let i = rng.below(ids.len() as u64) as usize;
                    w.delete(&w.owner, &format!("/time-entries/{}", ids.remove(i))).await.expect(204);
                }
                7 => {
                    // Timer start in the past, then stop (or leave running: excluded from reports).
                    let who = rng.pick(&actors).clone();
                    let start = format!("2026-03-{:02}T{:02}:00:00Z", 1 + rng.below(25), rng.below(24));
                    let r =
                        w.post(&who, "/timer/start", json!({"start": start, "project_id": rng.pick(&projects)})).await;
                    if r.status == 201 {
                        ids.push(r.body["id"].as_str().unwrap().to_string());
                        if rng.below(3) > 0 {
                            let end =
                                jiff::Timestamp::from_second(jiff::Timestamp::now().as_second().min(
                                    start.parse::<jiff::Timestamp>().unwrap().as_second() + rng.below(30_000) as i64,
                                ))
                                .unwrap();
                            w.post(&who, "/timer/stop", json!({"end": end.to_string()})).await.expect(200);
                        }
                    } else {
                        r.expect_err(409, "timer_already_running");
                        w.post(&who, "/timer/stop", json!({})).await.expect(200);
                    }
                }
                8 => {
                    let who = rng.pick(&actors).clone();
                    let cost = [json!(null), json!(1), json!(4999), json!(123_457)];
                    let cap = [json!(null), json!(0), json!(37.5), json!(40), json!(12.25)];
                    let mut b = json!({"internal_hourly_cost_cents": rng.pick(&cost), "expected_weekly_capacity_hours": rng.pick(&cap)});
                    if rng.below(4) > 0 {
                        // A dated change on a random day, mid-week or not, before, inside or after the ranges checked.
                        let day = Date::constant(2026, 2, 15) + (rng.below(60) as i64).days();
                        b["capacity_effective_from"] = json!(day.to_string());
                    }
                    w.patch(&w.owner, &format!("/memberships/{}", who.user_id), b).await.expect(200);
                }
                _ => {
                    let tz = *rng.pick(&["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"]);
                    w.patch(&w.owner, "/workspace", json!({"timezone": tz})).await.expect(200);
                }
            }
            if step % 15 == 14 {
                check_reports(&w, &format!("seed {seed} step {step}")).await;
            }
        }
        check_reports(&w, &format!("seed {seed} end")).await;
    }
}

async fn reports_validate_and_restrict(kind: Kind) {
    let w = World::new(kind).await;
    for who in [&w.member, &w.viewer] {
        w.get(who, "/reports/utilization?from=2026-03-01&to=2026-03-31").await.expect_err(403, "insufficient_role");
    }
    for q in [
        "",
        "from=2026-03-01",
        "to=2026-03-01",
        "from=2026-03-02&to=2026-03-01",
        "from=2025-01-01&to=2026-01-02",
        "from=2026-3-1&to=2026-03-05",
        "from=2026-03-01&to=2026-03-05&group_by=team",
    ] {
        let r = w.get(&w.owner, &format!("/reports/cost?{q}")).await;
        r.expect_err(400, "invalid_query");
        assert!(r.body["error"]["fields"].is_object());
    }
    w.get(&w.owner, "/reports/profitability?from=2024-01-01&to=2024-12-31").await.expect(200);
    w.get(&w.owner, "/reports/profitability?from=2025-01-01&to=2026-01-01").await.expect(200);
    // The seed's example: 32 h tracked against 40 h capacity is 80.0 %.
    for day in 2..=5 {
        w.post(
            &w.owner,
            "/time-entries",
            json!({"start": format!("2026-03-0{day}T09:00:00Z"), "duration_seconds": 8 * 3600}),
        )
        .await
        .expect(201);
    }
    let r = w.get(&w.owner, "/reports/utilization?from=2026-03-02&to=2026-03-08").await;
    let row =
        r.body["data"].as_array().unwrap().iter().find(|x| x["user_id"] == json!(w.owner.user_id)).unwrap().clone();
    assert_eq!(row["tracked_seconds"], json!(32 * 3600));
    assert_eq!(row["utilization_percent"], json!(80.0));
    assert_eq!(row["capacity_hours"], json!(40));
    // A partial week prorates capacity by weekdays inside the range.
    let r = w.get(&w.owner, "/reports/utilization?from=2026-03-04&to=2026-03-10").await;
    let rows: Vec<&Value> =
        r.body["data"].as_array().unwrap().iter().filter(|x| x["user_id"] == json!(w.owner.user_id)).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["week_start"].clone(), rows[0]["capacity_hours"].clone(), rows[0]["tracked_seconds"].clone()),
        (json!("2026-03-02"), json!(24), json!(16 * 3600))
    );
    assert_eq!((rows[1]["week_start"].clone(), rows[1]["capacity_hours"].clone()), (json!("2026-03-09"), json!(16)));
}

both_stores!(reports_match_brute_force, reports_validate_and_restrict);
