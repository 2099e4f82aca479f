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
#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use shared::http::openapi::prelude::*;
use shared::http::respond;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/time-entries", get(list).post(create))
        .route("/api/v1/time-entries/{id}", get(get_one).patch(update).delete(remove))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/time-entries",
    operation_id = "createTimeEntry",
    tag = "Time entries",
    summary = "Create a time entry",
    params(WorkspaceHeader, Idempotency),
    request_body(content = TimeEntryCreate, example = json!({"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:30:00Z", "description": "Design review", "billable": true, "tag_ids": []})),
    responses(
        (status = 201, description = "OK", body = TimeEntry, headers(("Idempotent-Replayed" = Replayed, description = "true when this answer replays the original response to the same Idempotency-Key and body")), links(("GetTimeEntry" = (operation_id = "getTimeEntry", parameters(("id" = "$response.body#/id")), description = "the created timeentry by its id")), ("UpdateTimeEntry" = (operation_id = "updateTimeEntry", parameters(("id" = "$response.body#/id")), description = "change the created timeentry")), ("DeleteTimeEntry" = (operation_id = "deleteTimeEntry", parameters(("id" = "$response.body#/id")), description = "delete the created timeentry")))),
        (status = 400, response = Error400Create),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
        (status = 422, response = Error422Create),
        (status = 503, response = Error503),
    ),
))]
async fn create(key: IdempotencyKey, req: AuthorizedBody<can::WriteOwnEntries, EntryRefs>) -> ApiResult<Response> {
    let (caller, body) = (req.auth, req.body);
    let map = body.object()?;
    entries::authorize_body(&caller, &map)?;
    let idem = key.bind(&caller, "POST /time-entries", &body)?;
    let new = entries::parse_new(&caller, map)?;
    let created = entries::create(caller.store(), &caller, idem.as_ref(), new).await?;
    Ok(respond::created(&caller, created))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/time-entries/{id}",
    operation_id = "getTimeEntry",
    tag = "Time entries",
    summary = "Get a time entry",
    params(("id" = Id, Path), WorkspaceHeader),
    responses(
        (status = 200, description = "OK", body = TimeEntry),
        (status = 400, response = Error400),
        (status = 401, response = Error401),
        (status = 403, response = Error403Read),
        (status = 404, response = Error404),
        (status = 503, response = Error503),
    ),
))]
async fn get_one(caller: Authorized<can::Read, EntryById>, Path(id): Path<String>) -> ApiResult<Response> {
    let e = entries::get_visible(caller.store(), &caller, &id).await?;
    Ok(respond::ok(&caller, e.to_json()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    patch,
    path = "/time-entries/{id}",
    operation_id = "updateTimeEntry",
    tag = "Time entries",
    summary = "Update a time entry",
    params(("id" = Id, Path), WorkspaceHeader),
    request_body(content = TimeEntryPatch, example = json!({"description": "Design review (notes)", "billable": false})),
    responses(
        (status = 200, description = "OK", body = TimeEntry),
        (status = 400, response = Error400Body),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 404, response = Error404),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
        (status = 422, response = Error422),
        (status = 503, response = Error503),
    ),
))]
async fn update(Path(id): Path<String>, req: AuthorizedBody<can::WriteOwnEntries, EntryById>) -> ApiResult<Response> {
    let (caller, body) = (req.auth, req.body);
    let change = entries::parse_change(&caller, body.object()?)?;
    let e = entries::update(caller.store(), &caller, &id, &change).await?;
    Ok(respond::ok(&caller, e.to_json()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    delete,
    path = "/time-entries/{id}",
    operation_id = "deleteTimeEntry",
    tag = "Time entries",
    summary = "Delete a time entry",
    params(("id" = Id, Path), WorkspaceHeader),
    responses(
        (status = 204, description = "No Content"),
        (status = 400, response = Error400),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 404, response = Error404),
        (status = 503, response = Error503),
    ),
))]
async fn remove(caller: Authorized<can::WriteOwnEntries, EntryById>, Path(id): Path<String>) -> ApiResult<Response> {
    entries::delete(caller.store(), &caller, &id).await?;
    Ok(respond::no_content())
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/time-entries",
    operation_id = "listTimeEntries",
    tag = "Time entries",
    summary = "List time entries (newest start first, ties by id)",
    params(WorkspaceHeader, ("from" = Option<String>, Query, format = DateTime, description = "from ≤ start"), ("to" = Option<String>, Query, format = DateTime, description = "start < to"), ("user_id" = Option<Id>, Query, description = "one member"), ("project_id" = Option<Id>, Query, description = "one project"), ("client_id" = Option<Id>, Query, description = "one client's projects"), ("tag_id" = Option<Id>, Query, description = "entries with this tag"), ("billable" = Option<bool>, Query, description = "billable or not"), Paging),
    responses(
        (status = 200, description = "OK", body = Page<TimeEntry>),
        (status = 400, response = Error400List),
        (status = 401, response = Error401),
        (status = 403, response = Error403Read),
        (status = 503, response = Error503),
    ),
))]
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

/// This function's operations in the OpenAPI document (feature `openapi`, the generator's).
#[cfg(feature = "openapi")]
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(list, create, get_one, update, remove))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}
