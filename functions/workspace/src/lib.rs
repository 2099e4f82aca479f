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
#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use shared::http::openapi::prelude::*;
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/workspace",
    operation_id = "getWorkspace",
    tag = "Workspace",
    summary = "Get the workspace",
    params(WorkspaceHeader),
    responses(
        (status = 200, description = "OK", body = Workspace),
        (status = 400, response = Error400),
        (status = 401, response = Error401),
        (status = 403, response = Error403Read),
        (status = 503, response = Error503),
    ),
))]
async fn get_workspace(caller: Authorized<can::Read>) -> ApiResult<Response> {
    Ok(respond::ok(&caller, caller.workspace.to_json()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    patch,
    path = "/workspace",
    operation_id = "updateWorkspace",
    tag = "Workspace",
    summary = "Update the workspace (owner)",
    params(WorkspaceHeader),
    request_body(content = WorkspacePatch, example = json!({"name": "Acme", "timezone": "Europe/Berlin", "internal_cost_basis": "salary"})),
    responses(
        (status = 200, description = "OK", body = Workspace),
        (status = 400, response = Error400Body),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
        (status = 422, response = Error422),
        (status = 503, response = Error503),
    ),
))]
async fn patch_workspace(
    caller: Authorized<can::ManageWorkspace, WorkspaceItem>,
    State(app): State<AppState>,
    body: Body,
) -> ApiResult<Response> {
    let change = workspaces::parse_change(body.object()?)?;
    let w = workspaces::update(caller.store(), &caller, &change, &*app.jobs).await?;
    Ok(respond::ok(&caller, w.to_json()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/me",
    operation_id = "getMe",
    tag = "Workspace",
    summary = "The caller in this workspace",
    params(WorkspaceHeader),
    responses(
        (status = 200, description = "OK", body = Me),
        (status = 400, response = Error400),
        (status = 401, response = Error401),
        (status = 403, response = Error403Read),
        (status = 503, response = Error503),
    ),
))]
async fn me(caller: Authorized<can::Read>) -> ApiResult<Response> {
    let m = &caller.membership;
    let body = json!({"user_id": caller.user_id, "email": m.email, "name": m.name, "role": m.role, "workspace_id": caller.ws.id()});
    Ok(respond::json(StatusCode::OK, body))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/memberships",
    operation_id = "listMemberships",
    tag = "Memberships",
    summary = "List memberships (joined_at, then user_id)",
    params(WorkspaceHeader, Paging),
    responses(
        (status = 200, description = "OK", body = Page<Membership>),
        (status = 400, response = Error400List),
        (status = 401, response = Error401),
        (status = 403, response = Error403Read),
        (status = 503, response = Error503),
    ),
))]
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/memberships/{user_id}",
    operation_id = "getMembership",
    tag = "Memberships",
    summary = "Get a membership",
    params(("user_id" = Id, Path), WorkspaceHeader),
    responses(
        (status = 200, description = "OK", body = Membership),
        (status = 400, response = Error400),
        (status = 401, response = Error401),
        (status = 403, response = Error403Read),
        (status = 404, response = Error404),
        (status = 503, response = Error503),
    ),
))]
async fn get_one(caller: Authorized<can::Read, MemberById>, Path(user_id): Path<String>) -> ApiResult<Response> {
    let m = memberships::get(caller.store(), &caller.ws, &user_id).await?;
    Ok(respond::ok(&caller, m.to_json(today_in(&caller.workspace.timezone))))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/memberships",
    operation_id = "createMembership",
    tag = "Memberships",
    summary = "Invite by email (a new email creates the user), or reactivate a former member at once",
    description = "The same answer, field for field apart from ids and timestamps, whether or not the email has an account: status invited, name null, the email as sent. 409 already_member (active) or already_invited (pending).",
    params(WorkspaceHeader, Idempotency),
    request_body(content = MembershipCreate, example = json!({"email": "grace@example.com", "role": "member", "expected_weekly_capacity_hours": 40, "internal_hourly_cost_cents": 5500})),
    responses(
        (status = 201, description = "OK", body = Membership, headers(("Idempotent-Replayed" = Replayed, description = "true when this answer replays the original response to the same Idempotency-Key and body")), links(("GetMembership" = (operation_id = "getMembership", parameters(("user_id" = "$response.body#/user_id")), description = "the created membership by its user_id")), ("UpdateMembership" = (operation_id = "updateMembership", parameters(("user_id" = "$response.body#/user_id")), description = "change the created membership")), ("DeleteMembership" = (operation_id = "deleteMembership", parameters(("user_id" = "$response.body#/user_id")), description = "delete the created membership")))),
        (status = 400, response = Error400Create),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 409, response = Error409Membership),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
        (status = 422, response = Error422Create),
        (status = 503, response = Error503),
    ),
))]
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
#[cfg_attr(feature = "openapi", utoipa::path(
    patch,
    path = "/memberships/{user_id}",
    operation_id = "updateMembership",
    tag = "Memberships",
    summary = "Change role or planning fields",
    params(("user_id" = Id, Path), WorkspaceHeader),
    request_body(content = MembershipPatch, example = json!({"expected_weekly_capacity_hours": 20, "capacity_effective_from": "2026-07-01"})),
    responses(
        (status = 200, description = "OK", body = Membership),
        (status = 400, response = Error400Body),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 404, response = Error404),
        (status = 409, response = Error409LastOwner),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
        (status = 422, response = Error422),
        (status = 503, response = Error503),
    ),
))]
async fn patch_membership(
    caller: Authorized<can::SetPlanningFields, MemberById>,
    Path(user_id): Path<String>,
    body: Body,
) -> ApiResult<Response> {
    let change = memberships::parse_change(&caller, body.object()?)?;
    let m = memberships::update(caller.store(), &caller, &user_id, &change).await?;
    Ok(respond::ok(&caller, m.to_json(today_in(&caller.workspace.timezone))))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    delete,
    path = "/memberships/{user_id}",
    operation_id = "deleteMembership",
    tag = "Memberships",
    summary = "Deactivate a member (stops their timer); withdraw a pending invitation (the membership is gone)",
    params(("user_id" = Id, Path), WorkspaceHeader),
    responses(
        (status = 204, description = "No Content"),
        (status = 400, response = Error400),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 404, response = Error404),
        (status = 409, response = Error409LastOwner),
        (status = 503, response = Error503),
    ),
))]
async fn delete_membership(
    caller: Authorized<can::ManageMembers, MemberById>,
    Path(user_id): Path<String>,
) -> ApiResult<Response> {
    memberships::deactivate(caller.store(), &caller, &user_id).await?;
    Ok(respond::no_content())
}

/// Rows 1–2 only, like `GET /tokens`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/invitations",
    operation_id = "listInvitations",
    tag = "Invitations",
    summary = "Your pending invitations, oldest first (needs only a valid token and a well-formed X-Workspace-Id)",
    params(WorkspaceHeader, Paging),
    responses(
        (status = 200, description = "OK", body = Page<Invitation>, links(("AcceptInvitation" = (operation_id = "acceptInvitation", parameters(("workspace_id" = "$response.body#/data/0/workspace_id")), description = "accept the oldest pending invitation")), ("DeclineInvitation" = (operation_id = "declineInvitation", parameters(("workspace_id" = "$response.body#/data/0/workspace_id")), description = "decline the oldest pending invitation")))),
        (status = 400, response = Error400List),
        (status = 401, response = Error401),
        (status = 503, response = Error503),
    ),
))]
async fn list_invitations(
    Authenticated(user): Authenticated,
    State(app): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let page = (params.cursor(), params.limit()?);
    let listed = invitations::list(&*app.store, &app.cursors, &user.user_id, page).await?;
    Ok(respond::list(listed.data, listed.next_cursor))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/invitations/{workspace_id}/accept",
    operation_id = "acceptInvitation",
    tag = "Invitations",
    summary = "Accept your invitation to a workspace (no body)",
    description = "Rows 1-2 of the error table, then: a token restricted to other workspaces gets 403 workspace_access_denied, a read-only token 403 token_read_only. Plan, billing state and role do not apply. A body is not needed; one that is sent must be JSON (400/415). No pending invitation: 404.",
    params(("workspace_id" = Id, Path), WorkspaceHeader),
    responses(
        (status = 200, description = "the membership as you now see it (status active, joined_at now, your own name)", body = Membership),
        (status = 400, response = Error400Body),
        (status = 401, response = Error401),
        (status = 403, response = Error403Invitation),
        (status = 404, response = Error404),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
        (status = 503, response = Error503),
    ),
))]
async fn accept_invitation(invitee: Invitee, body: Body) -> ApiResult<Response> {
    body.optional_object()?;
    let (m, workspace) = invitations::accept(invitee.store(), &invitee.ws, &invitee.user_id).await?;
    Ok(respond::ok_for_role(m.role, m.to_json(today_in(&workspace.timezone))))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    delete,
    path = "/invitations/{workspace_id}",
    operation_id = "declineInvitation",
    tag = "Invitations",
    summary = "Decline your invitation to a workspace (the membership is gone, as if withdrawn)",
    params(("workspace_id" = Id, Path), WorkspaceHeader),
    responses(
        (status = 204, description = "No Content"),
        (status = 400, response = Error400),
        (status = 401, response = Error401),
        (status = 403, response = Error403Invitation),
        (status = 404, response = Error404),
        (status = 503, response = Error503),
    ),
))]
async fn decline_invitation(invitee: Invitee) -> ApiResult<Response> {
    invitations::decline(invitee.store(), &invitee.ws, &invitee.user_id).await?;
    Ok(respond::no_content())
}

/// This function's operations in the OpenAPI document (feature `openapi`, the generator's).
#[cfg(feature = "openapi")]
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        get_workspace,
        patch_workspace,
        me,
        list_memberships,
        create_membership,
        get_one,
        patch_membership,
        delete_membership,
        list_invitations,
        accept_invitation,
        decline_invitation
    ))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}
