//! Lambda entry point of the webhook and event functions: `TIMETHER_FUNCTION` names which.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    timether_lambda::run_integrations(&timether_lambda::entry_point()).await
}
