//! `hot`: concurrent writers creating entries on ONE project for a fixed time, through the
//! real router (gate, prefetch, one transaction per create) over DynamoDB Local. Prints
//! entries/s, latency percentiles, the transactions DynamoDB cancelled for conflicts (and
//! the store retried), optimistic retries, errors — and then checks that every report over
//! the day and the week equals the brute-force sums of the entries actually stored.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::Request;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use shared::app::{App, AppState, StoreConfig};
use shared::domain::model::{Role, TimeEntry};
use shared::domain::reports::{self, Range};
use shared::store::keys::{self, WorkspaceKey};
use shared::store::{DynStore, Item, Page, Query, Store, StoreError, Write};
use tower::ServiceExt;

/// Counts writes and the ones refused by a condition (each refusal is an optimistic retry).
struct WriteCounter {
    inner: DynStore,
    writes: AtomicU64,
    refused: AtomicU64,
    /// Per item: how many transactions wrote or checked it.
    touched: std::sync::Mutex<std::collections::HashMap<(String, String), u64>>,
}

#[async_trait]
impl Store for WriteCounter {
    async fn get(&self, key: &keys::Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[keys::Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.inner.batch_get(keys).await
    }
    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        if writes.len() > 1 {
            let mut t = self.touched.lock().unwrap();
            for w in &writes {
                *t.entry((w.key().pk().to_string(), w.key().sk().to_string())).or_default() += 1;
            }
        }
        let r = self.inner.write(writes).await;
        if matches!(r, Err(StoreError::ConditionFailed { .. })) {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        self.inner.query(q).await
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}

struct Setup {
    app: AppState,
    counter: Arc<WriteCounter>,
    ws: WorkspaceKey,
    project: String,
    tokens: Vec<String>,
}

async fn setup(endpoint: &str, members: usize) -> Setup {
    let cfg = StoreConfig::Dynamo { endpoint: Some(endpoint.into()), table: "timether-bench-hot".into(), create: true };
    let store = shared::app::open_store(&cfg).await.unwrap();
    let counter = Arc::new(WriteCounter {
        inner: store,
        writes: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        touched: Default::default(),
    });
    let pepper = shared::auth::pepper::Pepper::new(secrecy::SecretString::from("bench".to_string()), None);
    let app: AppState = Arc::new(App::new(counter.clone(), pepper));
    let st = &*app.store;
    let plan = shared::domain::model::Plan::Business;
    let w = shared::domain::workspaces::create_workspace(st, "Hot", plan, "UTC").await.unwrap();
    let ws = WorkspaceKey::for_operator(&w.id).unwrap();
    let mut tokens = vec![];
    for i in 0..members {
        let email = format!("{}@bench.io", shared::domain::ids::random_base62(10).to_lowercase());
        let u = shared::domain::members::create_user(st, &email, None).await.unwrap();
        let role = if i == 0 { Role::Owner } else { Role::Member };
        crate::add(st, &ws, &u, role, 4000, 3000 + 100 * i as i64).await;
        let new = shared::domain::tokens::NewToken {
            name: "hot".into(),
            expires_at: None,
            read_only: false,
            workspace_ids: None,
        };
        let t = shared::auth::token::mint(&app.pepper, &u.id);
        tokens.push(shared::domain::tokens::issue(st, t, &u.id, new).await.unwrap().token.expose_secret().to_string());
    }
    let now = shared::domain::time::fmt(shared::domain::time::now());
    let p = shared::domain::catalog::Project {
        id: shared::domain::ids::new_id("prj"),
        name: "Hot".into(),
        client_id: None,
        billable: true,
        hourly_rate_cents: Some(12000),
        color: None,
        archived: false,
        created_at: now.clone(),
        updated_at: now,
        version: 1,
    };
    shared::domain::catalog::create(st, &ws, None, p.clone()).await.unwrap();
    Setup { app, counter, ws, project: p.id, tokens }
}

/// One writer: creates entries on the project until `until`; returns (latency ms, status).
async fn writer(
    router: shared::http::BoxedApp,
    ws: String,
    token: String,
    project: String,
    until: Instant,
) -> Vec<(f64, u16)> {
    let mut out = vec![];
    let mut x = rand_seed(&token);
    while Instant::now() < until {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let start = 1_772_409_600 + 8 * 3600 + (x % 36_000) as i64; // 2026-03-02 08:00–18:00 UTC
        let body = json!({"project_id": project, "start": shared::domain::time::fmt_secs(start),
                          "duration_seconds": 60 + (x >> 20) % 3600, "billable": !(x >> 40).is_multiple_of(4)});
        let req = Request::post("/api/v1/time-entries")
            .header("authorization", format!("Bearer {token}"))
            .header("x-workspace-id", &ws)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let t = Instant::now();
        let resp = router.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let _ = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
        out.push((t.elapsed().as_secs_f64() * 1e3, status));
    }
    out
}

fn rand_seed(s: &str) -> u64 {
    s.bytes().fold(0x9E37_79B9_7F4A_7C15u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01B3)) | 1
}

/// `hot --dynamodb-endpoint URL [--writers 50] [--members 50] [--seconds 30]`.
pub async fn hot(endpoint: &str, writers: usize, members: usize, seconds: u64) {
    let s = setup(endpoint, members.max(1)).await;
    let router = shared::http::BoxedApp::new(shared::http::app(timether::all_routes(), s.app.clone()));
    // Warm up: each token once (its first use records last_used_at), then settle.
    for t in &s.tokens {
        let req = Request::get("/api/v1/me")
            .header("authorization", format!("Bearer {t}"))
            .header("x-workspace-id", s.ws.id())
            .body(Body::empty())
            .unwrap();
        router.clone().oneshot(req).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.counter.touched.lock().unwrap().clear();
    let (conflicts0, writes0, refused0) = (
        shared::store::dynamo::conflict_retries(),
        s.counter.writes.load(Ordering::Relaxed),
        s.counter.refused.load(Ordering::Relaxed),
    );
    let until = Instant::now() + Duration::from_secs(seconds);
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|i| {
            let token = s.tokens[i % s.tokens.len()].clone();
            tokio::spawn(writer(router.clone(), s.ws.id().to_string(), token, s.project.clone(), until))
        })
        .collect();
    let mut results = vec![];
    for t in tasks {
        results.extend(t.await.unwrap());
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let conflicts = shared::store::dynamo::conflict_retries() - conflicts0;
    let writes = s.counter.writes.load(Ordering::Relaxed) - writes0;
    let refused = s.counter.refused.load(Ordering::Relaxed) - refused0;
    let ok = results.iter().filter(|(_, st)| *st == 201).count();
    let mut errors: BTreeMap<u16, usize> = BTreeMap::new();
    for (_, st) in results.iter().filter(|(_, st)| *st != 201) {
        *errors.entry(*st).or_default() += 1;
    }
    let (p50, p99) = crate::stats(results.iter().map(|r| r.0).collect());
    let max = results.iter().map(|r| r.0).fold(0.0, f64::max);
    println!("{writers} writers ({members} members) on one project, {seconds} s, DynamoDB Local");
    println!("| created | entries/s | p50 ms | p99 ms | max ms | conflict retries | write calls | refused (optimistic retries) | errors |");
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {ok} | {:.1} | {p50:.1} | {p99:.1} | {max:.0} | {conflicts} | {writes} | {refused} | {errors:?} |",
        ok as f64 / elapsed
    );
    hottest_items(&s, ok);
    check_reports(&s, ok).await;
}

/// The items most transactions shared: on DynamoDB, concurrent transactions on one item
/// cancel each other, so the hottest item's share bounds what one project can take.
fn hottest_items(s: &Setup, transactions: usize) {
    let t = s.counter.touched.lock().unwrap();
    let mut v: Vec<(&(String, String), &u64)> = t.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1));
    for ((pk, sk), n) in v.iter().take(4) {
        let share = **n as f64 * 100.0 / transactions.max(1) as f64;
        println!("hot item {pk} / {sk}: in {n} transactions ({share:.1}% of the entries created)");
    }
}

/// Brute force: every stored entry of the month, summed per member and per project, against
/// the reports over the day (daily items) and the week (weekly items).
async fn check_reports(s: &Setup, created: usize) {
    let st = &*s.app.store;
    let q = Query::all(keys::entries_in_month(&s.ws, "2026-03"), 1000);
    let rows = shared::store::paging::query_all(st, q).await.unwrap();
    let entries: Vec<TimeEntry> =
        rows.into_iter().map(|(i, _)| serde_json::from_value(Value::Object(i)).unwrap()).collect();
    assert_eq!(entries.len(), created, "stored entries = 201 responses");
    let mut by_member: BTreeMap<String, (i64, i128)> = BTreeMap::new();
    let (mut bs, mut ns, mut cost, mut revenue) = (0i64, 0i64, 0i128, 0i128);
    for e in &entries {
        let d = e.duration().unwrap();
        let c = d as i128 * e.internal_hourly_cost_cents.unwrap_or(0) as i128;
        if e.billable {
            bs += d;
            revenue += d as i128 * e.billable_rate_cents.unwrap_or(0) as i128;
        } else {
            ns += d;
        }
        cost += c;
        let m = by_member.entry(e.user_id.clone()).or_default();
        m.0 += d;
        m.1 += c;
    }
    let d = |s: &str| s.parse::<jiff::civil::Date>().ok();
    let mut checked = 0;
    for (from, to) in [("2026-03-02", "2026-03-02"), ("2026-03-02", "2026-03-08"), ("2026-02-23", "2026-03-15")] {
        let range = Range::parse(d(from), d(to)).unwrap();
        let p = reports::profitability(st, &s.ws, range).await.unwrap().body;
        let row = &p["data"][0];
        assert_eq!(p["data"].as_array().unwrap().len(), 1);
        assert_eq!(row["project_id"], json!(s.project));
        assert_eq!((row["billable_seconds"].as_i64(), row["non_billable_seconds"].as_i64()), (Some(bs), Some(ns)));
        assert_eq!(row["revenue_cents"], json!(reports::round_hours(revenue)));
        assert_eq!(row["cost_cents"], json!(reports::round_hours(cost)));
        let c = reports::cost(st, &s.ws, range, Some("member")).await.unwrap().body;
        assert_eq!(c["total"], json!({"seconds": bs + ns, "cost_cents": reports::round_hours(cost)}));
        let groups: BTreeMap<String, (i64, i64)> = c["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let id = g["user_id"].as_str().unwrap().to_string();
                (id, (g["total"]["seconds"].as_i64().unwrap(), g["total"]["cost_cents"].as_i64().unwrap()))
            })
            .collect();
        let want: BTreeMap<String, (i64, i64)> =
            by_member.iter().map(|(u, (sec, c))| (u.clone(), (*sec, reports::round_hours(*c)))).collect();
        assert_eq!(groups, want);
        let u = reports::utilization(st, &s.ws, range).await.unwrap().body;
        for row in u["data"].as_array().unwrap() {
            let tracked = row["tracked_seconds"].as_i64().unwrap();
            let uid = row["user_id"].as_str().unwrap();
            let want = if row["week_start"] == json!("2026-03-02") { by_member.get(uid).map_or(0, |m| m.0) } else { 0 };
            assert_eq!(tracked, want, "{uid} {}", row["week_start"]);
        }
        checked += 1;
    }
    println!(
        "reports check: {checked} ranges × (profitability, cost by member, utilization) equal the brute-force sums of {} stored entries",
        entries.len()
    );
}
