//! Lambda entry point: reports.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_lambda(timether_reports::routes()).await
}
