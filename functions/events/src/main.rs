//! Lambda entry point: the DynamoDB Streams consumer.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::init_tracing();
    let publisher = timether_events::Publisher::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|ev: lambda_runtime::LambdaEvent<timether_events::StreamEvent>| {
        let publisher = &publisher;
        async move { Ok::<_, lambda_runtime::Error>(publisher.handle(ev.payload).await) }
    }))
    .await
}
