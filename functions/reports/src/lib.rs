//! `GET /reports/utilization`, `GET /reports/cost`, `GET /reports/profitability` (owner and
//! manager). They read the additive aggregates maintained with every entry write, so their
//! cost grows with members × weeks or projects × weeks, never with entries.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use shared::error::{ApiError, ApiResult};
use shared::gate::{authorize, Action};
use shared::http::{json, Params};
use shared::reports::{self, Range};
use shared::runtime::AppState;

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
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Reports).await?;
    let r = reports::utilization(&app, &ctx.ws, range(&params)?).await?;
    Ok(json(StatusCode::OK, r.body))
}

async fn cost(State(app): State<AppState>, method: Method, headers: HeaderMap, params: Params) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Reports).await?;
    let range = range(&params)?;
    let group_by = match params.get("group_by") {
        None => None,
        Some(g @ ("member" | "project")) => Some(g),
        Some(_) => return Err(ApiError::query("group_by", "must be member or project")),
    };
    let r = reports::cost(&app, &ctx.ws, range, group_by).await?;
    Ok(json(StatusCode::OK, r.body))
}

async fn profitability(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Reports).await?;
    let r = reports::profitability(&app, &ctx.ws, range(&params)?).await?;
    Ok(json(StatusCode::OK, r.body))
}
