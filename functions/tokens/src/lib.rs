//! `GET /tokens`, `POST /tokens`, `DELETE /tokens/{id}` — the caller's own tokens.
//!
//! Listing and revoking need only a valid token and a well-formed `X-Workspace-Id` (a leaked
//! token must always be revocable); creating goes through the full gate.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get};
use axum::Router;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use shared::error::{ApiError, ApiResult};
use shared::gate::{authenticate_user, authorize, Action};
use shared::http::{json, json_object, Fields, Params, Patch, RawBody};
use shared::keys;
use shared::model::{from_body, to_body, TokenRecord};
use shared::runtime::{App, AppState};
use shared::store::{Cond, Query, Record, SkRange, StoreError, Write};

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
}

async fn list_tokens(State(app): State<AppState>, headers: HeaderMap, params: Params) -> ApiResult<Response> {
    let user = authenticate_user(&app, &headers).await?;
    let limit = params.limit()?;
    let scope = format!("user:{}|tokens", user.user_id);
    let q = Query {
        partition: keys::user_index(&user.user_id),
        range: SkRange::Prefix(keys::TOKEN_PREFIX.into()),
        forward: true,
        limit,
        start: None,
    };
    let (items, next) = shared::listing::page(&app, &scope, params.cursor(), limit, q, |_| true).await?;
    let data =
        items.into_iter().map(|i| from_body::<TokenRecord>(i).map(|t| t.to_json())).collect::<ApiResult<Vec<_>>>()?;
    Ok(shared::http::list(data, next))
}

/// Workspaces where the user is an active member (from the user's own index partition).
async fn active_workspaces(app: &App, user_id: &str) -> ApiResult<Vec<String>> {
    let mut q = Query {
        partition: keys::user_index(user_id),
        range: SkRange::Prefix(keys::USER_WORKSPACE_PREFIX.into()),
        forward: true,
        limit: 200,
        start: None,
    };
    let mut out = vec![];
    loop {
        let page = app.store.query(&q).await?;
        for (item, pos) in page.items.iter().zip(&page.positions) {
            if item.get("active") == Some(&Value::Bool(true)) {
                if let Some(ws) = pos.isk.as_deref().and_then(|s| s.strip_prefix(keys::USER_WORKSPACE_PREFIX)) {
                    out.push(ws.to_string());
                }
            }
        }
        match page.next {
            Some(n) => q.start = Some(n),
            None => return Ok(out),
        }
    }
}

async fn create_token(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::OwnTokens).await?;
    let mut f = Fields::new(json_object(&headers, &body, false)?);
    let name = f.required_string("name", 1, 200, true);
    let expires_at = f.instant("expires_at");
    if let Patch::Value(t) = &expires_at {
        if t.as_second() <= shared::time::now_secs() {
            f.error("expires_at", "must be in the future");
        }
    }
    let read_only = f.boolean("read_only");
    if read_only == Patch::Null {
        f.error("read_only", "must be true or false");
    }
    let workspace_ids = match f.get("workspace_ids").cloned() {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => {
            let ids: Option<Vec<String>> = a.iter().map(|v| v.as_str().map(str::to_string)).collect();
            match ids {
                Some(mut ids) if !ids.is_empty() => {
                    ids.dedup();
                    Some(ids)
                }
                _ => {
                    f.error("workspace_ids", "must be a non-empty array of workspace ids");
                    None
                }
            }
        }
        Some(_) => {
            f.error("workspace_ids", "must be an array of workspace ids");
            None
        }
    };
    // A restricted token can only mint tokens within its own restriction.
    if let Some(own) = &ctx.token.workspace_ids {
        match &workspace_ids {
            Some(ids) if ids.iter().all(|i| own.contains(i)) => {}
            _ if f.has_error("workspace_ids") => {}
            _ => f.error("workspace_ids", "must be a subset of this token's workspaces"),
        }
    }
    if let (Some(ids), false) = (&workspace_ids, f.has_error("workspace_ids")) {
        let active = active_workspaces(&app, &ctx.user_id).await?;
        if !ids.iter().all(|i| active.contains(i)) {
            f.error("workspace_ids", "must be workspaces you actively belong to");
        }
    }
    f.finish()?;
    let expires_at = expires_at.apply(None).map(shared::time::fmt);
    let read_only = matches!(read_only, Patch::Value(true));
    let (rec, token) =
        issue(&app, &ctx.user_id, &name.expect("validated"), expires_at, read_only, workspace_ids).await?;
    let secret = token.expose_secret();
    Ok(json(
        StatusCode::CREATED,
        json!({
            "id": rec.id, "name": rec.name, "token": secret, "hint": rec.hint, "created_at": rec.created_at,
            "expires_at": rec.expires_at, "read_only": rec.read_only, "workspace_ids": rec.workspace_ids,
        }),
    ))
}

async fn revoke_token(State(app): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> ApiResult<Response> {
    let user = authenticate_user(&app, &headers).await?;
    if !keys::is_valid_id(&id) {
        return Err(ApiError::NotFound);
    }
    // One conditional delete: someone else's token id (or an unknown one) is a 404.
    match app
        .store
        .write(vec![Write::Delete { key: keys::token(&id), cond: Cond::eq("user_id", user.user_id.as_str()) }])
        .await
    {
        Ok(()) => Ok(shared::http::no_content()),
        Err(StoreError::ConditionFailed { .. }) => Err(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Mints and stores a token; the secret is returned once and never stored.
/// Also used by `timether admin create-token`.
pub async fn issue(
    app: &App,
    user_id: &str,
    name: &str,
    expires_at: Option<String>,
    read_only: bool,
    workspace_ids: Option<Vec<String>>,
) -> ApiResult<(TokenRecord, secrecy::SecretString)> {
    let (token_id, token) = shared::token::generate(user_id);
    let secret = token.expose_secret();
    let now = shared::time::fmt(shared::time::now());
    let rec = TokenRecord {
        id: token_id.clone(),
        user_id: user_id.to_string(),
        name: name.to_string(),
        hash: shared::token::hash(&app.pepper, secret),
        hint: shared::token::hint(secret),
        created_at: now.clone(),
        last_used_at: None,
        expires_at,
        read_only,
        workspace_ids,
    };
    let record = Record::new(keys::token(&token_id), to_body(&rec))
        .with_indexes(vec![keys::token_by_user(user_id, &now, &token_id)]);
    app.store.write(vec![Write::put(record, Cond::NotExists)]).await?;
    Ok((rec, token))
}
