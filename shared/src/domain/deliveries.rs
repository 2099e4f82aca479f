//! Webhook deliveries (Standard Webhooks): one record per (webhook, event) — the attempt
//! chain's log and, locally, its queue entry — created when an event is fanned out
//! ([`enqueue`]), then attempted ([`attempt`]) until a 2xx, a 410 (which disables the
//! webhook) or 24 h of failures. Retries back off exponentially with jitter
//! ([`retry_delay`]); a webhook whose deliveries all failed for 72 h is deactivated. Time
//! comes from a [`Clock`], so the 24 h / 72 h rules are tested without waiting.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::domain::cursor::CursorKey;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::events::DomainEvent;
use crate::domain::listing::{self, Listed};
use crate::domain::model::{from_body, to_body};
use crate::domain::webhook_net::{self, NetPolicy, Resolve};
use crate::domain::webhooks::{self, SecretBox, Webhook, WebhookState};
use crate::store::keys::{self, WorkspaceKey};
use crate::store::{Cond, DynStore, Item, Record, Store, StoreError, Write};

/// Deliveries are retried for at least this long after the first attempt (seconds).
pub const RETRY_FOR_SECS: i64 = 24 * 3600;
/// A webhook whose deliveries have all failed for this long is deactivated (seconds).
pub const DISABLE_AFTER_SECS: i64 = 72 * 3600;
/// Delivery records are kept this long (seconds).
pub const KEEP_SECS: i64 = 30 * 24 * 3600;
/// Longest pause between two attempts (seconds).
pub const MAX_DELAY_SECS: i64 = 6 * 3600;
/// A receiver has this long to answer (seconds).
pub const TIMEOUT_SECS: u64 = 10;
/// At most this much of a response body is read.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Where time comes from (injectable: tests move it by days).
pub trait Clock: Send + Sync {
    /// Epoch seconds.
    fn now(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        crate::domain::time::now_secs()
    }
}

/// A clock that moves only when told (tests).
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// Starts at `t`.
    pub fn new(t: i64) -> Self {
        ManualClock(AtomicI64::new(t))
    }
    /// Moves to `t`.
    pub fn set(&self, t: i64) {
        self.0.store(t, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The pause after the `attempts`-th failed attempt: 5 s × 4^(n−1), at most 6 h, times a
/// jitter factor in [0.8, 1.2] (`jitter` in [0, 1]): 4–6 s, then ~20 s, ~80 s, ~5 min,
/// ~21 min, ~85 min, ~5.7 h, then ~6 h until 24 h have passed.
pub fn retry_delay(attempts: u32, jitter: f64) -> i64 {
    let n = attempts.saturating_sub(1).min(10);
    let base = (5i64 << (2 * n)).min(MAX_DELAY_SECS);
    ((base as f64) * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))).round().max(1.0) as i64
}

/// One HTTP request to a receiver, to be sent to one of `addrs` (already checked).
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The webhook URL.
    pub url: url::Url,
    /// Its host name (TLS and `Host` use it; the connection goes to `addrs`).
    pub host: String,
    /// The checked addresses.
    pub addrs: Vec<SocketAddr>,
    /// Headers.
    pub headers: Vec<(&'static str, String)>,
    /// The raw JSON body (the event's detail).
    pub body: Vec<u8>,
}

/// What a receiver did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// It answered with this status (redirects are not followed: a 3xx is a failure).
    Status(u16),
    /// No answer: timeout, connection error, TLS error.
    Error(String),
}

/// Sends requests (the HTTP client lives outside the domain; tests may fake it).
#[async_trait]
pub trait Transport: Send + Sync {
    /// Sends one request.
    async fn send(&self, req: Outgoing) -> Outcome;
}

/// Queues jobs (SQS on AWS, the local worker's channel locally).
#[async_trait]
pub trait Dispatch: Send + Sync {
    /// Queues jobs for an attempt as soon as possible.
    async fn dispatch(&self, jobs: Vec<Job>) -> ApiResult<()>;
}

/// No queue: jobs stay in the store (a process without a delivery worker).
pub struct NoDispatch;

#[async_trait]
impl Dispatch for NoDispatch {
    async fn dispatch(&self, jobs: Vec<Job>) -> ApiResult<()> {
        tracing::warn!(jobs = jobs.len(), "no webhook queue configured: deliveries not queued");
        Ok(())
    }
}

/// Everything an attempt needs.
pub struct Deliverer {
    /// The store.
    pub store: DynStore,
    /// Opens the webhooks' secrets.
    pub secrets: SecretBox,
    /// Which hosts are allowed.
    pub policy: NetPolicy,
    /// Resolves host names.
    pub resolver: std::sync::Arc<dyn Resolve>,
    /// Sends requests.
    pub transport: std::sync::Arc<dyn Transport>,
    /// Time.
    pub clock: std::sync::Arc<dyn Clock>,
    /// Pending deliveries carry a local queue entry (the local server; on AWS SQS queues).
    pub local_queue: bool,
}

/// One delivery to attempt: what an SQS message (or the local queue) carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Job {
    /// Workspace.
    pub workspace_id: String,
    /// Webhook.
    pub webhook_id: String,
    /// The event's `occurred_at` (part of the record's key).
    pub occurred_at: String,
    /// The event's order within its second (part of the record's key).
    #[serde(default)]
    pub order: String,
    /// The event's id (`webhook-id`).
    pub event_id: String,
    /// The record's version this job was made for: a job for an older version (a duplicate
    /// message, a second process) is dropped, so at most one attempt runs at a time.
    #[serde(default)]
    pub version: i64,
}

/// A delivery record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Delivery {
    /// Id (`dl` + the event id).
    pub id: String,
    /// The job it belongs to.
    #[serde(flatten)]
    pub job: Job,
    /// Event type.
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last response's status.
    pub response_status: Option<u16>,
    /// The last failure.
    pub error: Option<String>,
    /// When it was created, then when it was last attempted (RFC 3339).
    pub at: String,
    /// Epoch seconds of the next attempt (pending only).
    pub next_attempt_at: Option<i64>,
    /// Epoch seconds of the first attempt.
    pub first_attempt_at: Option<i64>,
    /// Epoch seconds of creation.
    pub created: i64,
    /// The event's detail: the body sent.
    pub payload: Value,
}

impl Delivery {
    /// The API object.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "event_id": self.job.event_id, "type": self.event_type, "status": self.status,
            "attempts": self.attempts, "response_status": self.response_status, "error": self.error,
            "at": self.at, "next_attempt_at": self.next_attempt_at.map(crate::domain::time::fmt_secs),
        })
    }
}

fn ws_of(job: &Job) -> ApiResult<WorkspaceKey> {
    WorkspaceKey::for_operator(&job.workspace_id).ok_or_else(|| ApiError::Internal("bad job".into()))
}

fn delivery_key(ws: &WorkspaceKey, job: &Job) -> crate::store::keys::Key {
    keys::delivery(ws, &job.webhook_id, &format!("{}#{}", job.occurred_at, job.order), &job.event_id)
}

fn delivery_record(ws: &WorkspaceKey, d: &Delivery, local_queue: bool) -> Record {
    let mut r = Record::new(delivery_key(ws, &d.job), to_body(d));
    r.ttl = Some(d.created + KEEP_SECS);
    if let (true, "pending", Some(next)) = (local_queue, d.status.as_str(), d.next_attempt_at) {
        r.indexes = vec![keys::due_entry(ws, next, &d.job.webhook_id, &d.job.event_id)];
    }
    r
}

fn new_delivery(ws: &WorkspaceKey, webhook_id: &str, e: &DomainEvent, now: i64) -> Delivery {
    let event_id = e.detail["event_id"].as_str().unwrap_or_default().to_string();
    let occurred_at = e.detail["occurred_at"].as_str().unwrap_or_default().to_string();
    Delivery {
        id: format!("dl{event_id}"),
        job: Job {
            workspace_id: ws.id().to_string(),
            webhook_id: webhook_id.to_string(),
            occurred_at,
            order: e.order.clone(),
            event_id,
            version: 1,
        },
        event_type: e.detail_type.clone(),
        status: "pending".into(),
        attempts: 0,
        response_status: None,
        error: None,
        at: crate::domain::time::fmt_secs(now),
        next_attempt_at: Some(now),
        first_attempt_at: None,
        created: now,
        payload: e.detail.clone(),
    }
}

/// Fans a workspace's events out to its active webhooks that want them: one delivery
/// record per (webhook, event), created only once (a redelivered event finds its record
/// and is queued again: the attempt skips a delivery that is no longer pending).
pub async fn enqueue(d: &Deliverer, ws: &WorkspaceKey, events: &[DomainEvent]) -> ApiResult<Vec<Job>> {
    let hooks = webhooks::list(&*d.store, ws).await?;
    let now = d.clock.now();
    let mut jobs = vec![];
    let mut writes = vec![];
    for (w, _) in hooks.iter().filter(|(w, _)| w.active) {
        for e in events.iter().filter(|e| e.detail["workspace_id"] == ws.id() && w.wants(&e.detail_type)) {
            let del = new_delivery(ws, &w.id, e, now);
            jobs.push(del.job.clone());
            writes.push(Write::put(delivery_record(ws, &del, d.local_queue), Cond::NotExists));
        }
    }
    let results = futures::future::join_all(writes.into_iter().map(|w| d.store.write(vec![w]))).await;
    for r in results {
        match r {
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(jobs)
}

/// [`enqueue`] for a workspace named by the events themselves (stream consumers).
pub async fn enqueue_in(d: &Deliverer, workspace_id: &str, events: &[DomainEvent]) -> ApiResult<Vec<Job>> {
    match WorkspaceKey::for_operator(workspace_id) {
        Some(ws) => enqueue(d, &ws, events).await,
        None => Ok(vec![]),
    }
}

/// The `webhook.test` ping for one webhook: a delivery record (the webhook was read by the
/// caller), returned as a job to queue.
pub async fn enqueue_test(store: &dyn Store, ws: &WorkspaceKey, w: &Webhook, local_queue: bool) -> ApiResult<Job> {
    let now = crate::domain::time::now_secs();
    let event_id: String = crate::domain::ids::random_base62(24);
    let occurred_at = crate::domain::time::fmt_secs(now);
    let detail = json!({
        "workspace_id": ws.id(), "event_id": event_id, "occurred_at": occurred_at,
        "schema_version": crate::domain::events::SCHEMA_VERSION, "type": webhooks::TEST_EVENT,
        "resource": {"webhook_id": w.id, "url": w.url},
    });
    let order = crate::domain::events::order_now();
    let e = DomainEvent { detail_type: webhooks::TEST_EVENT.into(), detail, order };
    let del = new_delivery(ws, &w.id, &e, now);
    store.write(vec![Write::put(delivery_record(ws, &del, local_queue), Cond::NotExists)]).await?;
    Ok(del.job)
}

/// Takes back a test delivery whose job could not be queued (the client is answered 503):
/// left alone, the record would stay `pending` with nothing to attempt it, since on AWS the
/// queue message is its only trigger. Nothing half-written, as the contract's 503 requires.
pub async fn withdraw_test(store: &dyn Store, ws: &WorkspaceKey, job: &Job) -> ApiResult<()> {
    store.write(vec![Write::Delete { key: delivery_key(ws, job), cond: Cond::None }]).await?;
    Ok(())
}

/// What became of a job.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Nothing more to do (delivered, failed, not pending anymore, or a stale job).
    Done,
    /// Attempt again at this epoch second, with this job (of the record's current version).
    At(i64, Job),
}

/// How long an attempt holds its delivery (seconds): longer than the 10 s timeout, so a
/// second process or a duplicate message never sends the same delivery concurrently, and
/// short enough that an attempt lost with its process is retried soon.
pub const LEASE_SECS: i64 = 60;

/// `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` (Standard Webhooks).
pub fn sign(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(key) else { unreachable!("HMAC takes keys of any length") };
    m.update(format!("{msg_id}.{timestamp}.").as_bytes());
    m.update(body);
    format!("v1,{}", STANDARD.encode(m.finalize().into_bytes()))
}

/// The request of one attempt: body = the event's detail, signed with every live secret.
fn request(w: &Webhook, del: &Delivery, keys: &[[u8; 32]], now: i64) -> (Vec<(&'static str, String)>, Vec<u8>) {
    let body = serde_json::to_vec(&del.payload).unwrap_or_default();
    let sigs: Vec<String> = keys.iter().map(|k| sign(k, &del.job.event_id, now, &body)).collect();
    let headers = vec![
        ("content-type", "application/json".to_string()),
        ("user-agent", "Timether-Webhooks/1".to_string()),
        ("webhook-id", del.job.event_id.clone()),
        ("webhook-timestamp", now.to_string()),
        ("webhook-signature", sigs.join(" ")),
        ("timether-event-type", del.event_type.clone()),
        ("timether-webhook-id", w.id.clone()),
    ];
    (headers, body)
}

/// Resolves, checks and sends one attempt.
async fn send(d: &Deliverer, ws: &WorkspaceKey, w: &Webhook, del: &Delivery, now: i64) -> Outcome {
    let keys = w.signing_secrets(&d.secrets, ws, now);
    if keys.is_empty() {
        return Outcome::Error("no signing secret can be opened (pepper changed?)".into());
    }
    let target = match webhook_net::check_url(&w.url, d.policy) {
        Ok(t) => t,
        Err(why) => return Outcome::Error(format!("refused: url {why}")),
    };
    let addrs = match webhook_net::resolve_checked(&target, d.policy, &*d.resolver).await {
        Ok(a) => a,
        Err(why) => return Outcome::Error(format!("refused: {why}")),
    };
    let (headers, body) = request(w, del, &keys, now);
    d.transport.send(Outgoing { url: target.url, host: target.host, addrs, headers, body }).await
}

/// Attempts one delivery if it is due: claims it (a lease, conditioned on the version the
/// job names), sends, and records the outcome (one transaction).
pub async fn attempt(d: &Deliverer, job: &Job) -> ApiResult<Next> {
    let ws = ws_of(job)?;
    let keys = [delivery_key(&ws, job), keys::webhook(&ws, &job.webhook_id), keys::webhook_state(&ws, &job.webhook_id)];
    let mut items = d.store.batch_get(&keys).await?.into_iter();
    let Some(del) = items.next().flatten().map(from_body::<Delivery>).transpose()? else { return Ok(Next::Done) };
    let hook: Option<Webhook> = items.next().flatten().map(from_body).transpose()?;
    let state: WebhookState = items.next().flatten().map(from_body).transpose()?.unwrap_or_default();
    let now = d.clock.now();
    match (&hook, del.status.as_str(), del.next_attempt_at) {
        (_, "delivered" | "failed", _) => return Ok(Next::Done),
        _ if job.version != 0 && job.version != del.job.version => return Ok(Next::Done),
        (_, _, Some(t)) if t > now => return Ok(Next::At(t, del.job)),
        (None, ..) => return finish_unsent(d, &ws, del, "webhook deleted").await,
        (Some(w), ..) if !w.active => return finish_unsent(d, &ws, del, "webhook disabled").await,
        _ => {}
    }
    let Some(w) = hook else { return Ok(Next::Done) };
    let Some(del) = claim(d, &ws, del, now).await? else { return Ok(Next::Done) };
    let outcome = send(d, &ws, &w, &del, now).await;
    record(d, &ws, &w, state, del, outcome, now).await
}

/// Takes the lease: the record moves to the next version, due again in [`LEASE_SECS`] (so
/// an attempt lost with its process is picked up again). `None`: someone else holds it.
async fn claim(d: &Deliverer, ws: &WorkspaceKey, mut del: Delivery, now: i64) -> ApiResult<Option<Delivery>> {
    let version = del.job.version;
    del.job.version += 1;
    del.next_attempt_at = Some(now + LEASE_SECS);
    let w = Write::put(delivery_record(ws, &del, d.local_queue), Cond::eq("version", version));
    match d.store.write(vec![w]).await {
        Ok(()) => Ok(Some(del)),
        Err(StoreError::ConditionFailed { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn finish_unsent(d: &Deliverer, ws: &WorkspaceKey, mut del: Delivery, why: &str) -> ApiResult<Next> {
    let version = del.job.version;
    del.status = "failed".into();
    del.error = Some(why.into());
    del.next_attempt_at = None;
    del.job.version += 1;
    let w = Write::put(delivery_record(ws, &del, d.local_queue), Cond::eq("version", version));
    match d.store.write(vec![w]).await {
        Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(Next::Done),
        Err(e) => Err(e.into()),
    }
}

/// The delivery's next state after an attempt at `now`, and whether the webhook is to be
/// deactivated (and why).
fn advance(del: &mut Delivery, state: &WebhookState, outcome: &Outcome, now: i64) -> Option<&'static str> {
    del.attempts += 1;
    del.at = crate::domain::time::fmt_secs(now);
    let first = *del.first_attempt_at.get_or_insert(now);
    (del.response_status, del.error) = match outcome {
        Outcome::Status(s) => (Some(*s), (!(200..300).contains(s)).then(|| format!("HTTP {s}"))),
        Outcome::Error(e) => (None, Some(e.chars().take(300).collect())),
    };
    del.next_attempt_at = None;
    if matches!(outcome, Outcome::Status(s) if (200..300).contains(s)) {
        del.status = "delivered".into();
        return None;
    }
    if *outcome == Outcome::Status(410) {
        del.status = "failed".into();
        return Some("the endpoint answered 410 Gone");
    }
    if now - first >= RETRY_FOR_SECS {
        del.status = "failed".into();
    } else {
        del.next_attempt_at = Some(now + retry_delay(del.attempts, rand::random::<f64>()));
    }
    let failing_since = state.failing_since.unwrap_or(now);
    (now - failing_since >= DISABLE_AFTER_SECS).then_some("every delivery failed for 72 hours")
}

async fn record(
    d: &Deliverer,
    ws: &WorkspaceKey,
    w: &Webhook,
    state: WebhookState,
    mut del: Delivery,
    outcome: Outcome,
    now: i64,
) -> ApiResult<Next> {
    let version = del.job.version;
    let disable = advance(&mut del, &state, &outcome, now);
    del.job.version += 1;
    let ok = del.status == "delivered";
    let last = json!({"event_id": del.job.event_id, "type": del.event_type, "status": del.status,
                      "response_status": del.response_status, "at": del.at});
    let failing_since = if ok { Value::Null } else { json!(state.failing_since.unwrap_or(now)) };
    let set: Item =
        [("last_delivery".to_string(), last), ("failing_since".to_string(), failing_since)].into_iter().collect();
    let mut writes = vec![
        Write::put(delivery_record(ws, &del, d.local_queue), Cond::eq("version", version)),
        webhooks::state_write(ws, &w.id, set),
    ];
    if let Some(reason) = disable {
        tracing::warn!(webhook = %w.id, reason, "webhook deactivated");
        let set: Item = [
            ("active".to_string(), json!(false)),
            ("disabled_reason".to_string(), json!(reason)),
            ("updated_at".to_string(), json!(crate::domain::time::fmt_secs(now))),
        ]
        .into_iter()
        .collect();
        writes.push(Write::Update {
            key: keys::webhook(ws, &w.id),
            set,
            add: vec![("version".into(), 1)],
            cond: Cond::Exists,
        });
    }
    match d.store.write(writes).await {
        Ok(()) | Err(StoreError::ConditionFailed { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(del.next_attempt_at.map_or(Next::Done, |t| Next::At(t, del.job.clone())))
}

/// The pending deliveries of the local queue due at `now` (oldest first).
pub async fn due(store: &dyn Store, now: i64, limit: usize) -> ApiResult<Vec<Job>> {
    let q = crate::store::Query {
        partition: keys::due_deliveries(),
        range: keys::due_by(now),
        forward: true,
        limit,
        start: None,
    };
    let page = store.query(&q).await?;
    page.items.into_iter().map(|i| from_body::<Delivery>(i).map(|d| d.job)).collect()
}

/// A webhook's deliveries, newest first, kept 30 days (404 for an unknown webhook).
pub async fn list(
    store: &dyn Store,
    cursors: &CursorKey,
    ws: &WorkspaceKey,
    webhook_id: &str,
    page: (Option<&str>, usize),
) -> ApiResult<Listed<Value>> {
    let scope = format!("{}|webhooks/{webhook_id}/deliveries", ws.id());
    listing::check_cursor(cursors, &scope, page.0)?;
    webhooks::get(store, ws, webhook_id).await?;
    let oldest = crate::domain::time::now_secs() - KEEP_SECS;
    let keep = |i: &Item| i.get("created").and_then(Value::as_i64).is_some_and(|c| c >= oldest);
    let q = keys::deliveries(ws, webhook_id);
    let (items, next) = listing::page(store, cursors, &scope, page.0, page.1, q, keep).await?;
    let data = items.into_iter().map(|i| from_body::<Delivery>(i).map(|d| d.to_json())).collect::<ApiResult<_>>()?;
    Ok(Listed { data, next_cursor: next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_retries_within_10_s_then_backs_off_past_24_h() {
        for j in [0.0, 0.5, 1.0] {
            let first = retry_delay(1, j);
            assert!((4..=6).contains(&first), "{first}");
        }
        let mut t = 0;
        let mut n = 0;
        while t < RETRY_FOR_SECS {
            n += 1;
            t += retry_delay(n, 0.5);
            assert!(retry_delay(n, 1.0) <= MAX_DELAY_SECS * 12 / 10);
        }
        assert!((9..=14).contains(&n), "{n} attempts");
    }

    #[test]
    fn signatures_match_the_specification_example() {
        // The example of the Standard Webhooks specification and its libraries' tests.
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let s = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(s, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
