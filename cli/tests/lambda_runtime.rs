//! The deployed binaries really run under Lambda's runtime API: `core` and `integrations`
//! (functions/lambda, what `sam build` ships) are started with each function's
//! `TIMETHER_FUNCTION` against a small runtime-API emulator (the endpoints Lambda serves on
//! `AWS_LAMBDA_RUNTIME_API`), sent API Gateway HTTP API (v2) events, and their responses checked.
//! The pepper comes from Secrets Manager (moto's server on loopback), over DynamoDB Local.

mod common;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};

/// The binary (functions/lambda) that runs a function's entry point, as template.yaml deploys it.
fn binary_of(function: &str) -> &'static str {
    match function {
        "webhooks" | "webhook-dispatch" | "webhook-deliver" | "events" => "integrations",
        _ => "core",
    }
}

/// Builds the deployed binaries once (debug, incremental) and returns the target dir.
fn binaries() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.current_dir(&root).args(["build", "--quiet", "-p", "timether-lambda"]);
        let st = cmd.status().expect("cargo build");
        assert!(st.success(), "building the Lambda binaries failed");
        // target/debug/deps/<test exe> → target/debug
        std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().to_path_buf()
    })
    .clone()
}

#[derive(Default)]
struct Emu {
    events: Mutex<VecDeque<(String, Value)>>,
    ready: Notify,
    next_calls: Mutex<u32>,
    responses: Mutex<Option<mpsc::UnboundedSender<(String, Value)>>>,
    init_errors: Mutex<Vec<String>>,
}

async fn next(State(e): State<Arc<Emu>>) -> axum::response::Response {
    *e.next_calls.lock().unwrap() += 1;
    loop {
        let item = e.events.lock().unwrap().pop_front();
        if let Some((id, ev)) = item {
            let deadline = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
                + 30_000)
                .to_string();
            return axum::response::Response::builder()
                .header("lambda-runtime-aws-request-id", id)
                .header("lambda-runtime-deadline-ms", deadline)
                .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:test")
                .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(ev.to_string()))
                .unwrap();
        }
        e.ready.notified().await;
    }
}

async fn response(State(e): State<Arc<Emu>>, Path(id): Path<String>, body: Bytes) -> &'static str {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(tx) = e.responses.lock().unwrap().as_ref() {
        let _ = tx.send((id, v));
    }
    "{}"
}

async fn init_error(State(e): State<Arc<Emu>>, body: Bytes) -> &'static str {
    e.init_errors.lock().unwrap().push(String::from_utf8_lossy(&body).into());
    "{}"
}

struct Runtime {
    emu: Arc<Emu>,
    addr: String,
    rx: mpsc::UnboundedReceiver<(String, Value)>,
}

impl Runtime {
    async fn start() -> Runtime {
        let emu = Arc::new(Emu::default());
        let (tx, rx) = mpsc::unbounded_channel();
        *emu.responses.lock().unwrap() = Some(tx);
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(response))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(emu.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        Runtime { emu, addr, rx }
    }

    async fn invoke(&mut self, method: &str, path: &str, headers: Value) -> Value {
        let id = format!("req-{}", shared::domain::ids::random_base62(8));
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        let event = json!({
            "version": "2.0", "routeKey": "$default", "rawPath": p, "rawQueryString": q,
            "headers": headers, "isBase64Encoded": false,
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
                "http": {"method": method, "path": p, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
                "requestId": id, "routeKey": "$default", "stage": "$default", "time": "01/Mar/2026:09:00:00 +0000", "timeEpoch": 1772355600000u64
            }
        });
        self.emu.events.lock().unwrap().push_back((id.clone(), event));
        self.emu.ready.notify_waiters();
        self.emu.ready.notify_one();
        let (rid, v) = tokio::time::timeout(Duration::from_secs(20), self.rx.recv())
            .await
            .expect("no response from the function")
            .unwrap();
        assert_eq!(rid, id);
        v
    }
}

fn body(v: &Value) -> Value {
    serde_json::from_str(v["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

fn endpoint(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run the tests with scripts/test"))
}

/// Creates a secret in the local Secrets Manager (moto) and returns its id.
async fn put_secret(value: &str) -> String {
    let sm = endpoint("TIMETHER_TEST_SECRETSMANAGER_ENDPOINT");
    let name = format!("timether-pepper-{}", shared::domain::ids::random_base62(8));
    let r = reqwest::Client::new()
        .post(&sm)
        .header("x-amz-target", "secretsmanager.CreateSecret")
        .header("content-type", "application/x-amz-json-1.1")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=local/20260301/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x")
        .body(json!({"Name": name, "SecretString": value}).to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    name
}

async fn delete_secret(name: &str) {
    let sm = endpoint("TIMETHER_TEST_SECRETSMANAGER_ENDPOINT");
    reqwest::Client::new()
        .post(&sm)
        .header("x-amz-target", "secretsmanager.DeleteSecret")
        .header("content-type", "application/x-amz-json-1.1")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=local/20260301/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x")
        .body(json!({"SecretId": name, "ForceDeleteWithoutRecovery": true}).to_string())
        .send()
        .await
        .unwrap();
}

fn spawn(bin: &str, rt: &Runtime, secret: &str, table: &str) -> tokio::process::Child {
    let path = binaries().join(binary_of(bin));
    tokio::process::Command::new(path)
        .env("TIMETHER_FUNCTION", bin)
        .env("AWS_LAMBDA_RUNTIME_API", &rt.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", bin)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
        .env("TABLE_NAME", table)
        .env("DYNAMODB_ENDPOINT", endpoint("TIMETHER_TEST_DYNAMODB_ENDPOINT"))
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint("TIMETHER_TEST_SECRETSMANAGER_ENDPOINT"))
        .env("TIMETHER_PEPPER_SECRET_ID", secret)
        // The webhook functions' queue (only test pings send to it here).
        .env(
            "WEBHOOK_QUEUE_URL",
            format!("{}/000000000000/timether-webhooks", endpoint("TIMETHER_TEST_SECRETSMANAGER_ENDPOINT")),
        )
        .env("AWS_ENDPOINT_URL_SQS", endpoint("TIMETHER_TEST_SECRETSMANAGER_ENDPOINT"))
        .env_remove("TIMETHER_PEPPER")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn function binary")
}

/// Bootstraps a workspace, owner and token in the shared table with the same pepper.
async fn bootstrap(pepper: &str, table: &str) -> (String, String) {
    let args = [
        "--dynamodb-endpoint".to_string(),
        endpoint("TIMETHER_TEST_DYNAMODB_ENDPOINT"),
        "--table".into(),
        table.into(),
    ];
    let run = |a: Vec<String>| {
        let args = args.clone();
        async move {
            let out = tokio::process::Command::new(common::bin())
                .arg("admin")
                .args(&a)
                .args(&args)
                .env("TIMETHER_PEPPER", pepper)
                .output()
                .await
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            serde_json::from_slice::<Value>(&out.stdout).unwrap()
        }
    };
    let ws = run(vec!["create-workspace".into(), "--name".into(), "L".into(), "--plan".into(), "team".into()]).await
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let email = format!("{}@example.com", shared::domain::ids::random_base62(8).to_lowercase());
    let u = run(vec!["create-user".into(), "--email".into(), email]).await["id"].as_str().unwrap().to_string();
    run(vec![
        "add-member".into(),
        "--workspace".into(),
        ws.clone(),
        "--user".into(),
        u.clone(),
        "--role".into(),
        "owner".into(),
    ])
    .await;
    let t = run(vec!["create-token".into(), "--user".into(), u, "--name".into(), "l".into()]).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    (ws, t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_serves_api_gateway_v2_events() {
    let table = "timether-lambda-tests";
    let pepper = format!("pepper-{}", shared::domain::ids::random_base62(32));
    let secret = put_secret(&json!({"current": pepper}).to_string()).await;
    let (ws, token) = bootstrap(&pepper, table).await;
    let auth = json!({"authorization": format!("Bearer {token}"), "x-workspace-id": ws});
    let probes: &[(&str, &str, u16)] = &[
        ("workspace", "/api/v1/me", 200),
        ("tokens", "/api/v1/tokens", 200),
        ("clients", "/api/v1/clients", 200),
        ("projects", "/api/v1/projects", 200),
        ("tags", "/api/v1/tags", 200),
        ("time-entries", "/api/v1/time-entries", 200),
        ("timer", "/api/v1/timer", 404),
        ("reports", "/api/v1/reports/cost?from=2026-03-01&to=2026-03-31", 200),
        ("webhooks", "/api/v1/webhooks", 200),
    ];
    for (bin, path, status) in probes {
        let mut rt = Runtime::start().await;
        let mut child = spawn(bin, &rt, &secret, table);
        // Unauthenticated: 401 JSON from the gate.
        let r = rt.invoke("GET", path, json!({})).await;
        assert_eq!(r["statusCode"], json!(401), "{bin}: {r}");
        assert_eq!(body(&r)["error"]["code"], json!("unauthorized"));
        // Authenticated with a token hashed under the pepper the function fetched.
        let r = rt.invoke("GET", path, auth.clone()).await;
        assert_eq!(r["statusCode"], json!(*status), "{bin}: {r}");
        // Unknown paths and wrong methods are JSON 404/405 from the function's router.
        let r = rt.invoke("GET", "/api/v1/nope", json!({})).await;
        assert_eq!(
            (r["statusCode"].clone(), body(&r)["error"]["code"].clone()),
            (json!(404), json!("route_not_found")),
            "{bin}"
        );
        let r = rt.invoke("PUT", path, json!({})).await;
        assert_eq!(r["statusCode"], json!(405), "{bin}: {r}");
        child.kill().await.unwrap();
    }
    // The public OpenAPI document (workspace function).
    let mut rt = Runtime::start().await;
    let _child = spawn("workspace", &rt, &secret, table);
    let r = rt.invoke("GET", "/api/v1/openapi.json", json!({})).await;
    assert_eq!(r["statusCode"], json!(200));
    assert_eq!(body(&r)["openapi"], json!("3.1.0"));
    // Fetched once per cold start: with the secret gone, the warm function keeps working.
    delete_secret(&secret).await;
    let r = rt.invoke("GET", "/api/v1/me", auth.clone()).await;
    assert_eq!(r["statusCode"], json!(200), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_fails_the_cold_start() {
    let rt = Runtime::start().await;
    let child = spawn("workspace", &rt, "timether-no-such-secret", "timether-lambda-tests");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the process must exit")
        .unwrap();
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("cold start failed") && log.contains("timether-no-such-secret"), "{log}");
    assert_eq!(*rt.emu.next_calls.lock().unwrap(), 0, "it must not ask for events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_secret_fails_the_cold_start_without_printing_it() {
    let secret = put_secret("not json: hunter2-pepper").await;
    let rt = Runtime::start().await;
    let child = spawn("tokens", &rt, &secret, "timether-lambda-tests");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the process must exit")
        .unwrap();
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("cold start failed"), "{log}");
    assert!(!log.contains("hunter2"), "the secret value leaked into the log");
    assert_eq!(*rt.emu.next_calls.lock().unwrap(), 0);
}
