//! Lambda entry point: the DynamoDB Streams consumer.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    timether_events::run().await
}
