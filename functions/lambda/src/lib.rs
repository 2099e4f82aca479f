//! The stack's Lambda binaries. Every function resource of `template.yaml` deploys one of two
//! binaries and names its entry point in `TIMETHER_FUNCTION`; each entry point is the one its
//! own crate's `main` runs (tracing, config and clients once per cold start, then the runtime
//! loop), so a function behaves exactly as its crate's binary would.
//!
//! Two binaries instead of thirteen: `sam build` links two (fat LTO, size-optimised) instead
//! of one per function. They are split by what they link, which keeps each under 6 MiB:
//! `core` (DynamoDB and Secrets Manager: the API resources and the time-zone job) and
//! `integrations` (also SQS, EventBridge and the outbound HTTPS client: webhooks and events).
//! Each binary's `main` matches only its own entry points, so the linker drops the other's.
use lambda_runtime::Error;
use shared::lambda::run_lambda;

/// The entry points of the `core` binary.
pub const CORE: [&str; 9] =
    ["workspace", "tokens", "clients", "projects", "tags", "time-entries", "timer", "reports", "jobs"];

/// The entry points of the `integrations` binary.
pub const INTEGRATIONS: [&str; 4] = ["webhooks", "webhook-dispatch", "webhook-deliver", "events"];

/// The entry point the environment names (`TIMETHER_FUNCTION`).
pub fn entry_point() -> String {
    std::env::var("TIMETHER_FUNCTION").unwrap_or_default()
}

/// An unknown entry point: the cold start fails at once (visible in the function's log and in
/// its `Errors` metric) instead of serving some other function's routes.
fn unknown(binary: &str, name: &str, known: &[&str]) -> Error {
    format!("TIMETHER_FUNCTION is {name:?}, which the {binary} binary does not run; it runs {known:?}").into()
}

/// Runs `name`, one of [`CORE`], until the runtime stops.
pub async fn run_core(name: &str) -> Result<(), Error> {
    match name {
        "workspace" => run_lambda(timether_workspace::routes()).await,
        "tokens" => run_lambda(timether_tokens::routes()).await,
        "clients" => run_lambda(timether_clients::routes()).await,
        "projects" => run_lambda(timether_projects::routes()).await,
        "tags" => run_lambda(timether_tags::routes()).await,
        "time-entries" => run_lambda(timether_time_entries::routes()).await,
        "timer" => run_lambda(timether_timer::routes()).await,
        "reports" => run_lambda(timether_reports::routes()).await,
        "jobs" => timether_jobs::run().await,
        other => Err(unknown("core", other, &CORE)),
    }
}

/// Runs `name`, one of [`INTEGRATIONS`], until the runtime stops.
pub async fn run_integrations(name: &str) -> Result<(), Error> {
    match name {
        "webhooks" => timether_webhooks::aws::run_api().await,
        "webhook-dispatch" => timether_webhooks::aws::run_dispatch().await,
        "webhook-deliver" => timether_webhooks::aws::run_deliver().await,
        "events" => timether_events::run().await,
        other => Err(unknown("integrations", other, &INTEGRATIONS)),
    }
}
