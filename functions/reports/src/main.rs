//! Lambda entry point: reports.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_lambda(timether_reports::routes()).await
}
