//! Reports over HTTP on both stores. The property test drives random sequences of creates,
//! edits, deletes, project moves, timer start/stop, cost changes, dated and undated capacity
//! changes (random capacity histories) and time-zone changes, then checks every report
//! against a brute-force, day-by-day computation over the entries and histories, to the cent.

mod common;

use common::brute::{check_reports_over, Rng};
use common::{wait_for_reattribution, Actor, Kind, World};
use jiff::civil::Date;
use jiff::ToSpan;
use serde_json::{json, Value};

async fn check_reports(w: &World, label: &str) {
    // A time-zone change is re-attributed in the background: reports equal the recomputation
    // in the current zone once it is done.
    wait_for_reattribution(w).await;
    let ranges = [
        ("2026-03-01", "2026-03-31"),
        ("2026-03-04", "2026-03-17"),
        ("2026-03-09", "2026-03-15"),
        ("2026-03-10", "2026-03-10"),
        ("2026-02-27", "2026-03-08"),
        ("2026-02-11", "2026-04-14"),
    ];
    check_reports_over(w, label, &ranges).await;
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
