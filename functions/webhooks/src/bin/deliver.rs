//! Lambda entry point: the delivery queue → signed HTTPS requests to receivers.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    timether_webhooks::aws::run_deliver().await
}
