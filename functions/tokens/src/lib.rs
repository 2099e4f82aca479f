//! `GET /tokens`, `POST /tokens`, `DELETE /tokens/{id}` — the caller's own tokens.
//!
//! Listing and revoking need only a valid token and a well-formed `X-Workspace-Id` (a leaked
//! token must always be revocable); creating goes through the full gate.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get};
use axum::Router;
use shared::app::AppState;
use shared::auth::gate::{can, Authenticated, Authorized};
use shared::auth::token::mint;
use shared::domain::tokens;
use shared::domain::ApiResult;
use shared::http::extract::{Body, Params};
#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use shared::http::openapi::prelude::*;
use shared::http::respond;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/tokens",
    operation_id = "listTokens",
    tag = "Tokens",
    summary = "List your tokens (needs only a valid token and a well-formed X-Workspace-Id)",
    params(WorkspaceHeader, Paging),
    responses(
        (status = 200, description = "OK", body = Page<Token>),
        (status = 400, response = Error400List),
        (status = 401, response = Error401),
        (status = 503, response = Error503),
    ),
))]
async fn list_tokens(
    Authenticated(user): Authenticated,
    State(app): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let page = (params.cursor(), params.limit()?);
    let listed = tokens::list(&*app.store, &app.cursors, &user.user_id, page.0, page.1).await?;
    let listed = listed.map(|t| t.to_json());
    Ok(respond::list(listed.data, listed.next_cursor))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/tokens",
    operation_id = "createToken",
    tag = "Tokens",
    summary = "Create a token (the secret is shown once)",
    params(WorkspaceHeader),
    request_body(content = TokenCreate, example = json!({"name": "CI", "read_only": true})),
    responses(
        (status = 201, description = "OK", body = TokenCreated, links(("RevokeToken" = (operation_id = "revokeToken", parameters(("id" = "$response.body#/id")), description = "revoke the created token")))),
        (status = 400, response = Error400Body),
        (status = 401, response = Error401),
        (status = 403, response = Error403Write),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
        (status = 422, response = Error422),
        (status = 503, response = Error503),
    ),
))]
async fn create_token(
    caller: Authorized<can::OwnTokens>,
    State(app): State<AppState>,
    body: Body,
) -> ApiResult<Response> {
    let new = tokens::parse_new(&*app.store, &caller, body.object()?).await?;
    let issued = tokens::issue(&*app.store, mint(&app.pepper, &caller.user_id), &caller.user_id, new).await?;
    Ok(respond::json(StatusCode::CREATED, issued.to_json()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    delete,
    path = "/tokens/{id}",
    operation_id = "revokeToken",
    tag = "Tokens",
    summary = "Revoke one of your tokens (always allowed)",
    params(("id" = Id, Path), WorkspaceHeader),
    responses(
        (status = 204, description = "No Content"),
        (status = 400, response = Error400),
        (status = 401, response = Error401),
        (status = 404, response = Error404),
        (status = 503, response = Error503),
    ),
))]
async fn revoke_token(
    Authenticated(user): Authenticated,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    tokens::revoke(&*app.store, &user.user_id, &id).await?;
    Ok(respond::no_content())
}

/// This function's operations in the OpenAPI document (feature `openapi`, the generator's).
#[cfg(feature = "openapi")]
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(list_tokens, create_token, revoke_token))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}
