//! Lambda entry point: clients.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_lambda(timether_clients::routes()).await
}
