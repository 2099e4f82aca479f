//! `cargo run --release -p timether-bench -- <what>` — prints figures, asserts nothing.
//!
//! - `round-trips --dynamodb-endpoint URL`: store round trips per request (DynamoDB Local),
//!   counted by a wrapper around the real store, requests served in-process by the real router.
//! - `latency`: gate (`GET /me`) and `POST /time-entries` latency on the embedded store.
//! - `baseline [--addr A]`: a bare hyper hello-world, the baseline `bench/http-load` compares
//!   `timether serve` against (wrk, same settings, same run).
//! - `fixed [--addr A] [--middleware]`: axum answering `GET /api/v1/me` with a fixed body of the
//!   same size, alone or inside `timether serve`'s middleware (no gate, no store): the reference
//!   rows of `bench/http-load`, which split the gap to bare hyper into framework and application.
//! - `reports [--members N] [--weeks W] [--per-week K] [--dynamodb-endpoint URL]`: loads a
//!   workspace, times each report (median of runs) and prints items read and peak RSS.
//! - `reattribute [--entries N] [--members M] [--dynamodb-endpoint URL]`: loads N entries,
//!   changes the time zone, runs the time-zone job to the end (one pass: no settle wait) and
//!   prints entries re-attributed per second.
//! - `hot --dynamodb-endpoint URL [--writers 50] [--members 50] [--seconds 30]`: concurrent
//!   writers creating entries on one project; entries/s, p99, conflicts, errors, and a
//!   brute-force check of the reports afterwards.

mod hot;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Method, Request};
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use shared::app::{App, AppState, StoreConfig};
use shared::store::keys::WorkspaceKey;
use shared::store::{CountingStore, DynStore};
use tower::ServiceExt;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    RoundTrips {
        #[arg(long)]
        dynamodb_endpoint: String,
    },
    Latency {
        #[arg(long, default_value_t = 500)]
        n: usize,
    },
    /// Init-to-ready of Lambda binaries: process start until the runtime API's first `next`.
    LambdaInit {
        /// Binaries to start (native architecture).
        binaries: Vec<std::path::PathBuf>,
        #[arg(long, default_value_t = 15)]
        starts: usize,
    },
    /// A bare hyper hello-world on `addr`: the baseline of `bench/http-load`.
    Baseline {
        #[arg(long, default_value = "127.0.0.1:3999")]
        addr: std::net::SocketAddr,
    },
    /// axum with a fixed `GET /api/v1/me`, alone or inside the served middleware.
    Fixed {
        #[arg(long, default_value = "127.0.0.1:3997")]
        addr: std::net::SocketAddr,
        #[arg(long)]
        middleware: bool,
    },
    Reports {
        #[arg(long, default_value_t = 300)]
        members: usize,
        #[arg(long, default_value_t = 52)]
        weeks: usize,
        #[arg(long, default_value_t = 10)]
        per_week: usize,
        #[arg(long)]
        dynamodb_endpoint: Option<String>,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Entries re-attributed per second by the time-zone job.
    Reattribute {
        #[arg(long, default_value_t = 20_000)]
        entries: usize,
        #[arg(long, default_value_t = 20)]
        members: usize,
        #[arg(long)]
        dynamodb_endpoint: Option<String>,
    },
    /// Concurrent writers creating entries on one project (DynamoDB Local).
    Hot {
        #[arg(long)]
        dynamodb_endpoint: String,
        #[arg(long, default_value_t = 50)]
        writers: usize,
        /// Distinct members the writers are (1: every writer is the same member).
        #[arg(long, default_value_t = 50)]
        members: usize,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
}

struct World {
    router: shared::http::BoxedApp,
    app: AppState,
    counter: Arc<CountingStore>,
    ws: String,
    token: String,
    member: String,
}

pub(crate) async fn add(
    st: &dyn shared::store::Store,
    ws: &WorkspaceKey,
    u: &shared::domain::model::User,
    role: shared::domain::model::Role,
    capacity: i64,
    cost: i64,
) {
    use shared::domain::input::Patch;
    let planning = shared::domain::memberships::Planning::undated(Patch::Value(capacity), Patch::Value(cost));
    let today = shared::domain::capacity::today_in("UTC");
    shared::domain::memberships::add_direct(st, ws, today, u, role, &planning).await.unwrap();
}

async fn world(store: DynStore) -> World {
    let counter = Arc::new(CountingStore::new(store));
    let pepper = shared::auth::pepper::Pepper::new(secrecy::SecretString::from("bench-pepper".to_string()), None);
    let app: AppState = Arc::new(App::new(counter.clone(), pepper));
    let st = &*app.store;
    let w = shared::domain::workspaces::create_workspace(
        st,
        "Bench",
        shared::domain::model::Plan::Business,
        "Europe/Berlin",
    )
    .await
    .unwrap();
    let ws = WorkspaceKey::for_operator(&w.id).unwrap();
    let u =
        shared::domain::members::create_user(st, &format!("{}@bench.io", shared::domain::ids::random_base62(8)), None)
            .await
            .unwrap();
    add(st, &ws, &u, shared::domain::model::Role::Owner, 4000, 5000).await;
    let u2 =
        shared::domain::members::create_user(st, &format!("{}@bench.io", shared::domain::ids::random_base62(8)), None)
            .await
            .unwrap();
    add(st, &ws, &u2, shared::domain::model::Role::Member, 4000, 3000).await;
    let new = shared::domain::tokens::NewToken {
        name: "bench".into(),
        expires_at: None,
        read_only: false,
        workspace_ids: None,
    };
    let token = shared::domain::tokens::issue(st, shared::auth::token::mint(&app.pepper, &u.id), &u.id, new)
        .await
        .unwrap()
        .token;
    let router = shared::http::BoxedApp::new(shared::http::app(timether::all_routes(), app.clone()));
    World { router, app: app.clone(), counter, ws: w.id, token: token.expose_secret().to_string(), member: u2.id }
}

impl World {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value, u64) {
        let (status, body, calls, _) = self.timed(method, path, body).await;
        (status, body, calls)
    }

    /// A request through the router; returns status, body, store round trips and the time
    /// the router took (excluding the settle pause before it).
    async fn timed(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value, u64, f64) {
        self.timed_as(&self.token, method, path, body).await
    }

    /// A user with a token, member of nothing (for invitations).
    async fn outsider(&self) -> (String, String, String) {
        let email = format!("{}@bench.io", shared::domain::ids::random_base62(8).to_lowercase());
        let st = &*self.app.store;
        let u = shared::domain::members::create_user(st, &email, Some("Invitee".into())).await.unwrap();
        let new = shared::domain::tokens::NewToken {
            name: "b".into(),
            expires_at: None,
            read_only: false,
            workspace_ids: None,
        };
        let t = shared::auth::token::mint(&self.app.pepper, &u.id);
        let t = shared::domain::tokens::issue(st, t, &u.id, new).await.unwrap().token;
        (u.id, email, t.expose_secret().to_string())
    }

    async fn timed_as(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value, u64, f64) {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"))
            .header("authorization", format!("Bearer {token}"))
            .header("x-workspace-id", &self.ws);
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).unwrap();
        // Let the previous request's off-path `last_used_at` write settle before counting.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        self.counter.reset();
        let t = Instant::now();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let calls = self.counter.calls();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), calls, ms)
    }
}

async fn round_trips(endpoint: &str) {
    let store = shared::app::open_store(&StoreConfig::Dynamo {
        endpoint: Some(endpoint.into()),
        table: "timether-bench".into(),
        create: true,
    })
    .await
    .unwrap();
    let w = world(store).await;
    // Warm up (and record last_used_at once so it is not written again within the minute).
    w.call(Method::GET, "/me", None).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let client =
        w.call(Method::POST, "/clients", Some(json!({"name": "Acme"}))).await.1["id"].as_str().unwrap().to_string();
    let project = w
        .call(Method::POST, "/projects", Some(json!({"name": "Site", "client_id": client, "hourly_rate_cents": 100})))
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_string();
    let tag = w.call(Method::POST, "/tags", Some(json!({"name": "t"}))).await.1["id"].as_str().unwrap().to_string();
    let entry = w
        .call(Method::POST, "/time-entries", Some(json!({"start": "2026-03-02T09:00:00Z", "duration_seconds": 60})))
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cases: Vec<(&str, Method, String, Option<Value>)> = vec![
        ("GET /me", Method::GET, "/me".into(), None),
        ("GET /workspace", Method::GET, "/workspace".into(), None),
        ("GET /memberships", Method::GET, "/memberships".into(), None),
        (
            "PATCH /memberships/{id}",
            Method::PATCH,
            format!("/memberships/{}", w.member),
            Some(json!({"internal_hourly_cost_cents": 3100})),
        ),
        ("POST /clients", Method::POST, "/clients".into(), Some(json!({"name": "Other"}))),
        ("PATCH /clients/{id}", Method::PATCH, format!("/clients/{client}"), Some(json!({"name": "Acme 2"}))),
        (
            "POST /projects (with client)",
            Method::POST,
            "/projects".into(),
            Some(json!({"name": "P2", "client_id": client})),
        ),
        ("POST /tags", Method::POST, "/tags".into(), Some(json!({"name": "u"}))),
        ("PATCH /tags/{id} (rename)", Method::PATCH, format!("/tags/{tag}"), Some(json!({"name": "v"}))),
        (
            "POST /time-entries",
            Method::POST,
            "/time-entries".into(),
            Some(json!({"start": "2026-03-03T09:00:00Z", "duration_seconds": 60})),
        ),
        (
            "POST /time-entries (project+tag)",
            Method::POST,
            "/time-entries".into(),
            Some(
                json!({"start": "2026-03-03T10:00:00Z", "duration_seconds": 60, "project_id": project, "tag_ids": [tag]}),
            ),
        ),
        (
            "PATCH /time-entries/{id}",
            Method::PATCH,
            format!("/time-entries/{entry}"),
            Some(json!({"duration_seconds": 120})),
        ),
        ("GET /time-entries (member)", Method::GET, format!("/time-entries?user_id={}", w.member), None),
        ("GET /time-entries (workspace)", Method::GET, "/time-entries".into(), None),
        ("POST /timer/start", Method::POST, "/timer/start".into(), Some(json!({}))),
        ("GET /timer", Method::GET, "/timer".into(), None),
        ("POST /timer/stop", Method::POST, "/timer/stop".into(), Some(json!({}))),
        (
            "GET /reports/utilization (1 year)",
            Method::GET,
            "/reports/utilization?from=2026-01-01&to=2026-12-31".into(),
            None,
        ),
    ];
    println!("| request | status | DynamoDB round trips |\n|---|---|---|");
    for (label, m, path, body) in cases {
        let (status, _, calls) = w.call(m, &path, body).await;
        println!("| {label} | {status} | {calls} |");
    }
    invitation_round_trips(&w).await;
    println!("\n(the gate is 1 BatchGetItem in every row; a month's first entry adds 1 marker write)");
}

/// `POST /memberships` in each case, and the invitee's own endpoints.
async fn invitation_round_trips(w: &World) {
    let row = |label: &str, r: (u16, Value, u64, f64)| println!("| {label} | {} | {} |", r.0, r.2);
    let new_email = format!("{}@bench.io", shared::domain::ids::random_base62(8).to_lowercase());
    let invite = |email: &str| json!({"email": email, "role": "member"});
    row(
        "POST /memberships (new email: invitation)",
        w.timed(Method::POST, "/memberships", Some(invite(&new_email))).await,
    );
    let (known, known_email, known_token) = w.outsider().await;
    let (declining, declining_email, declining_token) = w.outsider().await;
    let (_, withdrawn_email, _) = w.outsider().await;
    row(
        "POST /memberships (known email: invitation)",
        w.timed(Method::POST, "/memberships", Some(invite(&known_email))).await,
    );
    row(
        "POST /memberships (already invited: 409)",
        w.timed(Method::POST, "/memberships", Some(invite(&known_email))).await,
    );
    let member_email = w.call(Method::GET, &format!("/memberships/{}", w.member), None).await.1["email"].clone();
    row(
        "POST /memberships (already active: 409)",
        w.timed(Method::POST, "/memberships", Some(json!({"email": member_email, "role": "member"}))).await,
    );
    w.call(Method::POST, "/memberships", Some(invite(&declining_email))).await;
    let withdrawn = w.call(Method::POST, "/memberships", Some(invite(&withdrawn_email))).await.1["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    row(
        "DELETE /memberships/{id} (withdraw an invitation)",
        w.timed(Method::DELETE, &format!("/memberships/{withdrawn}"), None).await,
    );
    // The invitees' first requests record last_used_at; let that settle before counting.
    for t in [&known_token, &declining_token] {
        w.timed_as(t, Method::GET, "/invitations", None).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    row("GET /invitations", w.timed_as(&known_token, Method::GET, "/invitations", None).await);
    row(
        "POST /invitations/{ws}/accept",
        w.timed_as(&known_token, Method::POST, &format!("/invitations/{}/accept", w.ws), None).await,
    );
    row(
        "DELETE /invitations/{ws} (decline)",
        w.timed_as(&declining_token, Method::DELETE, &format!("/invitations/{}", w.ws), None).await,
    );
    w.call(Method::DELETE, &format!("/memberships/{known}"), None).await;
    row(
        "POST /memberships (former member: reactivated)",
        w.timed(Method::POST, "/memberships", Some(invite(&known_email))).await,
    );
    let _ = declining;
}

pub(crate) fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v[(v.len() * 99 / 100).min(v.len() - 1)])
}

async fn latency(n: usize) {
    let dir = std::env::temp_dir().join(format!("timether-bench-{}", shared::domain::ids::random_base62(8)));
    let store = shared::app::open_store(&StoreConfig::Embedded(dir)).await.unwrap();
    let w = world(store).await;
    let mut gate = vec![];
    for _ in 0..n {
        let (s, _, _, ms) = w.timed(Method::GET, "/me", None).await;
        gate.push(ms);
        assert_eq!(s, 200);
    }
    let mut create = vec![];
    for i in 0..n {
        let body = json!({"start": format!("2026-03-{:02}T09:00:00Z", 1 + i % 28), "duration_seconds": 60 + i});
        let (s, _, _, ms) = w.timed(Method::POST, "/time-entries", Some(body)).await;
        create.push(ms);
        assert_eq!(s, 201);
    }
    let (g50, g99) = stats(gate);
    let (c50, c99) = stats(create);
    println!("embedded store, {n} requests each, in-process router, sequential");
    println!("| request | p50 ms | p99 ms |\n|---|---|---|");
    println!("| GET /me (gate) | {g50:.3} | {g99:.3} |");
    println!("| POST /time-entries | {c50:.3} | {c99:.3} |");
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<f64>().unwrap_or(0.0))
        })
        .unwrap_or(0.0)
        / 1024.0
}

async fn load(
    app: &App,
    ws: &WorkspaceKey,
    users: &[String],
    projects: &[Option<String>],
    weeks: usize,
    per_week: usize,
    salt: u64,
) -> usize {
    let year_start = jiff::civil::date(2026, 1, 5); // a Monday
    let mut n = 0;
    let mut x = 0x2545F4914F6CDD1Du64 ^ salt;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    use futures::StreamExt;
    // Week-major, member-minor: concurrent writes touch different members' aggregates, as
    // in a real workspace where everyone tracks time at once.
    let mut pending = vec![];
    for wk in 0..weeks {
        for k in 0..per_week {
            for (ui, u) in users.iter().enumerate() {
                let day = year_start + jiff::Span::new().days((wk * 7 + (k % 5)) as i64);
                let start = day
                    .at(8 + (rnd() % 9) as i8, (rnd() % 60) as i8, 0, 0)
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .unwrap()
                    .timestamp()
                    .as_second();
                let p = projects[(ui + k) % projects.len()].clone();
                let mut e = shared::domain::entries::new_entry(
                    u,
                    Some(3000 + (ui as i64 % 7) * 500),
                    None,
                    start,
                    Some(start + 1800 + (rnd() % 7200) as i64),
                );
                e.project_id = p;
                e.billable_rate_cents = e.project_id.as_ref().map(|_| 12000);
                e.billable = rnd() % 3 != 0;
                pending.push(e);
                n += 1;
            }
        }
    }
    {
        // Bounded concurrency, through the API's own write path.
        let mut writes = futures::stream::iter(pending.into_iter().map(|e| async move {
            loop {
                match shared::domain::entries::apply(&*app.store, ws, "Europe/Berlin", None, Some(&e)).await {
                    Ok(_) => break,
                    Err(err @ (shared::ApiError::Validation(_) | shared::ApiError::Internal(_))) => {
                        panic!("cannot load: {err}")
                    }
                    Err(err) => {
                        eprintln!("retrying after {err}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            }
        }))
        .buffer_unordered(16);
        while writes.next().await.is_some() {}
    }
    n
}

async fn reports(members: usize, weeks: usize, per_week: usize, endpoint: Option<String>, runs: usize) {
    let cfg = match &endpoint {
        Some(ep) => StoreConfig::Dynamo { endpoint: Some(ep.clone()), table: "timether-bench".into(), create: true },
        None => StoreConfig::Embedded(
            std::env::temp_dir().join(format!("timether-bench-{}", shared::domain::ids::random_base62(8))),
        ),
    };
    let store = shared::app::open_store(&cfg).await.unwrap();
    let pepper = shared::auth::pepper::Pepper::new(secrecy::SecretString::from("bench".to_string()), None);
    let app = App::new(store, pepper);
    let st = &*app.store;
    let w =
        shared::domain::workspaces::create_workspace(st, "Big", shared::domain::model::Plan::Business, "Europe/Berlin")
            .await
            .unwrap();
    let ws = WorkspaceKey::for_operator(&w.id).unwrap();
    let mut users = vec![];
    for _ in 0..members {
        let u = shared::domain::members::create_user(
            st,
            &format!("{}@bench.io", shared::domain::ids::random_base62(10)),
            None,
        )
        .await
        .unwrap();
        add(st, &ws, &u, shared::domain::model::Role::Member, 4000, 4000).await;
        users.push(u.id);
    }
    let mut projects: Vec<Option<String>> = vec![None];
    for i in 1..20 {
        let now = shared::domain::time::fmt(shared::domain::time::now());
        let p = shared::domain::catalog::Project {
            id: shared::domain::ids::new_id("prj"),
            name: format!("Project {i}"),
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
        projects.push(Some(p.id));
    }
    let store_name = if endpoint.is_some() { "DynamoDB Local" } else { "embedded (SQLite)" };
    println!("store: {store_name}; {members} members × {weeks} weeks × {per_week} entries/week");
    println!("| entries | report | range | items read | median ms |\n|---|---|---|---|---|");
    let mut total = 0;
    for round in 0..2 {
        let t = Instant::now();
        total += load(&app, &ws, &users, &projects, weeks, per_week, round).await;
        eprintln!("loaded {total} entries in {:.1} s", t.elapsed().as_secs_f64());
        let year = shared::domain::reports::Range::parse(
            Some(jiff::civil::date(2026, 1, 1)),
            Some(jiff::civil::date(2026, 12, 31)),
        )
        .unwrap();
        let week = shared::domain::reports::Range::parse(
            Some(jiff::civil::date(2026, 6, 8)),
            Some(jiff::civil::date(2026, 6, 14)),
        )
        .unwrap();
        for (label, range) in [("year", year), ("week", week)] {
            for report in ["utilization", "cost by member", "profitability"] {
                let mut times = vec![];
                let mut items = 0;
                for _ in 0..runs {
                    let t = Instant::now();
                    let r = match report {
                        "utilization" => shared::domain::reports::utilization(st, &ws, range).await.unwrap(),
                        "cost by member" => {
                            shared::domain::reports::cost(st, &ws, range, Some("member")).await.unwrap()
                        }
                        _ => shared::domain::reports::profitability(st, &ws, range).await.unwrap(),
                    };
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                    items = r.items_read;
                }
                let (med, _) = stats(times);
                println!("| {total} | {report} | {label} | {items} | {med:.1} |");
            }
        }
    }
    println!("peak RSS: {:.1} MB", peak_rss_mb());
}

/// A minimal runtime-API endpoint: records when the first `GET .../invocation/next` arrives
/// and then holds the request open (the function stays idle, as in Lambda between events).
async fn lambda_init(binaries: Vec<std::path::PathBuf>, starts: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    println!("| function | init-to-ready median ms | min ms | max ms |\n|---|---|---|---|");
    for bin in binaries {
        let mut times = vec![];
        for _ in 0..starts {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let t = Instant::now();
            let mut child = tokio::process::Command::new(&bin)
                .env("AWS_LAMBDA_RUNTIME_API", &addr)
                .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
                .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
                .env("TABLE_NAME", "bench")
                .env("EVENT_BUS_NAME", "bench")
                .env("TIMETHER_PEPPER", "bench-pepper")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "x")
                .env("AWS_SECRET_ACCESS_KEY", "x")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let n = sock.read(&mut buf).await.unwrap();
            let elapsed = t.elapsed().as_secs_f64() * 1e3;
            assert!(String::from_utf8_lossy(&buf[..n]).contains("/runtime/invocation/next"));
            times.push(elapsed);
            let _ = sock.shutdown().await;
            let _ = child.kill().await;
        }
        let min = times.iter().copied().fold(f64::MAX, f64::min);
        let max = times.iter().copied().fold(0.0, f64::max);
        let (med, _) = stats(times);
        // The stack's one `bootstrap` runs the entry point TIMETHER_FUNCTION names (inherited).
        let entry = std::env::var("TIMETHER_FUNCTION").map(|f| format!(" ({f})")).unwrap_or_default();
        println!("| {}{entry} | {med:.1} | {min:.1} | {max:.1} |", bin.display());
    }
}

/// Loads `entries` entries (Europe/Berlin), changes the zone to Pacific/Auckland (every entry
/// whose Berlin day differs moves) and runs the job to its end in this process.
async fn reattribute(entries: usize, members: usize, endpoint: Option<String>) {
    let cfg = match &endpoint {
        Some(ep) => StoreConfig::Dynamo { endpoint: Some(ep.clone()), table: "timether-bench".into(), create: true },
        None => StoreConfig::Embedded(
            std::env::temp_dir().join(format!("timether-bench-{}", shared::domain::ids::random_base62(8))),
        ),
    };
    let store = shared::app::open_store(&cfg).await.unwrap();
    let pepper = shared::auth::pepper::Pepper::new(secrecy::SecretString::from("bench".to_string()), None);
    let app = App::new(store, pepper);
    let st = &*app.store;
    let plan = shared::domain::model::Plan::Business;
    let w = shared::domain::workspaces::create_workspace(st, "Zones", plan, "Europe/Berlin").await.unwrap();
    let ws = WorkspaceKey::for_operator(&w.id).unwrap();
    let mut users = vec![];
    for _ in 0..members {
        let email = format!("{}@bench.io", shared::domain::ids::random_base62(10));
        let u = shared::domain::members::create_user(st, &email, None).await.unwrap();
        add(st, &ws, &u, shared::domain::model::Role::Member, 4000, 4000).await;
        users.push(u.id);
    }
    let per_week = 5;
    let weeks = entries.div_ceil(members * per_week);
    let t = Instant::now();
    let n = load(&app, &ws, &users, &[None], weeks, per_week, 7).await;
    eprintln!("loaded {n} entries in {:.1} s", t.elapsed().as_secs_f64());
    shared::domain::workspaces::modify(st, &ws, |w| {
        let from = std::mem::replace(&mut w.timezone, "Pacific/Auckland".into());
        shared::domain::tzjob::begin(w, &from);
    })
    .await
    .unwrap();
    let settings = shared::domain::tzjob::Settings { chunk: 200, settle: 0 };
    let runner = timether::jobs::LocalRunner::new(app.store.clone(), settings, timether::jobs::Faults::default());
    let t = Instant::now();
    let chunks = runner.run_to_end(&ws).await;
    let secs = t.elapsed().as_secs_f64();
    let store_kind = if endpoint.is_some() { "DynamoDB Local" } else { "SQLite (embedded)" };
    println!("| {store_kind} | {n} | {chunks} | {secs:.1} | {:.0} |", n as f64 / secs);
}

#[tokio::main]
async fn main() {
    match Cli::parse().what {
        What::RoundTrips { dynamodb_endpoint } => round_trips(&dynamodb_endpoint).await,
        What::Latency { n } => latency(n).await,
        What::Baseline { addr } => baseline(addr).await,
        What::Fixed { addr, middleware } => fixed(addr, middleware).await,
        What::LambdaInit { binaries, starts } => lambda_init(binaries, starts).await,
        What::Reports { members, weeks, per_week, dynamodb_endpoint, runs } => {
            reports(members, weeks, per_week, dynamodb_endpoint, runs).await;
        }
        What::Reattribute { entries, members, dynamodb_endpoint } => {
            reattribute(entries, members, dynamodb_endpoint).await;
        }
        What::Hot { dynamodb_endpoint, writers, members, seconds } => {
            hot::hot(&dynamodb_endpoint, writers, members, seconds).await;
        }
    }
}

/// Serves a fixed `GET /api/v1/me` body (the shape and size of the real one) with axum, inside
/// the served middleware when asked (with its tracing, as `timether serve` has).
async fn fixed(addr: std::net::SocketAddr, middleware: bool) {
    async fn me() -> axum::response::Response {
        let body = r#"{"email":"m@bench.example","name":null,"role":"owner","user_id":"usrseOWlxobs86Qj","workspace_id":"wsCqsjgv4feGGZDD"}"#;
        axum::response::IntoResponse::into_response(([(axum::http::header::CONTENT_TYPE, "application/json")], body))
    }
    let router = axum::Router::new().route("/api/v1/me", axum::routing::get(me));
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    println!("listening on http://{}", listener.local_addr().expect("addr"));
    if middleware {
        shared::lambda::init_tracing();
        let app = shared::http::middleware(router, false);
        axum::serve(listener, axum::ServiceExt::<axum::extract::Request>::into_make_service(app)).await.expect("serve");
    } else {
        axum::serve(listener, router).await.expect("serve");
    }
}

/// Serves `hello` with hyper alone (HTTP/1.1 keep-alive), until killed.
async fn baseline(addr: std::net::SocketAddr) {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    println!("listening on http://{}", listener.local_addr().expect("addr"));
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        tokio::spawn(async move {
            let svc = service_fn(|_req| async {
                Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(
                    hyper::body::Bytes::from_static(b"hello"),
                )))
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
        });
    }
}
