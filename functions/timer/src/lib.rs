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
use shared::http::respond;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/timer", get(current).patch(update))
        .route("/api/v1/timer/start", post(start))
        .route("/api/v1/timer/stop", post(stop))
}

async fn start(key: IdempotencyKey, req: AuthorizedBody<can::WriteOwnEntries, BodyProject>) -> ApiResult<Response> {
    let (caller, body) = (req.auth, req.body);
    let map = body.optional_object()?;
    shared::domain::entries::check_sensitive(&caller, &map)?;
    let idem = key.bind(&caller, "POST /timer/start", &body)?;
    let input = timer::parse(&caller, map)?;
    let created = timer::start(caller.store(), &caller, idem.as_ref(), &input).await?;
    Ok(respond::created(&caller, created))
}

async fn current(caller: Authorized<can::Read, RunningTimer>) -> ApiResult<Response> {
    let e = timer::current(caller.store(), &caller).await?;
    Ok(respond::ok(&caller, e.to_json()))
}

async fn update(req: AuthorizedBody<can::WriteOwnEntries, RunningTimer>) -> ApiResult<Response> {
    let (caller, body) = (req.auth, req.body);
    let input = timer::parse(&caller, body.object()?)?;
    let e = timer::update(caller.store(), &caller, &input).await?;
    Ok(respond::ok(&caller, e.to_json()))
}

async fn stop(caller: Authorized<can::WriteOwnEntries, RunningTimer>, body: Body) -> ApiResult<Response> {
    let end = timer::parse_stop(body.optional_object()?)?;
    let e = timer::stop(caller.store(), &caller, end).await?;
    Ok(respond::ok(&caller, e.to_json()))
}
