//! `POST /timer/start`, `GET /timer`, `PATCH /timer`, `POST /timer/stop` — the caller's own
//! running entry; at most one per member per workspace (a marker written with
//! `attribute_not_exists` in the same transaction as the entry).

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use shared::entries;
use shared::error::{ApiError, ApiResult};
use shared::gate::{authorize, Action};
use shared::http::{json, json_object, Fields, Patch, RawBody};
use shared::idempotency::Idempotency;
use shared::runtime::AppState;
use shared::visibility::present;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/timer", get(current).patch(update))
        .route("/api/v1/timer/start", post(start))
        .route("/api/v1/timer/stop", post(stop))
}

async fn start(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::WriteOwnEntries).await?;
    let map = json_object(&headers, &body, true)?;
    entries::check_sensitive(&ctx, &map)?;
    let idem = Idempotency::from_request(&ctx, &headers, "POST /timer/start", &body)?;
    let mut f = Fields::new(map);
    let input = entries::entry_input(&mut f);
    let now = shared::time::now_secs();
    let start = match input.start {
        Patch::Value(s) if s.as_second() > now => {
            f.error("start", "must not be in the future");
            now
        }
        Patch::Value(s) => s.as_second(),
        _ => now,
    };
    f.finish()?;
    let project = match &input.project_id {
        Patch::Value(p) => Some(entries::usable_project(&app, &ctx.ws, p).await?),
        _ => None,
    };
    let mut e =
        entries::new_entry(&ctx.user_id, ctx.membership.internal_hourly_cost_cents, project.as_ref(), start, None);
    e.description = input.description.clone().apply(None);
    if let Patch::Value(b) = input.billable {
        e.billable = b;
    }
    if let Patch::Value(t) = &input.tag_ids {
        e.tag_ids = t.clone();
    }
    entries::commit_create(&app, &ctx, idem.as_ref(), e).await
}

async fn current(State(app): State<AppState>, method: Method, headers: HeaderMap) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    let e = entries::running_entry(&app, &ctx.ws, &ctx.user_id).await?.ok_or(ApiError::NoRunningTimer)?;
    Ok(json(StatusCode::OK, present(&ctx, e.to_json())))
}

async fn update(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::WriteOwnEntries).await?;
    let map = json_object(&headers, &body, false)?;
    entries::check_sensitive(&ctx, &map)?;
    let mut f = Fields::new(map);
    let input = entries::entry_input(&mut f);
    if let Patch::Value(s) = input.start {
        if s.as_second() > shared::time::now_secs() {
            f.error("start", "must not be in the future");
        }
    }
    f.finish()?;
    for _ in 0..5 {
        let before = entries::running_entry(&app, &ctx.ws, &ctx.user_id).await?.ok_or(ApiError::NoRunningTimer)?;
        let mut after = before.clone();
        if let Patch::Value(s) = input.start {
            after.start = s.as_second();
        }
        entries::apply_input(&app, &ctx.ws, &mut after, &input).await?;
        if let Some(r) = entries::save(&app, &ctx, &before, after).await? {
            return Ok(r);
        }
    }
    Err(ApiError::ServiceUnavailable)
}

async fn stop(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::WriteOwnEntries).await?;
    let mut f = Fields::new(json_object(&headers, &body, true)?);
    let end = f.instant("end");
    let now = shared::time::now_secs();
    if let Patch::Value(e) = &end {
        if e.as_second() > now {
            f.error("end", "must not be in the future");
        }
    }
    if end == Patch::Null {
        f.error("end", "must be an RFC 3339 timestamp");
    }
    f.finish()?;
    for _ in 0..5 {
        let before = entries::running_entry(&app, &ctx.ws, &ctx.user_id).await?.ok_or(ApiError::NoRunningTimer)?;
        let at = match &end {
            Patch::Value(e) => {
                if e.as_second() < before.start {
                    return Err(ApiError::field("end", "must not be before the timer's start"));
                }
                e.as_second()
            }
            _ => now,
        };
        let mut after = before.clone();
        after.end = Some(entries::stop_at(&before, at));
        if let Some(r) = entries::save(&app, &ctx, &before, after).await? {
            return Ok(r);
        }
    }
    Err(ApiError::ServiceUnavailable)
}
