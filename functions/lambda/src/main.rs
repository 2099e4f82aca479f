//! Lambda entry point of every function resource: `TIMETHER_FUNCTION` names which.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    timether_lambda::run(&std::env::var("TIMETHER_FUNCTION").unwrap_or_default()).await
}
