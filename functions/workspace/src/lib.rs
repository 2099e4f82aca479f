//! `GET/PATCH /workspace`, `GET /me`, `GET/POST /memberships`,
//! `GET/PATCH/DELETE /memberships/{user_id}`, the caller's own invitations (`GET
//! /invitations`, `POST /invitations/{workspace_id}/accept`, `DELETE
//! /invitations/{workspace_id}`), and the public OpenAPI document.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use serde_json::json;
use shared::app::AppState;
use shared::auth::gate::{can, Authenticated, Authorized, Invitee};
use shared::auth::prefetch::{BodyEmail, MemberById, WorkspaceItem};
use shared::domain::capacity::today_in;
use shared::domain::{invitations, memberships, workspaces, ApiResult};
use shared::http::extract::{AuthorizedBody, Body, IdempotencyKey, Params};
use shared::http::respond;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/workspace", get(get_workspace).patch(patch_workspace))
        .route("/api/v1/me", get(me))
        .route("/api/v1/memberships", get(list_memberships).post(create_membership))
        .route("/api/v1/memberships/{user_id}", get(get_one).patch(patch_membership).delete(delete_membership))
        .route("/api/v1/invitations", get(list_invitations))
        .route("/api/v1/invitations/{workspace_id}/accept", post(accept_invitation))
        .route("/api/v1/invitations/{workspace_id}", delete(decline_invitation))
        .merge(shared::http::openapi::routes())
}

async fn get_workspace(caller: Authorized<can::Read>) -> ApiResult<Response> {
    Ok(respond::ok(&caller, caller.workspace.to_json()))
}

async fn patch_workspace(
    caller: Authorized<can::ManageWorkspace, WorkspaceItem>,
    State(app): State<AppState>,
    body: Body,
) -> ApiResult<Response> {
    let change = workspaces::parse_change(body.object()?)?;
    let w = workspaces::update(caller.store(), &caller, &change, &*app.jobs).await?;
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
    let today = today_in(&caller.workspace.timezone);
    Ok(respond::page(&caller, listed.map(|m| m.to_json(today))))
}

async fn get_one(caller: Authorized<can::Read, MemberById>, Path(user_id): Path<String>) -> ApiResult<Response> {
    let m = memberships::get(caller.store(), &caller.ws, &user_id).await?;
    Ok(respond::ok(&caller, m.to_json(today_in(&caller.workspace.timezone))))
}

async fn create_membership(
    key: IdempotencyKey,
    req: AuthorizedBody<can::ManageMembers, BodyEmail>,
) -> ApiResult<Response> {
    let (caller, body) = (req.auth, req.body);
    let map = body.object()?;
    memberships::authorize_body(&caller, &map)?;
    let idem = key.bind(&caller, "POST /memberships", &body)?;
    let new = memberships::parse_new(map)?;
    let created = memberships::add(caller.store(), &caller, idem.as_ref(), &new).await?;
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
    Ok(respond::ok(&caller, m.to_json(today_in(&caller.workspace.timezone))))
}

async fn delete_membership(
    caller: Authorized<can::ManageMembers, MemberById>,
    Path(user_id): Path<String>,
) -> ApiResult<Response> {
    memberships::deactivate(caller.store(), &caller, &user_id).await?;
    Ok(respond::no_content())
}

/// Rows 1–2 only, like `GET /tokens`.
async fn list_invitations(
    Authenticated(user): Authenticated,
    State(app): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let page = (params.cursor(), params.limit()?);
    let listed = invitations::list(&*app.store, &app.cursors, &user.user_id, page).await?;
    Ok(respond::list(listed.data, listed.next_cursor))
}

async fn accept_invitation(invitee: Invitee) -> ApiResult<Response> {
    let (m, workspace) = invitations::accept(invitee.store(), &invitee.ws, &invitee.user_id).await?;
    Ok(respond::ok_for_role(m.role, m.to_json(today_in(&workspace.timezone))))
}

async fn decline_invitation(invitee: Invitee) -> ApiResult<Response> {
    invitations::decline(invitee.store(), &invitee.ws, &invitee.user_id).await?;
    Ok(respond::no_content())
}
