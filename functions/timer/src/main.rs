//! Lambda entry point: timer.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_lambda(timether_timer::routes()).await
}
