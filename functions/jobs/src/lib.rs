//! Runs time-zone jobs outside the API requests. Invoked by the table's stream — filtered to
//! workspace items that carry a `timezone_change` — each invocation runs chunks of its
//! workspaces' jobs until shortly before its own timeout; every saved chunk is a new version of
//! the workspace item, hence a new stream record, so the next invocation continues where this
//! one stopped (a stop for the deadline rewrites the item once more for that purpose). A
//! scheduled invocation (no `Records`) resumes jobs that saved nothing for five minutes
//! (e.g. after the stream mapping gave up on a record). A failed workspace is reported as a
//! batch item failure, so the mapping retries from its record.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_json::Value;
use shared::domain::tzjob::{self, Settings};
use shared::store::Store;

/// The stream event type.
pub type StreamEvent = aws_lambda_events::event::dynamodb::Event;

/// Chunks stop starting when less than this is left before the invocation's deadline.
const MARGIN: Duration = Duration::from_secs(20);
/// A job that saved nothing for this long is resumed by the schedule.
const STALLED_SECS: i64 = 300;

/// Job settings on AWS: no API request lives longer than its 29 s timeout, so the
/// completing pass begins 30 s after the change.
pub fn settings() -> Settings {
    Settings::from_env(30)
}

/// Handles one invocation: a stream batch or a scheduled sweep.
pub async fn handle(store: &dyn Store, ev: lambda_runtime::LambdaEvent<Value>, s: &Settings) -> Value {
    let left = Duration::from_millis(ev.context.deadline.saturating_sub(now_ms()));
    let until = std::time::Instant::now() + left.saturating_sub(MARGIN);
    if ev.payload.get("Records").is_none() {
        sweep(store, until, s).await;
        return Value::Null;
    }
    let event: StreamEvent = match serde_json::from_value(ev.payload) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "not a stream event");
            return Value::Null;
        }
    };
    serde_json::to_value(on_stream(store, &event, until, s).await).unwrap_or(Value::Null)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Runs the job of every workspace named by the batch (once each, whatever the number of its
/// records); a workspace whose job failed reports its first record as the batch item failure.
pub async fn on_stream(
    store: &dyn Store,
    event: &StreamEvent,
    until: std::time::Instant,
    s: &Settings,
) -> DynamoDbEventResponse {
    let mut first_record = vec![];
    for r in &event.records {
        let keys: Option<serde_json::Map<String, Value>> = serde_dynamo::from_item(r.change.keys.clone()).ok();
        let s = |k: &str| keys.as_ref().and_then(|m| m.get(k)).and_then(Value::as_str).unwrap_or_default().to_string();
        if let Some(ws) = tzjob::workspace_of_record(&s("pk"), &s("sk")) {
            let seq = r.change.sequence_number.clone().unwrap_or_else(|| r.event_id.clone());
            if !first_record.iter().any(|(_, w)| *w == ws) {
                first_record.push((seq, ws));
            }
        }
    }
    let mut response = DynamoDbEventResponse::default();
    for (seq, ws) in first_record {
        if let Err(e) = tzjob::run_until(store, &ws, s, until).await {
            tracing::error!(workspace = ws.id(), error = %e, "time-zone job failed; the stream retries");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(seq);
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Resumes the pending jobs that saved nothing for [`STALLED_SECS`].
pub async fn sweep(store: &dyn Store, until: std::time::Instant, s: &Settings) {
    let pending = match tzjob::pending(store).await {
        Ok(p) => p,
        Err(e) => return tracing::error!(error = %e, "cannot list pending time-zone jobs"),
    };
    for ws in pending {
        match tzjob::is_stalled(store, &ws, STALLED_SECS).await {
            Ok(true) => {
                tracing::warn!(workspace = ws.id(), "resuming a stalled time-zone job");
                if let Err(e) = tzjob::run_until(store, &ws, s, until).await {
                    tracing::error!(workspace = ws.id(), error = %e, "time-zone job failed");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::error!(workspace = ws.id(), error = %e, "cannot read a pending job"),
        }
    }
}

/// The Lambda entry point: tracing, the store once per cold start, then the runtime loop
/// (`main` of this crate and the stack's one `bootstrap` binary both call it).
pub async fn run() -> Result<(), lambda_runtime::Error> {
    shared::lambda::init_tracing();
    let store = shared::lambda::lambda_store().await;
    let settings = settings();
    lambda_runtime::run(lambda_runtime::service_fn(|ev: lambda_runtime::LambdaEvent<serde_json::Value>| {
        let store = &*store;
        async move { Ok::<_, lambda_runtime::Error>(handle(store, ev, &settings).await) }
    }))
    .await
}
