//! Lambda entry point: personal API tokens.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_lambda(timether_tokens::routes()).await
}
