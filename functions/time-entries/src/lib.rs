//! `GET/POST /time-entries`, `GET/PATCH/DELETE /time-entries/{id}`.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use shared::app::AppState;
use shared::auth::gate::{can, Authorized};
use shared::auth::prefetch::{EntryById, EntryMonths, EntryRefs};
use shared::domain::entries::{self, EntryFilters};
use shared::domain::ApiResult;
use shared::http::extract::{AuthorizedBody, IdempotencyKey, Params};
use shared::http::respond;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/time-entries", get(list).post(create))
        .route("/api/v1/time-entries/{id}", get(get_one).patch(update).delete(remove))
}

async fn create(key: IdempotencyKey, req: AuthorizedBody<can::WriteOwnEntries, EntryRefs>) -> ApiResult<Response> {
    let (caller, body) = (req.auth, req.body);
    let map = body.object()?;
    entries::authorize_body(&caller, &map)?;
    let idem = key.bind(&caller, "POST /time-entries", &body)?;
    let new = entries::parse_new(&caller, map)?;
    let created = entries::create(caller.store(), &caller, idem.as_ref(), new).await?;
    Ok(respond::created(&caller, created))
}

async fn get_one(caller: Authorized<can::Read, EntryById>, Path(id): Path<String>) -> ApiResult<Response> {
    let e = entries::get_visible(caller.store(), &caller, &id).await?;
    Ok(respond::ok(&caller, e.to_json()))
}

async fn update(Path(id): Path<String>, req: AuthorizedBody<can::WriteOwnEntries, EntryById>) -> ApiResult<Response> {
    let (caller, body) = (req.auth, req.body);
    let change = entries::parse_change(&caller, body.object()?)?;
    let e = entries::update(caller.store(), &caller, &id, &change).await?;
    Ok(respond::ok(&caller, e.to_json()))
}

async fn remove(caller: Authorized<can::WriteOwnEntries, EntryById>, Path(id): Path<String>) -> ApiResult<Response> {
    entries::delete(caller.store(), &caller, &id).await?;
    Ok(respond::no_content())
}

async fn list(
    caller: Authorized<can::Read, EntryMonths>,
    State(app): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let page = (params.cursor(), params.limit()?);
    let filters = EntryFilters {
        from: params.instant("from")?,
        to: params.instant("to")?,
        user_id: params.id("user_id")?,
        project_id: params.id("project_id")?,
        client_id: params.id("client_id")?,
        tag_id: params.id("tag_id")?,
        billable: params.bool("billable")?,
    };
    let listed = entries::list(caller.store(), &app.cursors, &caller, filters, page).await?;
    Ok(respond::page(&caller, listed.map(|e| e.to_json())))
}
