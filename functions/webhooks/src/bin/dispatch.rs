//! Lambda entry point: the table's stream → webhook delivery records and SQS messages.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    timether_webhooks::aws::run_dispatch().await
}
