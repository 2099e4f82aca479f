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
#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use shared::http::openapi::prelude::*;
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/reports/utilization",
    operation_id = "getUtilizationReport",
    tag = "Reports",
    summary = "Capacity utilization per member and ISO week",
    params(WorkspaceHeader, ReportRange),
    responses(
        (status = 200, description = "OK", body = Utilization, headers(("Timether-Reattribution" = Reattribution, description = "`running` while a time-zone change is being re-attributed"))),
        (status = 400, response = Error400Query),
        (status = 401, response = Error401),
        (status = 403, response = Error403ReadRole),
        (status = 503, response = Error503),
    ),
))]
async fn utilization(
    caller: Authorized<can::Reports>,
    State(app): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let r = reports::utilization(&*app.store, &caller.ws, range(&params)?).await?;
    Ok(report(&caller, r.body))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/reports/cost",
    operation_id = "getCostReport",
    tag = "Reports",
    summary = "Billable vs non-billable cost",
    params(WorkspaceHeader, ReportRange, ("group_by" = Option<GroupBy>, Query, description = "add groups")),
    responses(
        (status = 200, description = "OK", body = Cost, headers(("Timether-Reattribution" = Reattribution, description = "`running` while a time-zone change is being re-attributed"))),
        (status = 400, response = Error400Query),
        (status = 401, response = Error401),
        (status = 403, response = Error403ReadRole),
        (status = 503, response = Error503),
    ),
))]
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/reports/profitability",
    operation_id = "getProfitabilityReport",
    tag = "Reports",
    summary = "Project profitability",
    params(WorkspaceHeader, ReportRange),
    responses(
        (status = 200, description = "OK", body = Profitability, headers(("Timether-Reattribution" = Reattribution, description = "`running` while a time-zone change is being re-attributed"))),
        (status = 400, response = Error400Query),
        (status = 401, response = Error401),
        (status = 403, response = Error403ReadRole),
        (status = 503, response = Error503),
    ),
))]
async fn profitability(
    caller: Authorized<can::Reports>,
    State(app): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let r = reports::profitability(&*app.store, &caller.ws, range(&params)?).await?;
    Ok(report(&caller, r.body))
}

/// This function's operations in the OpenAPI document (feature `openapi`, the generator's).
#[cfg(feature = "openapi")]
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(utilization, cost, profitability))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}
