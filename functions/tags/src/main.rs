//! Lambda entry point: tags.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_lambda(timether_tags::routes()).await
}
