//! Delivery on AWS. The `webhook-dispatch` function consumes the table's stream (a second
//! consumer beside `events`), maps records with the same code as EventBridge, writes one
//! delivery record per (webhook, event) and sends one SQS message per record. The
//! `webhook-deliver` function consumes that queue: one attempt per message; a retry is a new
//! message whose delay (≤ 15 min, SQS's maximum) brings it back at the next attempt time
//! (longer pauses are bridged by re-sending early arrivals). A message whose handling fails
//! (store unavailable…) is reported as a batch item failure: SQS makes it visible again
//! after the visibility timeout, and after 5 receives parks it in the dead-letter queue
//! (alarmed).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use shared::app::App;
use shared::domain::deliveries::{self, Deliverer, Dispatch, Job, Next, SystemClock};
use shared::domain::webhook_net::{NetPolicy, SystemResolver};
use shared::domain::{ApiError, ApiResult};
use shared::outbound::HttpTransport;
use timether_events::{map_records, StreamEvent};

/// SQS's longest message delay (seconds).
pub const MAX_SQS_DELAY: i64 = 900;

/// Sends jobs to the delivery queue.
#[derive(Clone)]
pub struct SqsDispatch {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDispatch {
    /// A dispatcher for a client and queue.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsDispatch { client, queue_url: queue_url.into() }
    }

    /// From the environment: `WEBHOOK_QUEUE_URL` (required).
    pub async fn from_env(conf: &aws_config::SdkConfig) -> Result<Self, String> {
        let url = std::env::var("WEBHOOK_QUEUE_URL").map_err(|_| "WEBHOOK_QUEUE_URL is not set".to_string())?;
        Ok(Self::new(aws_sdk_sqs::Client::new(conf), url))
    }

    /// Sends jobs, each delayed by its seconds (0–900), in batches of 10.
    pub async fn send(&self, jobs: &[(Job, i64)]) -> ApiResult<()> {
        for chunk in jobs.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, (job, delay))| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(serde_json::to_string(job).unwrap_or_default())
                        .delay_seconds((*delay).clamp(0, MAX_SQS_DELAY) as i32)
                        .build()
                        .map_err(|e| ApiError::Internal(e.to_string()))
                })
                .collect::<ApiResult<Vec<_>>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| unavailable(&aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
            if !out.failed().is_empty() {
                return Err(unavailable(&format!("{} messages refused", out.failed().len())));
            }
        }
        Ok(())
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "SQS send failed");
    ApiError::ServiceUnavailable
}

#[async_trait]
impl Dispatch for SqsDispatch {
    async fn dispatch(&self, jobs: Vec<Job>) -> ApiResult<()> {
        let jobs: Vec<(Job, i64)> = jobs.into_iter().map(|j| (j, 0)).collect();
        self.send(&jobs).await
    }
}

/// The deliverer of a Lambda function: the app's store and secrets, the system resolver,
/// the HTTPS transport and clock, no local queue.
pub fn deliverer(app: &App) -> Deliverer {
    Deliverer {
        store: app.store.clone(),
        secrets: app.webhooks.secrets.clone(),
        policy: NetPolicy::default(),
        resolver: Arc::new(SystemResolver),
        transport: Arc::new(HttpTransport::new()),
        clock: Arc::new(SystemClock),
        local_queue: false,
    }
}

/// Stream batch → delivery records + SQS messages. Records of a workspace whose fan-out
/// failed are reported as batch item failures (retried; records are created once).
pub async fn fan_out(d: &Deliverer, queue: &SqsDispatch, event: StreamEvent) -> DynamoDbEventResponse {
    let mut by_ws: BTreeMap<String, (Vec<String>, Vec<shared::domain::events::DomainEvent>)> = BTreeMap::new();
    for (seq, events) in map_records(&event) {
        for e in events {
            let ws = e.detail["workspace_id"].as_str().unwrap_or_default().to_string();
            let slot = by_ws.entry(ws).or_default();
            slot.0.push(seq.clone());
            slot.1.push(e);
        }
    }
    let mut response = DynamoDbEventResponse::default();
    for (ws, (seqs, events)) in by_ws {
        let done = match deliveries::enqueue_in(d, &ws, &events).await {
            Ok(jobs) => queue.dispatch(jobs).await,
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            tracing::error!(workspace = %ws, error = %e, "webhook fan-out failed; records reported");
            for s in seqs {
                let mut f = DynamoDbBatchItemFailure::default();
                f.item_identifier = Some(s);
                response.batch_item_failures.push(f);
            }
        }
    }
    response
}

/// SQS batch → one attempt per message; retries are re-sent with a delay.
pub async fn deliver(d: &Deliverer, queue: &SqsDispatch, event: SqsEvent) -> SqsBatchResponse {
    let handled = futures::future::join_all(event.records.iter().map(|m| async move {
        let job: Job = match m.body.as_deref().map(serde_json::from_str) {
            Some(Ok(j)) => j,
            _ => {
                tracing::error!(message = ?m.message_id, "unreadable webhook job dropped");
                return Ok(());
            }
        };
        match deliveries::attempt(d, &job).await? {
            Next::Done => Ok(()),
            Next::At(t, next) => queue.send(&[(next, t - d.clock.now())]).await,
        }
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (m, r) in event.records.iter().zip(handled) {
        if let Err(e) = r {
            tracing::warn!(message = ?m.message_id, error = %e, "delivery not recorded; message retried");
            let mut f = BatchItemFailure::default();
            f.item_identifier = m.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(f);
        }
    }
    response
}

/// The cold start of every webhook function: tracing, one SDK configuration, the app state
/// (store, pepper) and the queue on it.
async fn start() -> Result<(App, SqsDispatch), String> {
    shared::lambda::init_tracing();
    let conf = shared::store::aws::defaults().load().await;
    let app = shared::lambda::lambda_state_from(&conf).await?;
    let app = Arc::try_unwrap(app).map_err(|_| "state is shared at cold start".to_string())?;
    let queue = SqsDispatch::from_env(&conf).await?;
    Ok((app, queue))
}

fn cold_start_failed(e: String) -> String {
    tracing::error!(error = %e, "cold start failed");
    e
}

/// `webhooks`: the subscriptions API; test pings are sent to the queue.
pub async fn run_api() -> Result<(), lambda_http::Error> {
    let (app, queue) = start().await.map_err(cold_start_failed)?;
    let app = app.with_webhooks(NetPolicy::default(), Arc::new(queue), false);
    shared::lambda::serve(shared::http::app(crate::routes(), Arc::new(app))).await
}

/// `webhook-dispatch`: the stream consumer.
pub async fn run_dispatch() -> Result<(), lambda_runtime::Error> {
    let (app, queue) = start().await.map_err(cold_start_failed)?;
    let d = deliverer(&app);
    lambda_runtime::run(lambda_runtime::service_fn(|ev: lambda_runtime::LambdaEvent<StreamEvent>| {
        let (d, queue) = (&d, &queue);
        async move { Ok::<_, lambda_runtime::Error>(fan_out(d, queue, ev.payload).await) }
    }))
    .await
}

/// `webhook-deliver`: the queue consumer.
pub async fn run_deliver() -> Result<(), lambda_runtime::Error> {
    let (app, queue) = start().await.map_err(cold_start_failed)?;
    let d = deliverer(&app);
    lambda_runtime::run(lambda_runtime::service_fn(|ev: lambda_runtime::LambdaEvent<SqsEvent>| {
        let (d, queue) = (&d, &queue);
        async move { Ok::<_, lambda_runtime::Error>(deliver(d, queue, ev.payload).await) }
    }))
    .await
}
