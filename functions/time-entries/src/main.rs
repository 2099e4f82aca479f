//! Lambda entry point: time-entries.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_lambda(timether_time_entries::routes()).await
}
