//! `Idempotency-Key` on creating POSTs, implemented once for every resource.
//!
//! The record — (workspace, user, method+path, key) → request hash and the created object —
//! is written in the *same transaction* as the object, with a "not exists (or expired)"
//! condition. So two concurrent requests with one key create at most one object; a retry
//! finds the record and replays the object (rendered for the caller's role at the time of
//! the retry, by the HTTP layer); a different body gets 422 `idempotency_key_reused`.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::caller::Caller;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::retry::{classify, Attempt, Guarded, OnFail};
use crate::store::keys::{self, Key};
use crate::store::{Cond, Item, Record, Store, StoreError, Write};

/// How long a key is remembered.
pub const TTL_SECS: i64 = 24 * 3600;

/// Longest accepted key (contract: 255 characters).
pub const MAX_KEY_LEN: usize = 255;

/// A validated `Idempotency-Key` bound to one caller, route and request body.
pub struct Idempotency {
    key: Key,
    hash: String,
}

/// A created object: new, or the one an earlier request with the same key created.
#[derive(Debug)]
pub enum Created {
    /// Created by this request.
    Fresh(Value),
    /// Replayed from the idempotency record.
    Replayed(Value),
}

impl Idempotency {
    /// The key `header` (already checked to be 1–255 characters) for this caller and route.
    pub fn new(caller: &Caller, route: &str, header: &str, body: &[u8]) -> Self {
        // Same JSON body = same canonical JSON (object keys sorted), not same bytes.
        let canonical = match serde_json::from_slice::<Value>(body) {
            Ok(v) => serde_json::to_vec(&v).unwrap_or_default(),
            Err(_) => body.to_vec(),
        };
        let hash = hex::encode(Sha256::digest(&canonical));
        Idempotency { key: keys::idempotency(&caller.ws, &caller.user_id, route, header), hash }
    }

    fn record(&self, object: &Value) -> Write {
        let now = crate::domain::time::now_secs();
        let mut item = Item::new();
        item.insert("hash".into(), self.hash.clone().into());
        item.insert("response".into(), object.to_string().into());
        item.insert("created_at".into(), crate::domain::time::fmt_secs(now).into());
        let record = Record { key: self.key.clone(), indexes: vec![], ttl: Some(now + TTL_SECS), body: item };
        Write::put(record, Cond::NotExistsOrExpired(now))
    }

    /// The stored object for this key, if any (422 when the body differs).
    pub async fn replay(&self, store: &dyn Store) -> ApiResult<Option<Value>> {
        let Some(item) = store.get(&self.key).await? else {
            return Ok(None);
        };
        if item.get("ttl").and_then(Value::as_i64).is_some_and(|t| t < crate::domain::time::now_secs()) {
            return Ok(None);
        }
        if item.get("hash").and_then(Value::as_str) != Some(self.hash.as_str()) {
            return Err(ApiError::IdempotencyKeyReused);
        }
        let body = item.get("response").and_then(Value::as_str).and_then(|s| serde_json::from_str(s).ok());
        body.map(Some).ok_or_else(|| ApiError::Internal("corrupt idempotency record".into()))
    }
}

/// Commits the writes of a create (plus the idempotency record, last). When a condition
/// fails and the key was already used, the stored object is replayed; otherwise the failed
/// guard decides (a contract error, or a retry).
pub async fn create(
    store: &dyn Store,
    idem: Option<&Idempotency>,
    writes: Vec<Guarded>,
    object: Value,
) -> ApiResult<Attempt<Created>> {
    let (mut writes, mut guards): (Vec<Write>, Vec<OnFail>) = writes.into_iter().map(|g| (g.write, g.on_fail)).unzip();
    if let Some(i) = idem {
        writes.push(i.record(&object));
        guards.push(OnFail::Retry);
    }
    match store.write(writes).await {
        Ok(()) => Ok(Attempt::Done(Created::Fresh(object))),
        Err(e @ StoreError::ConditionFailed { .. }) => {
            if let Some(stored) = replay_first(store, idem).await? {
                return Ok(Attempt::Done(Created::Replayed(stored)));
            }
            classify(&guards, e)
        }
        Err(e) => Err(e.into()),
    }
}

/// A create its checks refused: the stored answer when this key already succeeded with the
/// same body (what the checks read may have changed since: a project archived, a member
/// deactivated; a retry still replays the original), else the refusal. Only a refused
/// request pays the extra read.
pub async fn replay_or(store: &dyn Store, idem: Option<&Idempotency>, refusal: ApiError) -> ApiResult<Created> {
    match replay_first(store, idem).await? {
        Some(stored) => Ok(Created::Replayed(stored)),
        None => Err(refusal),
    }
}

/// For creates that fail validation only because an earlier identical request succeeded
/// (e.g. a retried membership), the stored object first.
pub async fn replay_first(store: &dyn Store, idem: Option<&Idempotency>) -> ApiResult<Option<Value>> {
    match idem {
        Some(i) => i.replay(store).await,
        None => Ok(None),
    }
}
