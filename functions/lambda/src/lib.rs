//! The stack's one Lambda binary. Every function resource of `template.yaml` deploys this
//! `bootstrap` and names its entry point in `TIMETHER_FUNCTION` (`src/main.rs` reads it and
//! calls [`run`]); each entry point is the one
//! its own crate's `main` runs (tracing, config and clients once per cold start, then the
//! runtime loop), so a function behaves exactly as its crate's binary would. One binary means
//! one fat-LTO link for `sam build` instead of one per function.
use lambda_runtime::Error;
use shared::lambda::run_lambda;

/// The names `TIMETHER_FUNCTION` accepts (the template sets one per function resource).
pub const FUNCTIONS: [&str; 13] = [
    "workspace",
    "tokens",
    "clients",
    "projects",
    "tags",
    "time-entries",
    "timer",
    "reports",
    "webhooks",
    "webhook-dispatch",
    "webhook-deliver",
    "events",
    "jobs",
];

/// Runs the entry point `name` (one of [`FUNCTIONS`]) until the runtime stops; an unknown name
/// is an error at once (a failed cold start, visible in the function's log and `Errors`).
pub async fn run(name: &str) -> Result<(), Error> {
    match name {
        "workspace" => run_lambda(timether_workspace::routes()).await,
        "tokens" => run_lambda(timether_tokens::routes()).await,
        "clients" => run_lambda(timether_clients::routes()).await,
        "projects" => run_lambda(timether_projects::routes()).await,
        "tags" => run_lambda(timether_tags::routes()).await,
        "time-entries" => run_lambda(timether_time_entries::routes()).await,
        "timer" => run_lambda(timether_timer::routes()).await,
        "reports" => run_lambda(timether_reports::routes()).await,
        "webhooks" => timether_webhooks::aws::run_api().await,
        "webhook-dispatch" => timether_webhooks::aws::run_dispatch().await,
        "webhook-deliver" => timether_webhooks::aws::run_deliver().await,
        "events" => timether_events::run().await,
        "jobs" => timether_jobs::run().await,
        other => Err(format!("TIMETHER_FUNCTION is {other:?}; expected one of {FUNCTIONS:?}").into()),
    }
}
