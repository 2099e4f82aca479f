//! Lambda entry point: tags.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_lambda(timether_tags::routes()).await
}
