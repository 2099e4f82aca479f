//! Lambda entry point of the API functions and the time-zone job: `TIMETHER_FUNCTION` names which.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    timether_lambda::run_core(&timether_lambda::entry_point()).await
}
