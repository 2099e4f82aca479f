//! Webhook subscriptions: at most 20 per workspace (a counter guarded in the create's
//! transaction), URLs checked by [`crate::domain::webhook_net`], Standard Webhooks secrets
//! (`whsec_` + base64 of 32 random bytes) shown once and stored **sealed**
//! (XChaCha20-Poly1305 under a key derived from the pepper, bound to the workspace and
//! webhook), rotation with a 24 h overlap, and the delivery state kept in its own item.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::domain::error::{ApiError, ApiResult};
use crate::domain::input::{Fields, Patch};
use crate::domain::model::{from_body, to_body};
use crate::domain::retry::{self, optimistic, Attempt, Guarded};
use crate::domain::rules::{DESCRIPTION, WEBHOOK_URL};
use crate::domain::webhook_net::{self, NetPolicy, Resolve};
use crate::store::keys::{self, WorkspaceKey};
use crate::store::{Cond, Item, Record, Store, Write};

/// At most this many webhooks per workspace (409 `webhook_limit`).
pub const MAX_WEBHOOKS: i64 = 20;
/// How long the previous secret keeps signing after a rotation (seconds).
pub const ROTATION_OVERLAP_SECS: i64 = 24 * 3600;
/// The test ping's event type.
pub const TEST_EVENT: &str = "webhook.test";

/// Every event type a webhook may subscribe to (the domain events, plus the test ping).
pub const EVENT_TYPES: &[&str] = &[
    "time_entry.created",
    "time_entry.updated",
    "time_entry.deleted",
    "timer.started",
    "timer.stopped",
    "project.created",
    "project.updated",
    "project.deleted",
    "client.created",
    "client.updated",
    "client.deleted",
    "tag.created",
    "tag.updated",
    "tag.deleted",
    "membership.created",
    "membership.updated",
    "membership.invited",
    "membership.accepted",
    "membership.declined",
    "membership.withdrawn",
    TEST_EVENT,
];

/// The keys that seal webhook secrets, derived from the pepper (current first; the
/// previous pepper's during a pepper rotation). A table dump alone cannot sign.
#[derive(Clone)]
pub struct SecretBox {
    keys: Vec<([u8; 32], String)>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([REDACTED])")
    }
}

/// A sealed signing secret.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Sealed {
    /// base64(nonce ‖ ciphertext).
    pub sealed: String,
    /// Which sealing key (a fingerprint, not the key).
    pub kid: String,
    /// Epoch seconds after which this secret no longer signs (old secrets after rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl SecretBox {
    /// From derived 32-byte keys, current first; the fingerprint is derived from each key.
    pub fn new(keys: Vec<[u8; 32]>) -> Self {
        use sha2::{Digest, Sha256};
        let keys = keys
            .into_iter()
            .map(|k| {
                let d = Sha256::digest([&k[..], b"kid"].concat());
                (k, hex::encode(&d[..4]))
            })
            .collect();
        SecretBox { keys }
    }

    fn aad(ws: &WorkspaceKey, webhook_id: &str) -> String {
        format!("timether-webhook-secret-v1/{}/{webhook_id}", ws.id())
    }

    /// Seals 32 secret bytes for one webhook.
    pub fn seal(&self, ws: &WorkspaceKey, webhook_id: &str, secret: &[u8; 32]) -> Sealed {
        use rand::RngCore;
        let (key, kid) = &self.keys[0];
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new(key.into());
        let aad = Self::aad(ws, webhook_id);
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret, aad: aad.as_bytes() })
            .expect("encryption of 32 bytes cannot fail");
        Sealed { sealed: STANDARD.encode([&nonce[..], &ct].concat()), kid: kid.clone(), expires_at: None }
    }

    /// Opens a sealed secret (`None` if no key fits or it was moved to another webhook).
    pub fn open(&self, ws: &WorkspaceKey, webhook_id: &str, s: &Sealed) -> Option<[u8; 32]> {
        let (key, _) = self.keys.iter().find(|(_, kid)| *kid == s.kid)?;
        let raw = STANDARD.decode(&s.sealed).ok()?;
        if raw.len() < 24 {
            return None;
        }
        let aad = Self::aad(ws, webhook_id);
        let cipher = XChaCha20Poly1305::new(key.into());
        let pt =
            cipher.decrypt(XNonce::from_slice(&raw[..24]), Payload { msg: &raw[24..], aad: aad.as_bytes() }).ok()?;
        pt.try_into().ok()
    }
}

/// The Standard Webhooks form of a secret: `whsec_` + base64.
pub fn secret_string(bytes: &[u8; 32]) -> String {
    format!("whsec_{}", STANDARD.encode(bytes))
}

fn fresh_secret() -> [u8; 32] {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// A webhook subscription as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Webhook {
    /// Id (`wh…`).
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// Subscribed event types, or `["*"]`.
    pub event_types: Vec<String>,
    /// Deliveries are made only while active.
    pub active: bool,
    /// Free text.
    pub description: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
    /// Why it was deactivated by the system (410 Gone, 72 h of failures).
    pub disabled_reason: Option<String>,
    /// Signing secrets, newest first (older ones expire 24 h after a rotation).
    pub secrets: Vec<Sealed>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Webhook {
    /// Whether the webhook wants events of this type.
    pub fn wants(&self, event_type: &str) -> bool {
        event_type == TEST_EVENT || self.event_types.iter().any(|t| t == "*" || t == event_type)
    }

    /// The API object (without the secret), with the delivery state.
    pub fn to_json(&self, state: Option<&WebhookState>) -> Value {
        json!({
            "id": self.id, "url": self.url, "event_types": self.event_types, "active": self.active,
            "description": self.description, "created_at": self.created_at, "updated_at": self.updated_at,
            "disabled_reason": self.disabled_reason,
            "last_delivery": state.and_then(|s| s.last_delivery.clone()),
        })
    }

    /// The secrets that sign at `now` (epoch seconds), newest first.
    pub fn signing_secrets(&self, sb: &SecretBox, ws: &WorkspaceKey, now: i64) -> Vec<[u8; 32]> {
        let live = self.secrets.iter().filter(|s| s.expires_at.is_none_or(|t| t > now));
        live.filter_map(|s| sb.open(ws, &self.id, s)).collect()
    }
}

/// What deliveries write about a webhook (a separate item: a PATCH never races them).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WebhookState {
    /// Marks the item in listings.
    #[serde(default)]
    pub state_of: String,
    /// `{event_id, type, status, response_status, at}` of the latest attempt.
    pub last_delivery: Option<Value>,
    /// Epoch seconds of the first failure since the last success.
    pub failing_since: Option<i64>,
}

/// A validated create body.
pub struct NewWebhook {
    url: String,
    event_types: Vec<String>,
    description: Option<String>,
    active: bool,
}

/// A validated PATCH body.
pub struct WebhookChange {
    url: Option<String>,
    event_types: Option<Vec<String>>,
    description: Patch<String>,
    active: Option<bool>,
}

fn event_types(f: &mut Fields) -> Patch<Vec<String>> {
    let name = "event_types";
    match f.get(name).cloned() {
        None => Patch::Absent,
        Some(Value::Array(a)) if !a.is_empty() => {
            let list: Option<Vec<String>> = a.iter().map(|v| v.as_str().map(str::to_string)).collect();
            let Some(list) = list else {
                return bad(f, name, "must be a list of strings");
            };
            if !list.iter().all(|t| t == "*" || EVENT_TYPES.contains(&t.as_str())) {
                return bad(f, name, "must be known event types, or [\"*\"]");
            }
            // `*` subscribes to everything and stands alone (the contract: `["*"]`);
            // duplicates are dropped, first occurrence kept.
            if list.iter().any(|t| t == "*") {
                if list.iter().any(|t| t != "*") {
                    return bad(f, name, "[\"*\"] cannot be combined with named event types");
                }
                return Patch::Value(vec!["*".to_string()]);
            }
            let mut seen = std::collections::HashSet::new();
            Patch::Value(list.into_iter().filter(|t| seen.insert(t.clone())).collect())
        }
        Some(_) => bad(f, name, "must be a non-empty list of event types, or [\"*\"]"),
    }
}

fn bad<T>(f: &mut Fields, name: &str, why: &str) -> Patch<T> {
    f.error(name, why);
    Patch::Absent
}

async fn url(f: &mut Fields, policy: NetPolicy, r: &dyn Resolve) -> Patch<String> {
    let p = f.text("url", WEBHOOK_URL);
    if let Patch::Value(u) = &p {
        if let Err(why) = webhook_net::validate(u, policy, r).await {
            f.error("url", why);
            return Patch::Absent;
        }
    }
    if matches!(p, Patch::Null) {
        f.error("url", "must be a string");
    }
    p
}

fn required<T>(f: &mut Fields, name: &str, p: Patch<T>) -> Option<T> {
    match p {
        Patch::Value(v) => Some(v),
        _ => {
            if !f.has_error(name) {
                f.error(name, "is required");
            }
            None
        }
    }
}

/// Reads a create body (422 with fields).
pub async fn parse_new(body: Map<String, Value>, policy: NetPolicy, r: &dyn Resolve) -> ApiResult<NewWebhook> {
    let mut f = Fields::new(body);
    let u = url(&mut f, policy, r).await;
    let u = required(&mut f, "url", u);
    let t = event_types(&mut f);
    let t = required(&mut f, "event_types", t);
    let description = f.text("description", DESCRIPTION).apply(None);
    let active = f.boolean("active");
    if matches!(active, Patch::Null) {
        f.error("active", "must be a boolean");
    }
    let active = active.apply(None).unwrap_or(true);
    let parsed = u.zip(t).map(|(url, event_types)| NewWebhook { url, event_types, description, active });
    f.finish_with(parsed)
}

/// Reads a PATCH body (422 with fields).
pub async fn parse_change(body: Map<String, Value>, policy: NetPolicy, r: &dyn Resolve) -> ApiResult<WebhookChange> {
    let mut f = Fields::new(body);
    let url = url(&mut f, policy, r).await;
    let types = event_types(&mut f);
    if f.get("event_types") == Some(&Value::Null) {
        f.error("event_types", "must be a non-empty list of event types, or [\"*\"]");
    }
    let description = f.text("description", DESCRIPTION);
    let active = f.boolean("active");
    if matches!(active, Patch::Null) {
        f.error("active", "must be a boolean");
    }
    let change =
        WebhookChange { url: url.apply(None), event_types: types.apply(None), description, active: active.apply(None) };
    f.finish_with(Some(change))
}

fn record(ws: &WorkspaceKey, w: &Webhook) -> Record {
    Record::new(keys::webhook(ws, &w.id), to_body(w))
}

fn now() -> String {
    crate::domain::time::fmt(crate::domain::time::now())
}

/// A created webhook and its secret (shown once).
pub struct CreatedWebhook {
    /// The stored webhook.
    pub webhook: Webhook,
    /// `whsec_…`.
    pub secret: String,
}

impl CreatedWebhook {
    /// The create response: the object plus `secret`.
    pub fn to_json(&self) -> Value {
        let mut v = self.webhook.to_json(None);
        v["secret"] = json!(self.secret);
        v
    }
}

/// Creates a webhook: its item and the counter (≤ 20) in one transaction.
pub async fn create(store: &dyn Store, sb: &SecretBox, ws: &WorkspaceKey, n: NewWebhook) -> ApiResult<CreatedWebhook> {
    let id = crate::domain::ids::new_id("wh");
    let secret = fresh_secret();
    let at = now();
    let webhook = Webhook {
        id: id.clone(),
        url: n.url,
        event_types: n.event_types,
        active: n.active,
        description: n.description,
        created_at: at.clone(),
        updated_at: at,
        disabled_reason: None,
        secrets: vec![sb.seal(ws, &id, &secret)],
        version: 1,
    };
    let limit = Cond::BelowOrAbsent("n".into(), MAX_WEBHOOKS);
    let writes = vec![
        Guarded::retry(Write::put(record(ws, &webhook), Cond::NotExists)),
        Guarded::or(Write::add(keys::webhook_count(ws), "n", 1, limit), || ApiError::WebhookLimit),
    ];
    optimistic(|| retry::commit(store, writes.clone())).await?;
    Ok(CreatedWebhook { webhook, secret: secret_string(&secret) })
}

/// A webhook and its delivery state, by id (404 when absent).
pub async fn get(store: &dyn Store, ws: &WorkspaceKey, id: &str) -> ApiResult<(Webhook, Option<WebhookState>)> {
    if !keys::is_valid_id(id) {
        return Err(ApiError::NotFound);
    }
    let items = store.batch_get(&[keys::webhook(ws, id), keys::webhook_state(ws, id)]).await?;
    let mut it = items.into_iter();
    let w: Webhook = from_body(it.next().flatten().ok_or(ApiError::NotFound)?)?;
    let state = it.next().flatten().map(from_body).transpose()?;
    Ok((w, state))
}

/// Every webhook of the workspace (at most 20, one query), oldest first, with its state.
pub async fn list(store: &dyn Store, ws: &WorkspaceKey) -> ApiResult<Vec<(Webhook, Option<WebhookState>)>> {
    let page = store.query(&keys::webhooks(ws)).await?;
    let mut out: Vec<(Webhook, Option<WebhookState>)> = vec![];
    for item in page.items {
        if item.contains_key("state_of") {
            let s: WebhookState = from_body(item)?;
            if let Some(last) = out.last_mut().filter(|(w, _)| w.id == s.state_of) {
                last.1 = Some(s);
            }
        } else {
            out.push((from_body(item)?, None));
        }
    }
    out.sort_by(|a, b| (&a.0.created_at, &a.0.id).cmp(&(&b.0.created_at, &b.0.id)));
    Ok(out)
}

/// One page of the workspace's webhooks (oldest first); the cursor names the last one shown.
pub async fn page(
    store: &dyn Store,
    cursors: &crate::domain::cursor::CursorKey,
    ws: &WorkspaceKey,
    cursor: Option<&str>,
    limit: usize,
) -> ApiResult<crate::domain::listing::Listed<Value>> {
    let scope = format!("{}|webhooks", ws.id());
    let after: Option<(String, String)> =
        cursor.map(|c| crate::domain::cursor::decode(cursors, &scope, c)).transpose()?;
    let all = list(store, ws).await?;
    let rest: Vec<_> = all
        .into_iter()
        .filter(|(w, _)| after.as_ref().is_none_or(|(at, id)| (&w.created_at, &w.id) > (at, id)))
        .collect();
    let more = rest.len() > limit;
    let shown: Vec<_> = rest.into_iter().take(limit).collect();
    let next = shown
        .last()
        .filter(|_| more)
        .map(|(w, _)| crate::domain::cursor::encode(cursors, &scope, &(&w.created_at, &w.id)));
    let data = shown.iter().map(|(w, s)| w.to_json(s.as_ref())).collect();
    Ok(crate::domain::listing::Listed { data, next_cursor: next })
}

/// Applies a PATCH at the version read; re-activating clears `disabled_reason`.
pub async fn update(store: &dyn Store, ws: &WorkspaceKey, id: &str, c: &WebhookChange) -> ApiResult<Value> {
    optimistic(|| async {
        let (before, state) = get(store, ws, id).await?;
        let mut w = before.clone();
        if let Some(u) = &c.url {
            w.url.clone_from(u);
        }
        if let Some(t) = &c.event_types {
            w.event_types.clone_from(t);
        }
        w.description = c.description.clone().apply(w.description);
        if let Some(a) = c.active {
            if a && !w.active {
                w.disabled_reason = None;
            }
            w.active = a;
        }
        w.version += 1;
        w.updated_at = now();
        let put = Write::put(record(ws, &w), Cond::eq("version", before.version));
        let mut writes = vec![Guarded::retry(put)];
        if c.active == Some(true) && !before.active {
            // A fresh start: the 72 h failure clock restarts.
            let set: Item = [("failing_since".to_string(), Value::Null)].into_iter().collect();
            writes.push(Guarded::retry(state_write(ws, id, set)));
        }
        Ok(match retry::commit(store, writes).await? {
            Attempt::Done(()) => Attempt::Done(w.to_json(state.as_ref())),
            Attempt::Retry => Attempt::Retry,
        })
    })
    .await
}

/// Sets attributes of a webhook's state item (creating it).
pub fn state_write(ws: &WorkspaceKey, id: &str, mut set: Item) -> Write {
    set.insert("state_of".into(), json!(id));
    Write::Update { key: keys::webhook_state(ws, id), set, add: vec![], cond: Cond::None }
}

/// Deletes a webhook, its state and its slot in the counter.
pub async fn delete(store: &dyn Store, ws: &WorkspaceKey, id: &str) -> ApiResult<()> {
    optimistic(|| async {
        let (w, _) = get(store, ws, id).await?;
        let writes = vec![
            Guarded::retry(Write::Delete { key: keys::webhook(ws, &w.id), cond: Cond::eq("version", w.version) }),
            Guarded::retry(Write::Delete { key: keys::webhook_state(ws, &w.id), cond: Cond::None }),
            Guarded::retry(Write::add(keys::webhook_count(ws), "n", -1, Cond::None)),
        ];
        retry::commit(store, writes).await
    })
    .await
}

/// Rotates the secret: the new one signs from now on, the previous one for 24 h more
/// (older ones are dropped). Returns the new `whsec_…`.
pub async fn rotate_secret(store: &dyn Store, sb: &SecretBox, ws: &WorkspaceKey, id: &str) -> ApiResult<String> {
    let secret = fresh_secret();
    optimistic(|| async {
        let (before, _) = get(store, ws, id).await?;
        let now_s = crate::domain::time::now_secs();
        let mut w = before.clone();
        let mut previous: Vec<Sealed> = w.secrets.iter().filter(|s| s.expires_at.is_none()).take(1).cloned().collect();
        for p in &mut previous {
            p.expires_at = Some(now_s + ROTATION_OVERLAP_SECS);
        }
        w.secrets = std::iter::once(sb.seal(ws, &w.id, &secret)).chain(previous).collect();
        w.version += 1;
        w.updated_at = now();
        let put = Write::put(record(ws, &w), Cond::eq("version", before.version));
        Ok(match retry::commit(store, vec![Guarded::retry(put)]).await? {
            Attempt::Done(()) => Attempt::Done(secret_string(&secret)),
            Attempt::Retry => Attempt::Retry,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_webhook_and_key() {
        let sb = SecretBox::new(vec![[7u8; 32]]);
        let ws = WorkspaceKey::for_tests("ws1");
        let s = [42u8; 32];
        let sealed = sb.seal(&ws, "wh1", &s);
        assert_eq!(sb.open(&ws, "wh1", &sealed), Some(s));
        assert_eq!(sb.open(&ws, "wh2", &sealed), None);
        assert_eq!(sb.open(&WorkspaceKey::for_tests("ws2"), "wh1", &sealed), None);
        assert_eq!(SecretBox::new(vec![[8u8; 32]]).open(&ws, "wh1", &sealed), None);
        let rotated = SecretBox::new(vec![[8u8; 32], [7u8; 32]]);
        assert_eq!(rotated.open(&ws, "wh1", &sealed), Some(s));
        assert!(!sealed.sealed.contains(&STANDARD.encode(s)));
        assert!(secret_string(&s).starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&secret_string(&s)[6..]).unwrap().len(), 32);
    }
}
