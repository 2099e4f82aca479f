//! `GET/PATCH /workspace`, `GET /me`, `GET/POST /memberships`,
//! `GET/PATCH/DELETE /memberships/{user_id}`, and the public OpenAPI document.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;
use shared::app::AppState;
use shared::auth::gate::{can, Authorized};
use shared::auth::prefetch::{MemberById, WorkspaceItem};
use shared::domain::{memberships, workspaces, ApiResult};
use shared::http::extract::{Body, IdempotencyKey, Params};
use shared::http::respond;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/workspace", get(get_workspace).patch(patch_workspace))
        .route("/api/v1/me", get(me))
        .route("/api/v1/memberships", get(list_memberships).post(create_membership))
        .route("/api/v1/memberships/{user_id}", get(get_one).patch(patch_membership).delete(delete_membership))
        .merge(shared::http::openapi::routes())
}

async fn get_workspace(caller: Authorized<can::Read>) -> ApiResult<Response> {
    Ok(respond::ok(&caller, caller.workspace.to_json()))
}

async fn patch_workspace(caller: Authorized<can::ManageWorkspace, WorkspaceItem>, body: Body) -> ApiResult<Response> {
    let change = workspaces::parse_change(body.object()?)?;
    let w = workspaces::update(caller.store(), &caller, &change).await?;
    Ok(respond::ok(&caller, w.to_json()))
}

async fn me(caller: Authorized<can::Read>) -> ApiResult<Response> {
    let m = &caller.membership;
    let body = json!({"user_id": caller.user_id, "email": m.email, "name": m.name, "role": m.role, "workspace_id": caller.ws.id()});
    Ok(respond::json(StatusCode::OK, body))
}

async fn list_memberships(
    caller: Authorized<can::Read>,
    State(app): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let page = (params.cursor(), params.limit()?);
    let listed = memberships::list(&*app.store, &app.cursors, &caller.ws, page).await?;
    Ok(respond::page(&caller, listed.map(|m| m.to_json())))
}

async fn get_one(caller: Authorized<can::Read, MemberById>, Path(user_id): Path<String>) -> ApiResult<Response> {
    let m = memberships::get(caller.store(), &caller.ws, &user_id).await?;
    Ok(respond::ok(&caller, m.to_json()))
}

async fn create_membership(
    caller: Authorized<can::ManageMembers>,
    State(app): State<AppState>,
    key: IdempotencyKey,
    body: Body,
) -> ApiResult<Response> {
    let map = body.object()?;
    memberships::authorize_body(&caller, &map)?;
    let idem = key.bind(&caller, "POST /memberships", &body)?;
    let new = memberships::parse_new(map)?;
    let created = memberships::add(&*app.store, &caller, idem.as_ref(), &new).await?;
    Ok(respond::created(&caller, created))
}

/// Members and viewers may not change memberships at all (403 before the body is read);
/// role changes are for owners only (checked once the body is parsed).
async fn patch_membership(
    caller: Authorized<can::SetPlanningFields, MemberById>,
    Path(user_id): Path<String>,
    body: Body,
) -> ApiResult<Response> {
    let change = memberships::parse_change(&caller, body.object()?)?;
    let m = memberships::update(caller.store(), &caller, &user_id, &change).await?;
    Ok(respond::ok(&caller, m.to_json()))
}

async fn delete_membership(
    caller: Authorized<can::ManageMembers, MemberById>,
    Path(user_id): Path<String>,
) -> ApiResult<Response> {
    memberships::deactivate(caller.store(), &caller, &user_id).await?;
    Ok(respond::no_content())
}
