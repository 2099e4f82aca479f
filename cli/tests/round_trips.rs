//! DynamoDB round trips per request, counted on the wire: a small proxy between
//! `timether serve` and DynamoDB Local counts every HTTP request (retries included) by its
//! `X-Amz-Target`, and each route is held to its floor — one round trip to read an object,
//! two to write one (the gate's `BatchGetItem` carries every key the request needs, then one
//! conditional write or transaction), gate + one per page for lists.

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{Kind, World};
use serde_json::json;

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    seen: Mutex<Vec<String>>,
}

async fn forward(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let op = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("?");
    p.seen.lock().unwrap().push(op.rsplit('.').next().unwrap_or(op).to_string());
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let url = format!("{}{}", p.upstream, parts.uri.path_and_query().map_or("/", |x| x.as_str()));
    let mut rb = p.http.request(parts.method.clone(), url);
    for (k, v) in &parts.headers {
        if k != "host" && k != "content-length" {
            rb = rb.header(k, v);
        }
    }
    let Ok(resp) = rb.body(bytes).send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = resp.status();
    let mut headers = HeaderMap::new();
    for (k, v) in resp.headers() {
        if k != "content-length" && k != "transfer-encoding" && k != "connection" {
            headers.insert(k, v.clone());
        }
    }
    let body: Bytes = resp.bytes().await.unwrap_or_default();
    (status, headers, body).into_response()
}

async fn start_proxy(upstream: String) -> (String, Arc<Proxy>) {
    let p = Arc::new(Proxy { upstream, http: reqwest::Client::new(), seen: Mutex::new(vec![]) });
    let app = axum::Router::new().fallback(forward).with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), p)
}

struct Counter<'a> {
    w: &'a World,
    p: &'a Proxy,
    table: Vec<(String, usize, Vec<String>)>,
}

impl Counter<'_> {
    /// Counts the round trips of one request (steady state: the world is warmed up first).
    async fn count(&mut self, label: &str, want: usize, send: impl Fn() -> common::Req + Clone) -> serde_json::Value {
        self.p.seen.lock().unwrap().clear();
        let r = send().run(self.w).await;
        assert!(r.status < 300, "{label}: {} {}", r.status, r.body);
        let seen = std::mem::take(&mut *self.p.seen.lock().unwrap());
        self.table.push((label.to_string(), want, seen));
        r.body
    }
}

async fn round_trips(_: Kind) {
    let upstream = std::env::var("TIMETHER_TEST_DYNAMODB_ENDPOINT").expect("run with scripts/test");
    let (endpoint, proxy) = start_proxy(upstream).await;
    // This test binary holds one test: the variable is read when its server starts.
    std::env::set_var("TIMETHER_TEST_DYNAMODB_ENDPOINT", &endpoint);
    // The time-zone job never runs in this process (its round trips are not a request's):
    // the fault hook stops the runner before its first chunk.
    let s = common::Server::start_with(Kind::Dynamo, &[("TIMETHER_FAULT_TZ_STOP_AFTER_CHUNKS", "0")]).await;
    let w = World::on(s).await;
    let mut c = Counter { w: &w, p: &proxy, table: vec![] };
    let o = w.owner.clone();
    let req = |m: &'static str, path: String, body: Option<serde_json::Value>| {
        let o = o.clone();
        move || common::Req { actor: o.clone(), method: m, path: path.clone(), body: body.clone() }
    };
    // Steady state: every token used once (its `last_used_at` is then fresh for a minute),
    // the month shards of March and of now known to this process, the month index built.
    for a in [&w.owner, &w.manager, &w.member, &w.viewer] {
        w.get(a, "/me").await.expect(200);
    }
    let warm = json!({"start": "2026-03-01T09:00:00Z", "duration_seconds": 60});
    w.post(&o, "/time-entries", warm).await.expect(201);
    w.post(&o, "/timer/start", json!({})).await.expect(201);
    w.post(&o, "/timer/stop", json!({})).await.expect(200);
    w.get(&o, "/time-entries").await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    c.count("GET /me", 1, req("GET", "/me".into(), None)).await;
    c.count("GET /workspace", 1, req("GET", "/workspace".into(), None)).await;
    let client = c.count("POST /clients", 2, req("POST", "/clients".into(), Some(json!({"name": "Acme"})))).await;
    let cid = client["id"].as_str().unwrap().to_string();
    c.count("GET /clients/{id}", 1, req("GET", format!("/clients/{cid}"), None)).await;
    c.count("PATCH /clients/{id}", 2, req("PATCH", format!("/clients/{cid}"), Some(json!({"name": "Acme 2"})))).await;
    c.count("GET /clients", 2, req("GET", "/clients".into(), None)).await;
    let body = json!({"name": "Site", "client_id": cid, "hourly_rate_cents": 10000});
    let project = c.count("POST /projects", 2, req("POST", "/projects".into(), Some(body))).await;
    let pid = project["id"].as_str().unwrap().to_string();
    c.count("PATCH /projects/{id}", 2, req("PATCH", format!("/projects/{pid}"), Some(json!({"color": "#aabbcc"}))))
        .await;
    c.count("POST /tags", 2, req("POST", "/tags".into(), Some(json!({"name": "deep work"})))).await;
    let entry = json!({"project_id": pid, "start": "2026-03-02T09:00:00Z", "duration_seconds": 3600});
    let e = c.count("POST /time-entries (project)", 2, req("POST", "/time-entries".into(), Some(entry))).await;
    let eid = e["id"].as_str().unwrap().to_string();
    c.count("GET /time-entries/{id}", 1, req("GET", format!("/time-entries/{eid}"), None)).await;
    let patch = json!({"description": "x", "project_id": pid});
    c.count("PATCH /time-entries/{id}", 2, req("PATCH", format!("/time-entries/{eid}"), Some(patch))).await;
    let list = "/time-entries?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z".to_string();
    c.count("GET /time-entries (one month)", 2, req("GET", list, None)).await;
    c.count("DELETE /time-entries/{id}", 2, req("DELETE", format!("/time-entries/{eid}"), None)).await;
    let other = c.count("POST /clients", 2, req("POST", "/clients".into(), Some(json!({"name": "Gone"})))).await;
    let gone = other["id"].as_str().unwrap().to_string();
    c.count("DELETE /clients/{id}", 2, req("DELETE", format!("/clients/{gone}"), None)).await;
    c.count("POST /timer/start (project)", 2, req("POST", "/timer/start".into(), Some(json!({"project_id": pid}))))
        .await;
    c.count("GET /timer", 1, req("GET", "/timer".into(), None)).await;
    c.count("PATCH /timer", 2, req("PATCH", "/timer".into(), Some(json!({"description": "y"})))).await;
    c.count("POST /timer/stop", 2, req("POST", "/timer/stop".into(), None)).await;
    let mid = w.member.user_id.clone();
    c.count("GET /memberships/{id}", 1, req("GET", format!("/memberships/{mid}"), None)).await;
    let cap = json!({"expected_weekly_capacity_hours": 32});
    c.count("PATCH /memberships/{id}", 2, req("PATCH", format!("/memberships/{mid}"), Some(cap))).await;
    c.count("GET /memberships", 2, req("GET", "/memberships".into(), None)).await;
    c.count("PATCH /workspace", 2, req("PATCH", "/workspace".into(), Some(json!({"name": "Renamed"})))).await;
    // A zone change adds the job's state and its pending marker to the same transaction.
    let tz = json!({"timezone": "Europe/Berlin"});
    c.count("PATCH /workspace (time zone: starts the job)", 2, req("PATCH", "/workspace".into(), Some(tz))).await;
    c.count("GET /tokens", 2, req("GET", "/tokens".into(), None)).await;
    c.count("DELETE /memberships/{id}", 2, req("DELETE", format!("/memberships/{}", w.viewer.user_id), None)).await;
    let token = c.count("POST /tokens", 2, req("POST", "/tokens".into(), Some(json!({"name": "ci"})))).await;
    let tid = token["id"].as_str().unwrap().to_string();
    c.count("DELETE /tokens/{id}", 2, req("DELETE", format!("/tokens/{tid}"), None)).await;
    // A member with a running timer: deactivation stops it in the same transaction.
    w.post(&w.member, "/timer/start", json!({})).await.expect(201);
    c.count("DELETE /memberships/{id} (running timer)", 2, req("DELETE", format!("/memberships/{mid}"), None)).await;
    // Adding by email looks the email up, then the user's membership: not a single-object
    // write (see docs/benchmarks.md).
    let email = json!({"email": "new.person@example.com", "role": "member"});
    let invited = c.count("POST /memberships (new email)", 3, req("POST", "/memberships".into(), Some(email))).await;
    let invitee = w.s.token_for(invited["user_id"].as_str().unwrap()).await;
    w.get(&invitee, "/invitations").await.expect(200);
    let as_invitee = |m: &'static str, path: String| {
        let a = invitee.clone();
        move || common::Req { actor: a.clone(), method: m, path: path.clone(), body: None }
    };
    c.count("GET /invitations", 3, as_invitee("GET", "/invitations".into())).await;
    c.count("POST /invitations/{ws}/accept", 2, as_invitee("POST", format!("/invitations/{}/accept", w.ws))).await;
    let email = json!({"email": "other.person@example.com", "role": "viewer"});
    let invited = w.post(&o, "/memberships", email).await;
    let decliner = w.s.token_for(invited.expect(201)["user_id"].as_str().unwrap()).await;
    w.get(&decliner, "/invitations").await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let decline = {
        let a = decliner.clone();
        let path = format!("/invitations/{}", w.ws);
        move || common::Req { actor: a.clone(), method: "DELETE", path: path.clone(), body: None }
    };
    c.count("DELETE /invitations/{ws}", 2, decline).await;
    let utilization = "/reports/utilization?from=2026-03-01&to=2026-03-31".to_string();
    c.count("GET /reports/utilization (a month)", 5, req("GET", utilization, None)).await;
    let cost = "/reports/cost?from=2026-03-01&to=2026-03-31&group_by=project".to_string();
    c.count("GET /reports/cost (a month)", 4, req("GET", cost, None)).await;
    let report = "/reports/profitability?from=2026-03-01&to=2026-03-31".to_string();
    c.count("GET /reports/profitability (a month)", 4, req("GET", report, None)).await;
    // Webhooks last: once the workspace has one, the local server reads the changed items of
    // its writes for the delivery queue (a local-only cost; on AWS the stream carries them).
    let hook = json!({"url": "https://hooks.example.com/timether", "event_types": ["*"]});
    let created = c.count("POST /webhooks", 2, req("POST", "/webhooks".into(), Some(hook.clone()))).await;
    let wid = created["id"].as_str().unwrap().to_string();
    c.count("GET /webhooks/{id}", 1, req("GET", format!("/webhooks/{wid}"), None)).await;
    c.count("PATCH /webhooks/{id}", 2, req("PATCH", format!("/webhooks/{wid}"), Some(json!({"description": "ci"}))))
        .await;
    c.count("GET /webhooks", 2, req("GET", "/webhooks".into(), None)).await;
    c.count("GET /webhooks/{id}/deliveries", 2, req("GET", format!("/webhooks/{wid}/deliveries"), None)).await;
    c.count("POST /webhooks/{id}/rotate-secret", 2, req("POST", format!("/webhooks/{wid}/rotate-secret"), None)).await;
    let other = c.count("POST /webhooks", 2, req("POST", "/webhooks".into(), Some(hook))).await;
    let oid = other["id"].as_str().unwrap().to_string();
    c.count("DELETE /webhooks/{id}", 2, req("DELETE", format!("/webhooks/{oid}"), None)).await;
    // Not counted: `POST /webhooks/{id}/test` (gate + one PutItem of the delivery record) hands
    // the ping to the delivery worker, whose reads and writes start at once in the background
    // and would land in the request's window.
    let table = std::mem::take(&mut c.table);
    println!("| request | round trips | operations |\n|---|---|---|");
    for (label, _, seen) in &table {
        println!("| {label} | {} | {} |", seen.len(), seen.join(", "));
    }
    let over: Vec<String> = table
        .iter()
        .filter(|(_, want, seen)| seen.len() > *want)
        .map(|(l, want, seen)| format!("{l}: {} > {want} ({})", seen.len(), seen.join(", ")))
        .collect();
    assert!(over.is_empty(), "round trips above the floor:\n{}", over.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_stays_at_its_round_trip_floor() {
    round_trips(Kind::Dynamo).await;
}
