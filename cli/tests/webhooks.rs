//! Webhooks over HTTP, on both stores, against the real `timether serve
//! --allow-http-webhooks` and a receiver on loopback: the subscriptions API (role matrix,
//! validation, SSRF refusals, the limit of 20, isolation), signed deliveries verified by hand
//! and with the Standard Webhooks reference library (PyPI `standardwebhooks`), redaction,
//! retries recorded in `deliveries`, 410, redirects not followed, rotation's double
//! signatures, test pings — and the local latency from a change to the receiver.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use common::{Actor, Kind, World};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Ok,
    FailOnce,
    Gone,
    Redirect,
}

#[derive(Clone)]
struct Got {
    path: String,
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

#[derive(Clone)]
struct Receiver {
    mode: Arc<Mutex<Mode>>,
    got: Arc<Mutex<Vec<Got>>>,
    addr: SocketAddr,
}

async fn receive(State(r): State<Receiver>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> Response {
    let mut got = r.got.lock().unwrap();
    let id = headers.get("webhook-id").cloned();
    let seen = got.iter().filter(|g| g.headers.get("webhook-id") == id.as_ref()).count();
    got.push(Got { path: uri.path().to_string(), headers, body, at: Instant::now() });
    match *r.mode.lock().unwrap() {
        _ if uri.path() == "/elsewhere" => StatusCode::OK.into_response(),
        Mode::Ok => StatusCode::OK.into_response(),
        Mode::FailOnce if seen == 0 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::FailOnce => StatusCode::NO_CONTENT.into_response(),
        Mode::Gone => StatusCode::GONE.into_response(),
        Mode::Redirect => (StatusCode::FOUND, [("location", format!("http://{}/elsewhere", r.addr))]).into_response(),
    }
}

impl Receiver {
    async fn start(mode: Mode) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let r = Receiver { mode: Arc::new(Mutex::new(mode)), got: Arc::default(), addr };
        let app = axum::Router::new().fallback(receive).with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        r
    }
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.addr.port())
    }
    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
    /// Waits until `n` requests arrived (at most `secs`).
    async fn wait_for(&self, n: usize, secs: u64) -> Vec<Got> {
        let until = Instant::now() + Duration::from_secs(secs);
        while self.got().len() < n && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.got()
    }
}

async fn world(kind: Kind) -> World {
    World::new_with(kind, &["--allow-http-webhooks"]).await
}

async fn create(w: &World, a: &Actor, url: &str, types: Value) -> Value {
    w.post(a, "/webhooks", json!({"url": url, "event_types": types, "description": "ci"})).await.expect(201).clone()
}

fn header<'a>(g: &'a Got, name: &str) -> &'a str {
    g.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// Verifies a delivery by hand: `v1,base64(HMAC-SHA256(key, id.ts.body))` for each secret.
fn signed_with(g: &Got, secret: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    m.update(format!("{}.{}.", header(g, "webhook-id"), header(g, "webhook-timestamp")).as_bytes());
    m.update(&g.body);
    let want = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes()));
    header(g, "webhook-signature").split(' ').any(|s| s == want)
}

/// Verifies deliveries with the Standard Webhooks reference library (Python).
fn verified_by_library(secret: &str, got: &[Got]) -> bool {
    let python = std::env::var("TIMETHER_TEST_PYTHON").expect("run with scripts/test (installs standardwebhooks)");
    let messages: Vec<Value> = got
        .iter()
        .map(|g| {
            json!({"body": String::from_utf8(g.body.to_vec()).unwrap(), "headers": {
                "webhook-id": header(g, "webhook-id"), "webhook-timestamp": header(g, "webhook-timestamp"),
                "webhook-signature": header(g, "webhook-signature")}})
        })
        .collect();
    let script = "import json,sys\nfrom standardwebhooks.webhooks import Webhook\nd=json.load(sys.stdin)\n\
                  wh=Webhook(d['secret'])\nfor m in d['messages']:\n    wh.verify(m['body'], m['headers'])\nprint('ok')";
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json!({"secret": secret, "messages": messages}).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok"
}

async fn deliveries_are_signed_redacted_and_isolated(kind: Kind) {
    let w = world(kind).await;
    let r = Receiver::start(Mode::Ok).await;
    let other_r = Receiver::start(Mode::Ok).await;
    let (other_ws, other_owner) = w.other_workspace().await;
    let mine = create(&w, &w.manager, &r.url(), json!(["*"])).await;
    let secret = mine["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(&secret[6..]).unwrap().len(), 32);
    let body = json!({"url": other_r.url(), "event_types": ["project.created"]});
    w.s.call(&other_owner, &other_ws, "POST", "/webhooks", Some(body)).await.expect(201);
    // Changes: a project (cost-free view), the owner's timer, a membership change.
    let p = w.post(&w.owner, "/projects", json!({"name": "Site", "hourly_rate_cents": 9000})).await.expect(201).clone();
    w.post(&w.member, "/timer/start", json!({"project_id": p["id"]})).await.expect(201);
    w.post(&w.member, "/timer/stop", json!({})).await.expect(200);
    w.patch(&w.owner, &format!("/memberships/{}", w.viewer.user_id), json!({"role": "member"})).await.expect(200);
    let got = r.wait_for(6, 10).await;
    let types: Vec<&str> = got.iter().map(|g| header(g, "timether-event-type")).collect();
    for t in ["project.created", "time_entry.created", "timer.started", "timer.stopped", "membership.updated"] {
        assert!(types.contains(&t), "{t} not delivered: {types:?}");
    }
    for g in &got {
        let detail: Value = serde_json::from_slice(&g.body).unwrap();
        assert_eq!(header(g, "content-type"), "application/json");
        assert_eq!(header(g, "webhook-id"), detail["event_id"].as_str().unwrap());
        assert_eq!(header(g, "timether-webhook-id"), mine["id"].as_str().unwrap());
        assert_eq!(header(g, "timether-event-type"), detail["type"].as_str().unwrap());
        let ts: i64 = header(g, "webhook-timestamp").parse().unwrap();
        assert!((ts - shared::domain::time::now_secs()).abs() < 60);
        assert_eq!(detail["workspace_id"], json!(w.ws));
        assert_eq!(detail["schema_version"], json!(1));
        assert!(signed_with(g, &secret), "signature by hand");
        let text = String::from_utf8_lossy(&g.body);
        for banned in ["cost", "capacity", "tmt_", "token", "hash"] {
            assert!(!text.contains(banned), "{banned} in {text}");
        }
    }
    assert!(verified_by_library(&secret, &got), "standardwebhooks (PyPI) verifies every delivery");
    let wrong = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode([1u8; 32]));
    assert!(!verified_by_library(&wrong, &got[..1]), "and refuses another secret");
    // Isolation: the other workspace's webhook got nothing of this one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(other_r.got().is_empty(), "another workspace's events leaked");
    // The delivery log and the object's last_delivery.
    let id = mine["id"].as_str().unwrap();
    let list = w.get(&w.owner, &format!("/webhooks/{id}/deliveries")).await.expect(200).clone();
    let rows = list["data"].as_array().unwrap();
    assert_eq!(rows.len(), got.len());
    // Newest first, also within one second.
    assert_eq!(rows[0]["type"], json!("membership.updated"));
    assert_eq!(rows[rows.len() - 1]["type"], json!("project.created"));
    for row in rows {
        assert_eq!((row["status"].clone(), row["attempts"].clone()), (json!("delivered"), json!(1)));
        assert_eq!((row["response_status"].clone(), row["error"].clone()), (json!(200), Value::Null));
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 9, "{row}");
    }
    let one = w.get(&w.owner, &format!("/webhooks/{id}")).await.expect(200).clone();
    assert_eq!(one["last_delivery"]["status"], json!("delivered"));
    assert!(one.get("secret").is_none());
}

async fn the_api_follows_the_contract(kind: Kind) {
    let w = World::new(kind).await;
    let url = "https://hooks.example.com/timether";
    for a in [&w.member, &w.viewer] {
        w.get(a, "/webhooks").await.expect_err(403, "insufficient_role");
        w.post(a, "/webhooks", json!({"url": url, "event_types": ["*"]})).await.expect_err(403, "insufficient_role");
    }
    let created = create(&w, &w.owner, url, json!(["project.created", "timer.stopped"])).await;
    let keys: Vec<&str> = created.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "id",
        "url",
        "event_types",
        "active",
        "description",
        "created_at",
        "updated_at",
        "disabled_reason",
        "last_delivery",
        "secret",
    ] {
        assert!(keys.contains(&k), "{k} missing: {created}");
    }
    assert_eq!((created["active"].clone(), created["last_delivery"].clone()), (json!(true), Value::Null));
    let id = created["id"].as_str().unwrap();
    // Validation: SSRF, schemes, event types.
    for bad in [
        "https://10.0.0.1/x",
        "https://192.168.1.10/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://93.184.216.34/x",
        "http://hooks.example.com/x",
        "https://localhost/x",
        "http://127.0.0.1:9/x",
        "ftp://hooks.example.com/x",
        "not a url",
    ] {
        let r = w.post(&w.owner, "/webhooks", json!({"url": bad, "event_types": ["*"]})).await;
        r.expect_err(422, "validation_failed");
        assert!(r.body["error"]["fields"]["url"].is_string(), "{bad}: {}", r.body);
        w.patch(&w.owner, &format!("/webhooks/{id}"), json!({"url": bad})).await.expect_err(422, "validation_failed");
    }
    for types in [json!([]), json!(["nope"]), json!("*"), json!(["*", "project.created"]), Value::Null] {
        let r = w.post(&w.owner, "/webhooks", json!({"url": url, "event_types": types})).await;
        r.expect_err(422, "validation_failed");
        assert!(r.body["error"]["fields"]["event_types"].is_string());
    }
    // PATCH, GET, list, 404s, other workspace.
    let patched = w.patch(&w.manager, &format!("/webhooks/{id}"), json!({"active": false, "description": null})).await;
    assert_eq!((patched.body["active"].clone(), patched.body["description"].clone()), (json!(false), Value::Null));
    let list = w.get(&w.owner, "/webhooks").await.expect(200).clone();
    assert_eq!((list["data"].as_array().unwrap().len(), list["next_cursor"].clone()), (1, Value::Null));
    assert!(list["data"][0].get("secret").is_none());
    w.get(&w.owner, "/webhooks/whNope").await.expect_err(404, "not_found");
    // Bodiless POSTs: a body that is sent must be JSON (415 / 400), checked before the 404;
    // a bad cursor is a 400 before the unknown webhook's 404.
    let auth = format!("Bearer {}", w.owner.token);
    let text = [("authorization", auth.as_str()), ("x-workspace-id", w.ws.as_str()), ("content-type", "text/plain")];
    let json_h =
        [("authorization", auth.as_str()), ("x-workspace-id", w.ws.as_str()), ("content-type", "application/json")];
    for hook in [id, "whNope"] {
        for op in ["rotate-secret", "test"] {
            let path = format!("/api/v1/webhooks/{hook}/{op}");
            w.s.send("POST", &path, &text, Some("hello".into())).await.expect_err(415, "unsupported_media_type");
            w.s.send("POST", &path, &json_h, Some("{".into())).await.expect_err(400, "invalid_json");
        }
    }
    w.get(&w.owner, "/webhooks/whNope/deliveries?cursor=garbage").await.expect_err(400, "invalid_cursor");
    let (other, other_owner) = w.other_workspace().await;
    w.s.call(&other_owner, &other, "GET", &format!("/webhooks/{id}"), None).await.expect_err(404, "not_found");
    w.s.call(&other_owner, &other, "DELETE", &format!("/webhooks/{id}"), None).await.expect_err(404, "not_found");
    // The limit: 20 per workspace, a slot comes back on delete.
    for _ in 1..20 {
        create(&w, &w.owner, url, json!(["*"])).await;
    }
    w.post(&w.owner, "/webhooks", json!({"url": url, "event_types": ["*"]})).await.expect_err(409, "webhook_limit");
    let page = w.get(&w.owner, "/webhooks?limit=15").await.expect(200).clone();
    let next = page["next_cursor"].as_str().unwrap().to_string();
    let rest = w.get(&w.owner, &format!("/webhooks?limit=15&cursor={next}")).await.expect(200).clone();
    assert_eq!((page["data"].as_array().unwrap().len(), rest["data"].as_array().unwrap().len()), (15, 5));
    w.delete(&w.owner, &format!("/webhooks/{id}")).await.expect(204);
    w.delete(&w.owner, &format!("/webhooks/{id}")).await.expect_err(404, "not_found");
    create(&w, &w.owner, url, json!(["*"])).await;
}

async fn retries_are_recorded_and_410_disables(kind: Kind) {
    let w = world(kind).await;
    let r = Receiver::start(Mode::FailOnce).await;
    let hook = create(&w, &w.owner, &r.url(), json!(["client.created"])).await;
    let id = hook["id"].as_str().unwrap();
    w.post(&w.owner, "/clients", json!({"name": "Acme"})).await.expect(201);
    let got = r.wait_for(2, 15).await;
    assert_eq!(got.len(), 2, "one failure, then the retry within 10 s");
    assert_eq!(header(&got[0], "webhook-id"), header(&got[1], "webhook-id"), "stable webhook-id");
    let gap = got[1].at - got[0].at;
    assert!(gap <= Duration::from_secs(10), "first retry after {gap:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = w.get(&w.owner, &format!("/webhooks/{id}/deliveries")).await.expect(200).clone();
    let row = &rows["data"][0];
    assert_eq!((row["status"].clone(), row["attempts"].clone()), (json!("delivered"), json!(2)));
    assert_eq!(r.got().len(), 2, "exactly one success");
    // 410 Gone: deactivated at once, with a reason; re-activating clears it.
    *r.mode.lock().unwrap() = Mode::Gone;
    w.post(&w.owner, "/clients", json!({"name": "Globex"})).await.expect(201);
    r.wait_for(3, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let one = w.get(&w.owner, &format!("/webhooks/{id}")).await.expect(200).clone();
    assert_eq!(one["active"], json!(false));
    assert!(one["disabled_reason"].as_str().unwrap().contains("410"));
    let again = w.patch(&w.owner, &format!("/webhooks/{id}"), json!({"active": true})).await.expect(200).clone();
    assert_eq!((again["active"].clone(), again["disabled_reason"].clone()), (json!(true), Value::Null));
}

async fn redirects_are_not_followed(kind: Kind) {
    let w = world(kind).await;
    let r = Receiver::start(Mode::Redirect).await;
    // Even with --allow-http-webhooks: http only to loopback, never a private address.
    for bad in ["http://hooks.example.com/x", "https://10.0.0.1/x", "http://192.168.0.1/x"] {
        w.post(&w.owner, "/webhooks", json!({"url": bad, "event_types": ["*"]}))
            .await
            .expect_err(422, "validation_failed");
    }
    let local = format!("http://localhost:{}/hook", r.addr.port());
    w.post(&w.owner, "/webhooks", json!({"url": local, "event_types": ["tag.deleted"]})).await.expect(201);
    let hook = create(&w, &w.owner, &r.url(), json!(["*"])).await;
    let id = hook["id"].as_str().unwrap();
    w.post(&w.owner, &format!("/webhooks/{id}/test"), json!({})).await.expect(202);
    r.wait_for(1, 10).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(r.got().iter().all(|g| g.path == "/hook"), "the redirect was followed");
    let rows = w.get(&w.owner, &format!("/webhooks/{id}/deliveries")).await.expect(200).clone();
    let row = &rows["data"][0];
    assert_eq!((row["status"].clone(), row["response_status"].clone()), (json!("pending"), json!(302)));
    assert!(row["next_attempt_at"].is_string());
    assert_eq!(row["type"], json!("webhook.test"));
}

async fn rotation_signs_twice_for_a_day(kind: Kind) {
    let w = world(kind).await;
    let r = Receiver::start(Mode::Ok).await;
    let hook = create(&w, &w.owner, &r.url(), json!(["tag.created"])).await;
    let (id, old) = (hook["id"].as_str().unwrap(), hook["secret"].as_str().unwrap());
    let rotated = w.post(&w.owner, &format!("/webhooks/{id}/rotate-secret"), json!({})).await.expect(200).clone();
    let new = rotated["secret"].as_str().unwrap();
    assert!(new.starts_with("whsec_") && new != old);
    w.post(&w.owner, &format!("/webhooks/{id}/test"), json!({})).await.expect(202);
    let got = r.wait_for(1, 10).await;
    assert_eq!(header(&got[0], "timether-event-type"), "webhook.test");
    let sigs: Vec<&str> = header(&got[0], "webhook-signature").split(' ').collect();
    assert_eq!(sigs.len(), 2, "both signatures during the overlap");
    assert!(signed_with(&got[0], new) && signed_with(&got[0], old));
    assert!(verified_by_library(new, &got) && verified_by_library(old, &got));
    // The first signature is the new secret's.
    let only_new = Got {
        headers: {
            let mut h = got[0].headers.clone();
            h.insert("webhook-signature", sigs[0].parse().unwrap());
            h
        },
        ..got[0].clone()
    };
    assert!(signed_with(&only_new, new));
}

/// Change → receiver, measured: 50 creates, each waited for.
async fn local_latency(kind: Kind) {
    let w = world(kind).await;
    let r = Receiver::start(Mode::Ok).await;
    create(&w, &w.owner, &r.url(), json!(["tag.created"])).await;
    let mut lat = vec![];
    for i in 0..50 {
        let t0 = Instant::now();
        w.post(&w.owner, "/tags", json!({"name": format!("t{i}")})).await.expect(201);
        let got = r.wait_for(i + 1, 10).await;
        lat.push((got[i].at - t0).as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "local delivery latency ({kind:?}), request start → receiver: p50 {:.1} ms, p99 {:.1} ms",
        lat[24], lat[48]
    );
    assert!(lat[48] < 5000.0, "a delivery starts within 5 s");
}

both_stores!(
    deliveries_are_signed_redacted_and_isolated,
    the_api_follows_the_contract,
    retries_are_recorded_and_410_disables,
    redirects_are_not_followed,
    rotation_signs_twice_for_a_day,
    local_latency
);
