//! Lambda entry point: background jobs (time-zone re-attribution).
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::init_tracing();
    let store = shared::lambda::lambda_store().await;
    let settings = timether_jobs::settings();
    lambda_runtime::run(lambda_runtime::service_fn(|ev: lambda_runtime::LambdaEvent<serde_json::Value>| {
        let store = &*store;
        async move { Ok::<_, lambda_runtime::Error>(timether_jobs::handle(store, ev, &settings).await) }
    }))
    .await
}
