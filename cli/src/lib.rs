//! The local server's route table: every function's routes on one router (used by
//! `timether serve` and the benchmarks).

use shared::app::AppState;

pub mod jobs;
#[cfg(feature = "openapi")]
pub mod openapi;

/// Every function's routes, mounted on one router.
pub fn all_routes() -> axum::Router<AppState> {
    axum::Router::new()
        .merge(timether_workspace::routes())
        .merge(timether_tokens::routes())
        .merge(timether_clients::routes())
        .merge(timether_projects::routes())
        .merge(timether_tags::routes())
        .merge(timether_time_entries::routes())
        .merge(timether_timer::routes())
        .merge(timether_reports::routes())
        .merge(timether_webhooks::routes())
}
