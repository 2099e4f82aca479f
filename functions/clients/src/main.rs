//! Lambda entry point: clients.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_lambda(timether_clients::routes()).await
}
