//! Lambda entry point: background jobs (time-zone re-attribution).
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    timether_jobs::run().await
}
