//! Lambda entry point: the webhooks API (test pings go to the delivery queue).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    timether_webhooks::aws::run_api().await
}
