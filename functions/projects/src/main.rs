//! Lambda entry point: projects.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_lambda(timether_projects::routes()).await
}
