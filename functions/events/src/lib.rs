//! Turns DynamoDB stream records into versioned domain events and publishes them to
//! EventBridge in batches of at most 10, retrying failed entries; records whose events could
//! not all be published are reported as `batchItemFailures` (ReportBatchItemFailures), so one
//! bad record never blocks the shard and redelivery yields the same event ids.

use std::collections::BTreeSet;

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::Value;
use shared::domain::events::{map_change, DomainEvent};
use shared::store::Item;

/// The stream event type.
pub type StreamEvent = aws_lambda_events::event::dynamodb::Event;

/// Maps every record of a batch: (record's sequence number, its events).
pub fn map_records(event: &StreamEvent) -> Vec<(String, Vec<DomainEvent>)> {
    event
        .records
        .iter()
        .map(|r| {
            let seq = r.change.sequence_number.clone().unwrap_or_else(|| r.event_id.clone());
            let image = |i: &serde_dynamo::Item| -> Option<Item> {
                if i.is_empty() {
                    None
                } else {
                    serde_dynamo::from_item::<_, Item>(i.clone()).ok()
                }
            };
            let keys: Option<Item> = image(&r.change.keys);
            let s =
                |k: &str| keys.as_ref().and_then(|m| m.get(k)).and_then(Value::as_str).unwrap_or_default().to_string();
            let occurred = shared::domain::time::fmt_secs(r.change.approximate_creation_date_time.timestamp());
            let order = shared::domain::events::order_of_sequence(&seq);
            let events = map_change(
                &s("pk"),
                &s("sk"),
                image(&r.change.old_image).as_ref(),
                image(&r.change.new_image).as_ref(),
                &r.event_id,
                &occurred,
            );
            let events = events.into_iter().map(|e| DomainEvent { order: order.clone(), ..e }).collect();
            (seq, events)
        })
        .collect()
}

/// Publishes to one EventBridge bus.
pub struct Publisher {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl Publisher {
    /// Client from the environment; bus from `EVENT_BUS_NAME` (required).
    pub async fn from_env() -> Result<Self, String> {
        let bus = std::env::var("EVENT_BUS_NAME").map_err(|_| "EVENT_BUS_NAME is not set".to_string())?;
        let conf = shared::store::aws::defaults().load().await;
        Ok(Publisher { client: aws_sdk_eventbridge::Client::new(&conf), bus })
    }

    /// A publisher for a given client and bus.
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Publisher { client, bus: bus.into() }
    }

    fn entry(&self, e: &DomainEvent) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .source("timether")
            .detail_type(&e.detail_type)
            .detail(e.detail.to_string())
            .event_bus_name(&self.bus)
            .build()
    }

    /// Publishes a batch's events; the records whose events could not be published are
    /// reported as batch item failures (the mapping retries from them).
    pub async fn handle(&self, event: StreamEvent) -> DynamoDbEventResponse {
        let mapped = map_records(&event);
        let mut pending: Vec<(usize, DomainEvent)> =
            mapped.iter().enumerate().flat_map(|(i, (_, evs))| evs.iter().cloned().map(move |e| (i, e))).collect();
        for attempt in 0..3 {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
            }
            let mut failed = vec![];
            for chunk in pending.chunks(10) {
                let res = self
                    .client
                    .put_events()
                    .set_entries(Some(chunk.iter().map(|(_, e)| self.entry(e)).collect()))
                    .send()
                    .await;
                match res {
                    Ok(out) => {
                        for (item, result) in chunk.iter().zip(out.entries()) {
                            if result.error_code().is_some() {
                                failed.push(item.clone());
                            }
                        }
                        // Fewer results than entries would be a service bug: count them as failed.
                        failed.extend(chunk.iter().skip(out.entries().len()).cloned());
                    }
                    Err(e) => {
                        tracing::warn!(error = %aws_sdk_eventbridge::error::DisplayErrorContext(&e), "PutEvents failed");
                        failed.extend(chunk.iter().cloned());
                    }
                }
            }
            pending = failed;
        }
        let failed_records: BTreeSet<usize> = pending.iter().map(|(i, _)| *i).collect();
        let mut response = DynamoDbEventResponse::default();
        for i in failed_records {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(mapped[i].0.clone());
            response.batch_item_failures.push(failure);
        }
        if !response.batch_item_failures.is_empty() {
            tracing::error!(
                records = response.batch_item_failures.len(),
                "events not published; records reported as failed"
            );
        }
        response
    }
}

/// The Lambda entry point: tracing, the EventBridge client once per cold start, then the
/// runtime loop (`main` of this crate and the stack's one `bootstrap` binary both call it).
pub async fn run() -> Result<(), lambda_runtime::Error> {
    shared::lambda::init_tracing();
    let publisher = Publisher::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|ev: lambda_runtime::LambdaEvent<StreamEvent>| {
        let publisher = &publisher;
        async move { Ok::<_, lambda_runtime::Error>(publisher.handle(ev.payload).await) }
    }))
    .await
}
