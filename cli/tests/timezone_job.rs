//! The time-zone change job, black-box on both stores: many entries, a zone change that
//! answers at once, the process killed while the job runs, a restart that resumes it, and
//! then every report equals the brute-force recomputation in the new zone. Also: reports carry
//! `Timether-Reattribution: running` meanwhile, and a second change while the first runs
//! converges to the latest zone.
//!
//! Sizes: 20,000 entries on the embedded store; 3,000 on DynamoDB Local (which creates about
//! 100-150 entries/s through the API on a shared CI machine; `TIMETHER_TZ_TEST_ENTRIES`
//! overrides both). The kill: on SQLite the server runs with a pause after each chunk
//! (`TIMETHER_FAULT_TZ_CHUNK_DELAY_MS`) and is SIGKILLed once `entries_done` shows the job
//! mid-way; on DynamoDB the runner is stopped between two chunks by
//! `TIMETHER_FAULT_TZ_STOP_AFTER_CHUNKS` (the job visibly pending), then the process is
//! SIGKILLed. Both restart without faults.

mod common;

use common::brute::{check_reports_over, Rng};
use common::{wait_for_reattribution, Kind, Server, World};
use futures::StreamExt;
use serde_json::{json, Value};

const RANGES: [(&str, &str); 5] = [
    ("2026-01-01", "2026-06-30"),
    ("2026-02-03", "2026-02-17"),
    ("2026-03-29", "2026-03-29"),
    ("2026-04-27", "2026-05-10"),
    ("2026-06-24", "2026-07-05"),
];

fn entry_count(kind: Kind) -> usize {
    let default = if kind == Kind::Sqlite { 20_000 } else { 3_000 };
    std::env::var("TIMETHER_TZ_TEST_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `n` entries of three members on two projects (and none), January to June 2026, at every
/// hour of the UTC day, so each zone change moves many of them to another local day.
async fn populate(w: &World, n: usize) {
    let mut projects = vec![Value::Null];
    for (name, rate) in [("Alpha", 12_000), ("Beta", 9_000)] {
        let r = w.post(&w.owner, "/projects", json!({"name": name, "hourly_rate_cents": rate})).await;
        projects.push(r.expect(201)["id"].clone());
    }
    let users = [w.owner.user_id.clone(), w.manager.user_id.clone(), w.member.user_id.clone()];
    let mut rng = Rng(0x5EED_7E57);
    let bodies: Vec<Value> = (0..n)
        .map(|_| {
            let day = jiff::civil::Date::constant(2026, 1, 1) + jiff::Span::new().days(rng.below(181) as i64);
            let start = format!("{day}T{:02}:{:02}:00Z", rng.below(24), rng.below(60));
            let mut b =
                json!({"start": start, "duration_seconds": 60 + rng.below(4 * 3600), "user_id": rng.pick(&users)});
            b["project_id"] = rng.pick(&projects).clone();
            if rng.below(4) == 0 {
                b["billable"] = json!(false);
            }
            b
        })
        .collect();
    let started = std::time::Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(bodies)
        .map(|b| async move { w.post(&w.owner, "/time-entries", b).await.status })
        .buffer_unordered(12)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 201), "every entry is created");
    println!("{n} entries created in {:.1} s", started.elapsed().as_secs_f64());
}

/// Polls the workspace until `ok` holds for its `timezone_change`.
async fn until(w: &World, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let ws = w.get(&w.owner, "/workspace").await.expect(200).clone();
        if ok(&ws["timezone_change"]) {
            return ws;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}: {ws}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn done(c: &Value) -> i64 {
    c["entries_done"].as_i64().unwrap_or(-1)
}

async fn reattribution_header(w: &World) -> Option<String> {
    let r = w.get(&w.owner, "/reports/cost?from=2026-03-01&to=2026-03-31").await;
    r.expect(200);
    r.header("timether-reattribution").map(str::to_string)
}

/// Faults that keep a job observably running: a pause after every chunk, or (DynamoDB) a
/// runner stopped after three chunks.
fn faults(kind: Kind) -> Vec<(&'static str, &'static str)> {
    match kind {
        Kind::Sqlite => vec![("TIMETHER_FAULT_TZ_CHUNK_DELAY_MS", "100")],
        Kind::Dynamo => vec![("TIMETHER_FAULT_TZ_STOP_AFTER_CHUNKS", "3")],
    }
}

async fn crash_and_resume(w: &mut World, n: usize) {
    let r = w.patch(&w.owner, "/workspace", json!({"timezone": "Pacific/Auckland"})).await;
    let body = r.expect(200);
    assert_eq!(body["timezone"], "Pacific/Auckland");
    let change = &body["timezone_change"];
    let keys: Vec<&String> = change.as_object().expect("timezone_change is an object").keys().collect();
    assert_eq!(keys.len(), 5, "{change}");
    assert_eq!(
        (&change["status"], &change["from"], &change["to"], &change["entries_done"]),
        (&json!("running"), &json!("UTC"), &json!("Pacific/Auckland"), &json!(0))
    );
    assert!(change["started_at"].as_str().is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok()), "{change}");
    assert_eq!(reattribution_header(w).await.as_deref(), Some("running"));
    // Mid-way: some chunks saved, far from all.
    let seen = if w.s.kind == Kind::Sqlite {
        until(w, "the job mid-way", |c| done(c) >= 600).await
    } else {
        // Wait for the fault: the runner stops between two chunks, the job stays pending.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        let stopped = |log: String| log.lines().any(|l| l.contains("fault injected") && l.contains(w.ws.as_str()));
        while !stopped(std::fs::read_to_string(&w.s.stderr_log).unwrap_or_default()) {
            assert!(std::time::Instant::now() < deadline, "the fault hook never stopped the runner");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let a = w.get(&w.owner, "/workspace").await.expect(200).clone();
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let b = w.get(&w.owner, "/workspace").await.expect(200).clone();
        assert_eq!(a["timezone_change"], b["timezone_change"], "the runner stopped after three chunks");
        b
    };
    let mid = done(&seen["timezone_change"]);
    assert!(mid > 0 && mid < n as i64, "the job must be mid-way: {seen}");
    w.s.restart(&[]).await;
    let after = w.get(&w.owner, "/workspace").await.expect(200).clone();
    assert_eq!(after["timezone_change"]["to"], "Pacific/Auckland", "the job survived the kill: {after}");
    let finished = wait_for_reattribution(w).await;
    assert_eq!(finished["timezone"], "Pacific/Auckland");
    assert_eq!(reattribution_header(w).await, None);
    check_reports_over(w, "after crash and resume", &RANGES).await;
}

async fn second_change_converges(w: &mut World) {
    w.s.restart(&[("TIMETHER_FAULT_TZ_CHUNK_DELAY_MS", "100")]).await;
    w.patch(&w.owner, "/workspace", json!({"timezone": "America/New_York"})).await.expect(200);
    until(w, "the first job under way", |c| done(c) > 0).await;
    let r = w.patch(&w.owner, "/workspace", json!({"timezone": "Asia/Kolkata"})).await;
    let change = r.expect(200)["timezone_change"].clone();
    assert_eq!((&change["from"], &change["to"]), (&json!("America/New_York"), &json!("Asia/Kolkata")), "{change}");
    assert_eq!(reattribution_header(w).await.as_deref(), Some("running"));
    let finished = wait_for_reattribution(w).await;
    assert_eq!(finished["timezone"], "Asia/Kolkata");
    check_reports_over(w, "after a second change mid-way", &RANGES).await;
}

async fn timezone_change_job(kind: Kind) {
    let n = entry_count(kind);
    let mut w = World::on(Server::start_with(kind, &faults(kind)).await).await;
    populate(&w, n).await;
    let t = std::time::Instant::now();
    crash_and_resume(&mut w, n).await;
    println!("{kind:?}: crash and resume of {n} entries in {:.1} s", t.elapsed().as_secs_f64());
    second_change_converges(&mut w).await;
}

both_stores!(timezone_change_job);
