//! Delivery on both stores with an injectable clock and a real receiver on loopback:
//! fail-N-then-succeed (one success per event, every attempt recorded), always failing ends
//! `failed` after 24 h, 72 h of failures deactivates, 410 deactivates at once, a name that
//! rebinds to loopback is refused at delivery, and the AWS path (stream → SQS → delivery)
//! against moto's SQS.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Map, Value};
use shared::app::{open_store, StoreConfig};
use shared::domain::deliveries::{self, Clock, Deliverer, Job, ManualClock, Next};
use shared::domain::events::DomainEvent;
use shared::domain::webhook_net::{NetPolicy, Resolve, SystemResolver};
use shared::domain::webhooks::{self, SecretBox};
use shared::store::keys::WorkspaceKey;
use shared::store::DynStore;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Ok,
    FailFirst(usize),
    Always(u16),
}

#[derive(Clone)]
struct Receiver {
    mode: Arc<Mutex<Mode>>,
    got: Arc<Mutex<Vec<(HeaderMap, Bytes, u16)>>>,
    addr: SocketAddr,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut got = r.got.lock().unwrap();
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let seen = got.iter().filter(|(h, _, _)| h.get("webhook-id").and_then(|v| v.to_str().ok()) == Some(&id)).count();
    let status = match *r.mode.lock().unwrap() {
        Mode::Ok => 200,
        Mode::FailFirst(n) if seen < n => 503,
        Mode::FailFirst(_) => 204,
        Mode::Always(s) => s,
    };
    got.push((headers, body, status));
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    async fn start(mode: Mode) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let r = Receiver { mode: Arc::new(Mutex::new(mode)), got: Arc::default(), addr };
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        r
    }
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.addr.port())
    }
    fn statuses(&self) -> Vec<u16> {
        self.got.lock().unwrap().iter().map(|(_, _, s)| *s).collect()
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Sqlite,
    Dynamo,
}

async fn store(kind: Kind) -> DynStore {
    let cfg = match kind {
        Kind::Sqlite => {
            let dir = std::env::temp_dir().join(format!("timether-wh-{}", shared::domain::ids::random_base62(10)));
            StoreConfig::Embedded(dir)
        }
        Kind::Dynamo => StoreConfig::Dynamo {
            endpoint: Some(std::env::var("TIMETHER_TEST_DYNAMODB_ENDPOINT").expect("run with scripts/test")),
            table: "timether-webhook-tests".into(),
            create: true,
        },
    };
    open_store(&cfg).await.unwrap()
}

/// The tests' start: now (delivery listings keep 30 days of the real clock).
static T0: std::sync::LazyLock<i64> = std::sync::LazyLock::new(shared::domain::time::now_secs);

fn t0() -> i64 {
    *T0
}

fn secrets() -> SecretBox {
    SecretBox::new(vec![[9u8; 32]])
}

fn deliverer(store: DynStore, clock: Arc<ManualClock>, policy: NetPolicy, resolver: Arc<dyn Resolve>) -> Deliverer {
    Deliverer {
        store,
        secrets: secrets(),
        policy,
        resolver,
        transport: Arc::new(shared::outbound::HttpTransport::new()),
        clock,
        local_queue: true,
    }
}

async fn setup(kind: Kind, url: &str) -> (Deliverer, Arc<ManualClock>, WorkspaceKey, String) {
    let clock = Arc::new(ManualClock::new(t0()));
    let local = NetPolicy { allow_loopback: true };
    let d = deliverer(store(kind).await, clock.clone(), local, Arc::new(SystemResolver));
    let ws = WorkspaceKey::for_tests(&shared::domain::ids::new_id("ws"));
    let id = create_webhook(&d, &ws, url, local, &SystemResolver).await;
    (d, clock, ws, id)
}

async fn create_webhook(d: &Deliverer, ws: &WorkspaceKey, url: &str, p: NetPolicy, r: &dyn Resolve) -> String {
    let body: Map<String, Value> = json!({"url": url, "event_types": ["*"]}).as_object().unwrap().clone();
    let new = webhooks::parse_new(body, p, r).await.unwrap();
    webhooks::create(&*d.store, &d.secrets, ws, new).await.unwrap().webhook.id
}

fn event(ws: &WorkspaceKey, at: i64) -> DomainEvent {
    let id = shared::domain::ids::random_base62(20);
    DomainEvent {
        order: shared::domain::events::order_now(),
        detail_type: "project.created".into(),
        detail: json!({"workspace_id": ws.id(), "event_id": id, "occurred_at": shared::domain::time::fmt_secs(at),
                       "schema_version": 1, "type": "project.created", "resource": {"id": "prj1", "name": "Site"}}),
    }
}

/// Attempts a job until it is done, moving the clock to each next attempt; returns the
/// times of the attempts.
async fn drive(d: &Deliverer, clock: &ManualClock, job: &Job) -> Vec<i64> {
    let mut times = vec![clock.now()];
    let mut job = job.clone();
    loop {
        match deliveries::attempt(d, &job).await.unwrap() {
            Next::Done => return times,
            Next::At(t, next) => {
                clock.set(t);
                times.push(t);
                job = next;
            }
        }
    }
}

async fn deliveries_of(d: &Deliverer, ws: &WorkspaceKey, id: &str) -> Vec<Value> {
    let key = shared::domain::cursor::CursorKey::new("k".to_string().into());
    deliveries::list(&*d.store, &key, ws, id, (None, 50)).await.unwrap().data
}

async fn fails_then_succeeds_once(kind: Kind) {
    let r = Receiver::start(Mode::FailFirst(3)).await;
    let (d, clock, ws, id) = setup(kind, &r.url()).await;
    let e = event(&ws, t0());
    let jobs = deliveries::enqueue(&d, &ws, std::slice::from_ref(&e)).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let times = drive(&d, &clock, &jobs[0]).await;
    assert_eq!(r.statuses(), [503, 503, 503, 204]);
    assert!(times[1] - times[0] <= 10, "first retry within 10 s: {times:?}");
    // Redelivery of the job, or of the event, never sends again.
    assert_eq!(deliveries::attempt(&d, &jobs[0]).await.unwrap(), Next::Done);
    let again = deliveries::enqueue(&d, &ws, &[e]).await.unwrap();
    assert_eq!(again, jobs);
    assert_eq!(deliveries::attempt(&d, &again[0]).await.unwrap(), Next::Done);
    assert_eq!(r.statuses().len(), 4, "exactly one success, no resend");
    let list = deliveries_of(&d, &ws, &id).await;
    let first = list.iter().find(|x| x["event_id"] == json!(jobs[0].event_id)).unwrap();
    assert_eq!(first["status"], json!("delivered"));
    assert_eq!(first["attempts"], json!(4));
    assert_eq!(first["response_status"], json!(204));
    assert_eq!(first["next_attempt_at"], Value::Null);
    let (_, state) = webhooks::get(&*d.store, &ws, &id).await.unwrap();
    let last = state.unwrap().last_delivery.unwrap();
    assert_eq!((last["status"].clone(), last["response_status"].clone()), (json!("delivered"), json!(204)));
}

async fn always_failing_ends_failed_after_24_h(kind: Kind) {
    let r = Receiver::start(Mode::Always(500)).await;
    let (d, clock, ws, id) = setup(kind, &r.url()).await;
    let jobs = deliveries::enqueue(&d, &ws, &[event(&ws, t0())]).await.unwrap();
    let times = drive(&d, &clock, &jobs[0]).await;
    let span = times.last().unwrap() - times[0];
    assert!(span >= deliveries::RETRY_FOR_SECS, "retried for {span} s");
    assert!(span < deliveries::RETRY_FOR_SECS + 8 * 3600, "gave up soon after 24 h: {span} s");
    assert_eq!(r.statuses().len(), times.len());
    let list = deliveries_of(&d, &ws, &id).await;
    assert_eq!(list[0]["status"], json!("failed"));
    assert_eq!(list[0]["attempts"], json!(times.len()));
    assert_eq!(list[0]["error"], json!("HTTP 500"));
    println!(
        "retry schedule (s after the first attempt): {:?}",
        times.iter().map(|t| t - times[0]).collect::<Vec<_>>()
    );
    let (w, _) = webhooks::get(&*d.store, &ws, &id).await.unwrap();
    assert!(w.active, "24 h of failures do not deactivate");
}

async fn seventy_two_hours_of_failures_deactivate(kind: Kind) {
    let r = Receiver::start(Mode::Always(502)).await;
    let (d, clock, ws, id) = setup(kind, &r.url()).await;
    let mut all = vec![];
    for k in 0..8 {
        let t = t0() + k * 11 * 3600;
        clock.set(t);
        let jobs = deliveries::enqueue(&d, &ws, &[event(&ws, t)]).await.unwrap();
        assert_eq!(jobs.len(), 1, "active at {} h", k * 11);
        deliveries::attempt(&d, &jobs[0]).await.unwrap();
        all.push(jobs[0].clone());
    }
    let (w, _) = webhooks::get(&*d.store, &ws, &id).await.unwrap();
    assert!(!w.active, "deactivated after 77 h of failures");
    assert_eq!(w.disabled_reason.as_deref(), Some("every delivery failed for 72 hours"));
    // Pending deliveries of a deactivated webhook end without another request.
    let before = r.statuses().len();
    let job = Job { version: 0, ..all[6].clone() };
    clock.set(t0() + 100 * 3600);
    assert_eq!(deliveries::attempt(&d, &job).await.unwrap(), Next::Done);
    assert_eq!(r.statuses().len(), before);
    // New events are no longer fanned out to it.
    assert!(deliveries::enqueue(&d, &ws, &[event(&ws, t0() + 101 * 3600)]).await.unwrap().is_empty());
}

async fn gone_deactivates_at_once(kind: Kind) {
    let r = Receiver::start(Mode::Always(410)).await;
    let (d, clock, ws, id) = setup(kind, &r.url()).await;
    let jobs = deliveries::enqueue(&d, &ws, &[event(&ws, t0())]).await.unwrap();
    assert_eq!(drive(&d, &clock, &jobs[0]).await.len(), 1);
    let (w, _) = webhooks::get(&*d.store, &ws, &id).await.unwrap();
    assert!(!w.active);
    assert!(w.disabled_reason.unwrap().contains("410"));
    assert_eq!(deliveries_of(&d, &ws, &id).await[0]["status"], json!("failed"));
}

/// A resolver whose answer changes (DNS rebinding).
struct Rebinding(Mutex<IpAddr>);

#[async_trait]
impl Resolve for Rebinding {
    async fn resolve(&self, _host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
        Ok(vec![*self.0.lock().unwrap()])
    }
}

async fn rebinding_is_refused_at_delivery(kind: Kind) {
    let r = Receiver::start(Mode::Ok).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let resolver = Arc::new(Rebinding(Mutex::new("93.184.216.34".parse().unwrap())));
    let strict = NetPolicy::default();
    let d = deliverer(store(kind).await, clock.clone(), strict, resolver.clone());
    let ws = WorkspaceKey::for_tests(&shared::domain::ids::new_id("ws"));
    let url = format!("https://hooks.rebind.test:{}/hook", r.addr.port());
    let id = create_webhook(&d, &ws, &url, strict, &*resolver).await;
    *resolver.0.lock().unwrap() = "127.0.0.1".parse().unwrap();
    let body: Map<String, Value> = json!({"url": url, "event_types": ["*"]}).as_object().unwrap().clone();
    assert!(webhooks::parse_new(body, strict, &*resolver).await.is_err(), "refused at create now");
    let jobs = deliveries::enqueue(&d, &ws, &[event(&ws, t0())]).await.unwrap();
    assert!(matches!(deliveries::attempt(&d, &jobs[0]).await.unwrap(), Next::At(..)));
    assert!(r.statuses().is_empty(), "nothing reached loopback");
    let list = deliveries_of(&d, &ws, &id).await;
    assert!(list[0]["error"].as_str().unwrap().contains("refused"), "{}", list[0]);
}

async fn duplicate_jobs_send_once(kind: Kind) {
    let r = Receiver::start(Mode::Ok).await;
    let (d, _clock, ws, _) = setup(kind, &r.url()).await;
    let jobs = deliveries::enqueue(&d, &ws, &[event(&ws, t0())]).await.unwrap();
    let (a, b) = tokio::join!(deliveries::attempt(&d, &jobs[0]), deliveries::attempt(&d, &jobs[0]));
    assert_eq!((a.unwrap(), b.unwrap()), (Next::Done, Next::Done));
    assert_eq!(r.statuses(), [200], "one request for two concurrent attempts of one job");
}

/// The queue of test pings, down: every dispatch fails as the SDK's client would (503).
struct QueueDown;

#[async_trait]
impl deliveries::Dispatch for QueueDown {
    async fn dispatch(&self, _: Vec<Job>) -> shared::domain::ApiResult<()> {
        Err(shared::ApiError::ServiceUnavailable)
    }
}

/// The webhooks API in-process over `store`, test pings queued to `dispatch`; an owner's
/// bearer token and the workspace id.
async fn api_with_queue(
    store: DynStore,
    dispatch: Arc<dyn deliveries::Dispatch>,
) -> (impl shared::http::Served, String, String) {
    use shared::domain::{members, memberships, model, tokens, workspaces};
    let pepper = shared::auth::pepper::Pepper::new(secrecy::SecretString::from("p".repeat(32)), None);
    let w = workspaces::create_workspace(&*store, "Pings", model::Plan::Business, "UTC").await.unwrap();
    let ws = WorkspaceKey::for_tests(&w.id);
    let email = format!("{}@ping.example", shared::domain::ids::random_base62(10).to_lowercase());
    let u = members::create_user(&*store, &email, None).await.unwrap();
    let today = shared::domain::capacity::today_in("UTC");
    let absent = shared::domain::input::Patch::Absent;
    let planning = memberships::Planning::undated(absent.clone(), absent);
    memberships::add_direct(&*store, &ws, today, &u, model::Role::Owner, &planning).await.unwrap();
    let new = tokens::NewToken { name: "t".into(), expires_at: None, read_only: false, workspace_ids: None };
    let issued = tokens::issue(&*store, shared::auth::token::mint(&pepper, &u.id), &u.id, new).await.unwrap();
    let app = shared::app::App::new(store, pepper).with_webhooks(NetPolicy { allow_loopback: true }, dispatch, false);
    let svc = shared::http::app(timether_webhooks::routes(), Arc::new(app));
    (svc, secrecy::ExposeSecret::expose_secret(&issued.token).to_string(), w.id)
}

async fn call(
    svc: &impl shared::http::Served,
    token: &str,
    ws: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .method(method)
        .uri(format!("/api/v1{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("x-workspace-id", ws)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// `POST /webhooks/{id}/test` while the queue is down answers 503 and leaves nothing behind:
/// no delivery stays `pending` with nothing to attempt it (on AWS the queue message is the
/// only trigger).
async fn a_ping_the_queue_refuses_leaves_no_delivery(kind: Kind) {
    let (svc, token, ws) = api_with_queue(store(kind).await, Arc::new(QueueDown)).await;
    let (status, hook) = call(
        &svc,
        &token,
        &ws,
        "POST",
        "/webhooks",
        Some(json!({"url": "http://127.0.0.1:9/hook", "event_types": ["*"]})),
    )
    .await;
    assert_eq!(status, 201, "{hook}");
    let id = hook["id"].as_str().unwrap();
    let (status, err) = call(&svc, &token, &ws, "POST", &format!("/webhooks/{id}/test"), None).await;
    assert_eq!((status, err["error"]["code"].as_str()), (503, Some("service_unavailable")), "{err}");
    let (status, listed) = call(&svc, &token, &ws, "GET", &format!("/webhooks/{id}/deliveries"), None).await;
    assert_eq!((status, listed["data"].clone()), (200, json!([])), "{listed}");
}

macro_rules! both {
    ($($t:ident),*) => {
        mod sqlite { $(#[tokio::test] async fn $t() { super::$t(super::Kind::Sqlite).await })* }
        mod dynamo { $(#[tokio::test] async fn $t() { super::$t(super::Kind::Dynamo).await })* }
    };
}

both!(
    fails_then_succeeds_once,
    always_failing_ends_failed_after_24_h,
    seventy_two_hours_of_failures_deactivate,
    gone_deactivates_at_once,
    rebinding_is_refused_at_delivery,
    duplicate_jobs_send_once,
    a_ping_the_queue_refuses_leaves_no_delivery
);

// ---- the AWS path: stream → delivery records + SQS (moto) → delivery ----

async fn sqs() -> (aws_sdk_sqs::Client, String) {
    let ep = std::env::var("TIMETHER_TEST_SECRETSMANAGER_ENDPOINT").expect("run with scripts/test (moto)");
    let conf = shared::store::aws::defaults()
        .endpoint_url(ep)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("local", "local", None, None, "test"))
        .load()
        .await;
    let client = aws_sdk_sqs::Client::new(&conf);
    let name = format!("timether-webhooks-{}", shared::domain::ids::random_base62(6));
    let url = client.create_queue().queue_name(name).send().await.unwrap().queue_url.unwrap();
    (client, url)
}

fn av(v: Value) -> Value {
    serde_json::to_value(serde_dynamo::to_item::<_, serde_dynamo::Item>(v).unwrap()).unwrap()
}

/// A stream batch: one project created in `ws`, one in another workspace.
fn stream_batch(ws: &WorkspaceKey) -> timether_events::StreamEvent {
    let project = |id: &str| {
        json!({"id": id, "name": "Site", "client_id": null, "billable": true, "hourly_rate_cents": 100,
               "color": null, "archived": false, "created_at": "2026-03-01T00:00:00Z",
               "updated_at": "2026-03-01T00:00:00Z", "version": 1})
    };
    let record = |n: &str, pk: String, id: &str| {
        let mut image = project(id);
        image["pk"] = json!(pk);
        image["sk"] = json!(format!("PROJECT#{id}"));
        json!({"eventID": format!("ev{n}"), "eventName": "INSERT", "eventSource": "aws:dynamodb",
               "awsRegion": "us-east-1", "dynamodb": {"ApproximateCreationDateTime": t0() as f64,
               "SequenceNumber": n, "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES",
               "Keys": av(json!({"pk": pk, "sk": format!("PROJECT#{id}")})), "NewImage": av(image)}})
    };
    let records = vec![record("1", format!("WS#{}", ws.id()), "prj1"), record("2", "WS#wsSomeoneElse".into(), "prj2")];
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

async fn receive_all(client: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let out = client.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
    out.messages.unwrap_or_default()
}

fn sqs_event(messages: &[aws_sdk_sqs::types::Message]) -> aws_lambda_events::event::sqs::SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| json!({"messageId": m.message_id(), "body": m.body(), "eventSource": "aws:sqs"}))
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

#[tokio::test]
async fn the_sqs_path_fans_out_delivers_and_delays_retries() {
    let r = Receiver::start(Mode::FailFirst(1)).await;
    let (client, url) = sqs().await;
    let queue = timether_webhooks::aws::SqsDispatch::new(client.clone(), &url);
    let clock = Arc::new(ManualClock::new(t0()));
    let local = NetPolicy { allow_loopback: true };
    let mut d = deliverer(store(Kind::Dynamo).await, clock.clone(), local, Arc::new(SystemResolver));
    d.local_queue = false;
    let ws = WorkspaceKey::for_tests(&shared::domain::ids::new_id("ws"));
    let id = create_webhook(&d, &ws, &r.url(), local, &SystemResolver).await;
    let out = timether_webhooks::aws::fan_out(&d, &queue, stream_batch(&ws)).await;
    assert!(out.batch_item_failures.is_empty());
    let messages = receive_all(&client, &url).await;
    assert_eq!(messages.len(), 1, "one message per (webhook, event) of this workspace only");
    let job: Job = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!((job.workspace_id.as_str(), job.webhook_id.as_str()), (ws.id(), id.as_str()));
    // First attempt fails: the job comes back as a delayed message, not at once.
    let out = timether_webhooks::aws::deliver(&d, &queue, sqs_event(&messages)).await;
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(r.statuses(), [503]);
    let attrs = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap();
    let delayed = attrs.attributes.unwrap_or_default();
    let delayed = delayed.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed);
    assert_eq!(delayed.map(String::as_str), Some("1"), "the retry waits in the queue");
    // When it is due, the delayed message (the job at the record's new version) comes back and
    // the retry succeeds.
    let mut retry = vec![];
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        retry = receive_all(&client, &url).await;
        if !retry.is_empty() {
            break;
        }
    }
    assert_eq!(retry.len(), 1, "the retry message became visible");
    let next: Job = serde_json::from_str(retry[0].body().unwrap()).unwrap();
    assert_eq!((next.event_id.as_str(), next.version), (job.event_id.as_str(), 3));
    clock.set(t0() + 10);
    // The original message again (a duplicate) is stale now: dropped without a request.
    let out = timether_webhooks::aws::deliver(&d, &queue, sqs_event(&messages)).await;
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(r.statuses(), [503]);
    let retry = sqs_event(&retry);
    let out = timether_webhooks::aws::deliver(&d, &queue, retry).await;
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(r.statuses(), [503, 204]);
    let list = deliveries_of(&d, &ws, &id).await;
    assert_eq!((list[0]["status"].clone(), list[0]["attempts"].clone()), (json!("delivered"), json!(2)));
}
