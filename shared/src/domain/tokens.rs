//! Personal API tokens: issuing (the secret is shown once and never stored), listing and
//! revoking the caller's own, and the workspaces a token may be restricted to.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

use crate::domain::caller::Caller;
use crate::domain::cursor::CursorKey;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::input::{Fields, Patch};
use crate::domain::listing::{self, Listed};
use crate::domain::model::{from_body, to_body, TokenRecord};
use crate::domain::rules::NAME;
use crate::store::keys;
use crate::store::paging::query_all;
use crate::store::{Cond, Query, Record, SkRange, Store, StoreError, Write};

/// What a new token is.
pub struct NewToken {
    /// Display name.
    pub name: String,
    /// Expiry (RFC 3339), if any.
    pub expires_at: Option<String>,
    /// Refuses writes.
    pub read_only: bool,
    /// Workspaces the token is restricted to.
    pub workspace_ids: Option<Vec<String>>,
}

/// A freshly minted token (by [`crate::auth::token::mint`]): the secret and what is stored
/// of it.
pub struct Minted {
    /// Token id (the public part the gate reads).
    pub id: String,
    /// The whole token, shown once.
    pub token: SecretString,
    /// HMAC of the token under the pepper.
    pub hash: String,
    /// Non-secret hint.
    pub hint: String,
}

/// A token just issued: its record and the secret, shown once.
pub struct Issued {
    /// The stored record.
    pub record: TokenRecord,
    /// The token itself.
    pub token: SecretString,
}

impl Issued {
    /// The creation response: the record plus `token`, which appears only here.
    pub fn to_json(&self) -> Value {
        let r = &self.record;
        json!({
            "id": r.id, "name": r.name, "token": self.token.expose_secret(), "hint": r.hint,
            "created_at": r.created_at, "expires_at": r.expires_at, "read_only": r.read_only,
            "workspace_ids": r.workspace_ids,
        })
    }
}

/// Stores a minted token for `user_id` (the API and `timether admin create-token`).
pub async fn issue(store: &dyn Store, minted: Minted, user_id: &str, t: NewToken) -> ApiResult<Issued> {
    let Minted { id: token_id, token, hash, hint } = minted;
    let now = crate::domain::time::fmt(crate::domain::time::now());
    let record = TokenRecord {
        id: token_id.clone(),
        user_id: user_id.to_string(),
        name: t.name,
        hash,
        hint,
        created_at: now.clone(),
        last_used_at: None,
        expires_at: t.expires_at,
        read_only: t.read_only,
        workspace_ids: t.workspace_ids,
    };
    let item = Record::new(keys::token(&token_id), to_body(&record))
        .with_indexes(vec![keys::token_by_user(user_id, &now, &token_id)]);
    store.write(vec![Write::put(item, Cond::NotExists)]).await?;
    Ok(Issued { record, token })
}

/// The caller's unrevoked tokens (expired ones included), oldest first.
pub async fn list(
    store: &dyn Store,
    cursors: &CursorKey,
    user_id: &str,
    cursor: Option<&str>,
    limit: usize,
) -> ApiResult<Listed<TokenRecord>> {
    let scope = format!("user:{user_id}|tokens");
    let q = Query {
        partition: keys::user_index(user_id),
        range: SkRange::Prefix(keys::TOKEN_PREFIX.into()),
        forward: true,
        limit,
        start: None,
    };
    let (items, next) = listing::page(store, cursors, &scope, cursor, limit, q, |_| true).await?;
    let data = items.into_iter().map(from_body).collect::<ApiResult<Vec<_>>>()?;
    Ok(Listed { data, next_cursor: next })
}

/// Revokes one of the caller's tokens; someone else's (or an unknown) id is 404.
pub async fn revoke(store: &dyn Store, user_id: &str, id: &str) -> ApiResult<()> {
    if !keys::is_valid_id(id) {
        return Err(ApiError::NotFound);
    }
    let w = Write::Delete { key: keys::token(id), cond: Cond::eq("user_id", user_id) };
    match store.write(vec![w]).await {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed { .. }) => Err(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Workspaces where the user is an active member (from the user's own index partition).
pub async fn active_workspaces(store: &dyn Store, user_id: &str) -> ApiResult<Vec<String>> {
    let q = Query::prefix(keys::user_index(user_id), keys::USER_WORKSPACE_PREFIX, 200);
    let entries = query_all(store, q).await?;
    Ok(entries
        .iter()
        .filter(|(item, _)| item.get("active") == Some(&Value::Bool(true)))
        .filter_map(|(_, pos)| keys::workspace_of_user_entry(pos).map(str::to_string))
        .collect())
}

fn parse_workspace_ids(f: &mut Fields) -> Option<Vec<String>> {
    match f.get("workspace_ids").cloned() {
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
    }
}

/// Parses `POST /tokens`: `expires_at` in the future; `workspace_ids` among the workspaces
/// the caller actively belongs to and, for a restricted token, a subset of its own.
pub async fn parse_new(store: &dyn Store, caller: &Caller, body: Map<String, Value>) -> ApiResult<NewToken> {
    let mut f = Fields::new(body);
    let name = f.required_text("name", NAME);
    let expires_at = f.instant("expires_at");
    if let Patch::Value(t) = &expires_at {
        if t.as_second() <= crate::domain::time::now_secs() {
            f.error("expires_at", "must be in the future");
        }
    }
    let read_only = f.boolean("read_only");
    if read_only == Patch::Null {
        f.error("read_only", "must be true or false");
    }
    let workspace_ids = parse_workspace_ids(&mut f);
    // A restricted token can only mint tokens within its own restriction.
    if let Some(own) = &caller.token.workspace_ids {
        let subset = workspace_ids.as_ref().is_some_and(|ids| ids.iter().all(|i| own.contains(i)));
        if !subset && !f.has_error("workspace_ids") {
            f.error("workspace_ids", "must be a subset of this token's workspaces");
        }
    }
    if let (Some(ids), false) = (&workspace_ids, f.has_error("workspace_ids")) {
        let active = active_workspaces(store, &caller.user_id).await?;
        if !ids.iter().all(|i| active.contains(i)) {
            f.error("workspace_ids", "must be workspaces you actively belong to");
        }
    }
    let name = f.finish_with(name)?;
    let expires_at = expires_at.apply(None).map(crate::domain::time::fmt);
    Ok(NewToken { name, expires_at, read_only: matches!(read_only, Patch::Value(true)), workspace_ids })
}
