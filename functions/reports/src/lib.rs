//! `GET /reports/utilization`, `GET /reports/cost`, `GET /reports/profitability` — computed
//! from aggregates (items read ∝ members × weeks, never entries).

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use shared::app::AppState;
use shared::auth::gate::{can, Authorized};
use shared::domain::reports::{self, Range};
use shared::domain::{ApiError, ApiResult};
use shared::http::extract::Params;
use shared::http::respond::report;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports/utilization", get(utilization))
        .route("/api/v1/reports/cost", get(cost))
        .route("/api/v1/reports/profitability", get(profitability))
}

fn range(params: &Params) -> ApiResult<Range> {
    let from = params.date("from");
    let to = params.date("to");
    Range::parse(from?, to?)
}

async fn utilization(
    caller: Authorized<can::Reports>,
    State(app): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let r = reports::utilization(&*app.store, &caller.ws, range(&params)?).await?;
    Ok(report(&caller, r.body))
}

async fn cost(caller: Authorized<can::Reports>, State(app): State<AppState>, params: Params) -> ApiResult<Response> {
    let range = range(&params)?;
    let group_by = match params.get("group_by") {
        None => None,
        Some(g @ ("member" | "project")) => Some(g),
        Some(_) => return Err(ApiError::query("group_by", "must be member or project")),
    };
    let r = reports::cost(&*app.store, &caller.ws, range, group_by).await?;
    Ok(report(&caller, r.body))
}

async fn profitability(
    caller: Authorized<can::Reports>,
    State(app): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let r = reports::profitability(&*app.store, &caller.ws, range(&params)?).await?;
    Ok(report(&caller, r.body))
}
