//! Lambda entry point: workspace, me and memberships.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::run_lambda(timether_workspace::routes()).await
}
