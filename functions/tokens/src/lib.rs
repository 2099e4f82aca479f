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
use shared::http::respond;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
}

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

async fn create_token(
    caller: Authorized<can::OwnTokens>,
    State(app): State<AppState>,
    body: Body,
) -> ApiResult<Response> {
    let new = tokens::parse_new(&*app.store, &caller, body.object()?).await?;
    let issued = tokens::issue(&*app.store, mint(&app.pepper, &caller.user_id), &caller.user_id, new).await?;
    Ok(respond::json(StatusCode::CREATED, issued.to_json()))
}

async fn revoke_token(
    Authenticated(user): Authenticated,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    tokens::revoke(&*app.store, &user.user_id, &id).await?;
    Ok(respond::no_content())
}
