//! `Idempotency-Key` on creating POSTs, implemented once for every resource.
//!
//! The record — (workspace, user, method+path, key) → request hash, status, response — is
//! written in the *same transaction* as the created object, with a "not exists (or expired)"
//! condition. So two concurrent requests with one key create at most one object; a retry
//! finds the record and replays it; a different body gets 422 `idempotency_key_reused`.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::gate::Ctx;
use crate::keys::{self, Key};
use crate::runtime::App;
use crate::store::{Cond, Item, Record, StoreError, Write};

/// How long a key is remembered.
pub const TTL_SECS: i64 = 24 * 3600;

/// A validated `Idempotency-Key` for one request.
pub struct Idempotency {
    key: Key,
    hash: String,
}

/// Result of committing a create.
pub enum Outcome {
    /// Created (or replayed): the response to send.
    Done(Response),
    /// A condition of the caller's writes failed; the caller maps it to a contract error.
    Failed(StoreError),
}

impl Idempotency {
    /// Reads and validates the header (400 `invalid_idempotency_key` when empty or > 255).
    pub fn from_request(ctx: &Ctx, headers: &HeaderMap, route: &str, body: &Bytes) -> ApiResult<Option<Self>> {
        let Some(v) = headers.get("idempotency-key") else {
            return Ok(None);
        };
        let k = v.to_str().map_err(|_| ApiError::InvalidIdempotencyKey)?;
        if k.is_empty() || k.len() > 255 {
            return Err(ApiError::InvalidIdempotencyKey);
        }
        // Same JSON body = same canonical JSON (object keys sorted), not same bytes.
        let canonical = match serde_json::from_slice::<Value>(body) {
            Ok(v) => serde_json::to_vec(&v).unwrap_or_default(),
            Err(_) => body.to_vec(),
        };
        let hash: String = Sha256::digest(&canonical).iter().map(|b| format!("{b:02x}")).collect();
        Ok(Some(Idempotency { key: keys::idempotency(&ctx.ws, &ctx.user_id, route, k), hash }))
    }

    fn record(&self, status: StatusCode, body: &Value) -> Write {
        let now = crate::time::now_secs();
        let mut item = Item::new();
        item.insert("hash".into(), self.hash.clone().into());
        item.insert("status".into(), status.as_u16().into());
        item.insert("response".into(), body.to_string().into());
        item.insert("created_at".into(), crate::time::fmt_secs(now).into());
        let record = Record { key: self.key.clone(), indexes: vec![], ttl: Some(now + TTL_SECS), body: item };
        Write::put(record, Cond::NotExistsOrExpired(now))
    }

    /// The stored response for this key, if any (422 when the body differs).
    pub async fn replay(&self, app: &App) -> ApiResult<Option<Response>> {
        let Some(item) = app.store.get(&self.key).await? else {
            return Ok(None);
        };
        if item.get("ttl").and_then(Value::as_i64).is_some_and(|t| t < crate::time::now_secs()) {
            return Ok(None);
        }
        if item.get("hash").and_then(Value::as_str) != Some(self.hash.as_str()) {
            return Err(ApiError::IdempotencyKeyReused);
        }
        let status = item.get("status").and_then(Value::as_u64).and_then(|s| StatusCode::from_u16(s as u16).ok());
        let body: Option<Value> =
            item.get("response").and_then(Value::as_str).and_then(|s| serde_json::from_str(s).ok());
        let (Some(status), Some(body)) = (status, body) else {
            return Err(ApiError::Internal("corrupt idempotency record".into()));
        };
        let mut resp = crate::http::json(status, body);
        resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
        Ok(Some(resp))
    }
}

/// Commits the writes of a create (plus the idempotency record, last) and answers
/// `status` + `body`; replays a stored response when the key was already used.
pub async fn commit(
    app: &App,
    idem: Option<&Idempotency>,
    mut writes: Vec<Write>,
    status: StatusCode,
    body: Value,
) -> ApiResult<Outcome> {
    if let Some(i) = idem {
        writes.push(i.record(status, &body));
    }
    match app.store.write(writes).await {
        Ok(()) => Ok(Outcome::Done(crate::http::json(status, body))),
        Err(e @ StoreError::ConditionFailed { .. }) => {
            if let Some(i) = idem {
                if let Some(r) = i.replay(app).await? {
                    return Ok(Outcome::Done(r));
                }
            }
            Ok(Outcome::Failed(e))
        }
        Err(e) => Err(e.into()),
    }
}

/// For creates that fail validation only because an earlier identical request succeeded
/// (e.g. a retried membership), answer the stored response first.
pub async fn replay_first(app: &App, idem: Option<&Idempotency>) -> ApiResult<Option<Response>> {
    match idem {
        Some(i) => i.replay(app).await,
        None => Ok(None),
    }
}
