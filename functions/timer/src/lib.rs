//! `POST /timer/start`, `GET /timer`, `PATCH /timer`, `POST /timer/stop` — the caller's own
//! running entry; at most one per member per workspace.

use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use shared::app::AppState;
use shared::auth::gate::{can, Authorized};
use shared::auth::prefetch::{BodyProject, RunningTimer};
use shared::domain::timer;
use shared::domain::ApiResult;
use shared::http::extract::{AuthorizedBody, Body, IdempotencyKey};
#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use shared::http::openapi::prelude::*;
use shared::http::respond;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/timer", get(current).patch(update))
        .route("/api/v1/timer/start", post(start))
        .route("/api/v1/timer/stop", post(stop))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/timer/start",
    operation_id = "startTimer",
    tag = "Timer",
    summary = "Start a timer (body optional)",
    params(WorkspaceHeader, Idempotency),
    request_body(content = TimerStart, example = json!({"description": "Standup"})),
    responses(
        (status = 201, description = "OK", body = TimeEntry, headers(("Idempotent-Replayed" = Replayed, description = "true when this answer replays the original response to the same Idempotency-Key and body")), links(("GetTimer" = (operation_id = "getTimer", description = "the running timer just started")), ("UpdateTimer" = (operation_id = "updateTimer", description = "change the running timer")), ("StopTimer" = (operation_id = "stopTimer", description = "stop the running timer")), ("GetTimeEntry" = (operation_id = "getTimeEntry", parameters(("id" = "$response.body#/id")), description = "the running entry as a time entry")))),
        (status = 400, response = Error400Create),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 409, response = Error409Timer),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
        (status = 422, response = Error422Create),
        (status = 503, response = Error503),
    ),
))]
async fn start(key: IdempotencyKey, req: AuthorizedBody<can::WriteOwnEntries, BodyProject>) -> ApiResult<Response> {
    let (caller, body) = (req.auth, req.body);
    let map = body.optional_object()?;
    shared::domain::entries::check_sensitive(&caller, &map)?;
    let idem = key.bind(&caller, "POST /timer/start", &body)?;
    let input = timer::parse(&caller, map)?;
    let created = timer::start(caller.store(), &caller, idem.as_ref(), &input).await?;
    Ok(respond::created(&caller, created))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/timer",
    operation_id = "getTimer",
    tag = "Timer",
    summary = "Your running timer",
    params(WorkspaceHeader),
    responses(
        (status = 200, description = "OK", body = TimeEntry),
        (status = 400, response = Error400),
        (status = 401, response = Error401),
        (status = 403, response = Error403Read),
        (status = 404, response = Error404Timer),
        (status = 503, response = Error503),
    ),
))]
async fn current(caller: Authorized<can::Read, RunningTimer>) -> ApiResult<Response> {
    let e = timer::current(caller.store(), &caller).await?;
    Ok(respond::ok(&caller, e.to_json()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    patch,
    path = "/timer",
    operation_id = "updateTimer",
    tag = "Timer",
    summary = "Change your running timer",
    params(WorkspaceHeader),
    request_body(content = TimerStart, example = json!({"description": "Standup and planning"})),
    responses(
        (status = 200, description = "OK", body = TimeEntry),
        (status = 400, response = Error400Body),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 404, response = Error404Timer),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
        (status = 422, response = Error422),
        (status = 503, response = Error503),
    ),
))]
async fn update(req: AuthorizedBody<can::WriteOwnEntries, RunningTimer>) -> ApiResult<Response> {
    let (caller, body) = (req.auth, req.body);
    let input = timer::parse(&caller, body.object()?)?;
    let e = timer::update(caller.store(), &caller, &input).await?;
    Ok(respond::ok(&caller, e.to_json()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/timer/stop",
    operation_id = "stopTimer",
    tag = "Timer",
    summary = "Stop your timer (body optional)",
    params(WorkspaceHeader),
    request_body(content = TimerStop, example = json!({})),
    responses(
        (status = 200, description = "OK", body = TimeEntry),
        (status = 400, response = Error400Body),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 404, response = Error404Timer),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
        (status = 422, response = Error422),
        (status = 503, response = Error503),
    ),
))]
async fn stop(caller: Authorized<can::WriteOwnEntries, RunningTimer>, body: Body) -> ApiResult<Response> {
    let end = timer::parse_stop(body.optional_object()?)?;
    let e = timer::stop(caller.store(), &caller, end).await?;
    Ok(respond::ok(&caller, e.to_json()))
}

/// This function's operations in the OpenAPI document (feature `openapi`, the generator's).
#[cfg(feature = "openapi")]
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(start, current, update, stop))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}
