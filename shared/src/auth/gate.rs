//! The authorization gate: turns a request into an authenticated [`Caller`].
//!
//! Order (the contract's error table): token (401) → `X-Workspace-Id` (400) → membership,
//! workspace, token restriction (403 `workspace_access_denied`) → plan (403
//! `plan_not_supported`) → `api_access_roles` (403 `api_access_denied`) → billing state on
//! writes (403 `workspace_read_only`) → read-only token on writes (403 `token_read_only`) →
//! role permission (403 `insufficient_role`). Token, membership and workspace are read in
//! one batch: one round trip on DynamoDB; on the embedded store what the gate parsed is
//! remembered per data version ([`GateMemo`]) and every check still runs per request. It is
//! the only producer of a [`WorkspaceKey`].

use std::collections::HashMap;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use serde_json::Value;

use crate::auth::pepper::Pepper;
use crate::auth::token;
use crate::domain::caller::{allowed, Action, Caller};
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::model::{from_item, BillingState, Membership, TokenRecord, Workspace};
use crate::store::keys::{self, is_valid_id, Key, WorkspaceKey};
use crate::store::prefetch::Prefetched;
use crate::store::{Cond, Item, Store, Write};

/// What the gate needs from the application state: the store and the pepper.
pub trait GateState: Send + Sync {
    /// The store.
    fn store(&self) -> &dyn Store;
    /// The token pepper.
    fn pepper(&self) -> &Pepper;
    /// The store as a shared handle (for the deferred `last_used_at` write).
    fn shared_store(&self) -> crate::store::DynStore;
    /// What the gate parsed lately, by store version (none: every request reads its items).
    fn memo(&self) -> Option<&GateMemo> {
        None
    }
}

/// The token, membership and workspace the gate parsed for a (token, workspace) pair, kept
/// under the store version they were read at ([`Store::version`]: the embedded store). Every
/// request still runs every check of the gate on them — the token's HMAC and expiry
/// included — and a commit by any process gives the store a new version, so a revocation or
/// a role, plan or billing change is seen by the next request, as the contract requires.
#[derive(Default)]
pub struct GateMemo(std::sync::Mutex<MemoMap>);

/// Token id → workspace id → (store version, what was admitted).
type MemoMap = HashMap<String, HashMap<String, (u64, Admitted)>>;

/// What the gate admits a caller on.
#[derive(Clone)]
struct Admitted {
    token: Arc<TokenRecord>,
    membership: Arc<Membership>,
    workspace: Arc<Workspace>,
}

/// Tokens kept before the memo starts over, and workspaces kept per token.
const MEMO_TOKENS: usize = 10_000;
const MEMO_WORKSPACES: usize = 64;

impl GateMemo {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoMap> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Token id, then workspace id: looked up by `&str`, no key is built per request.
    fn get(&self, token_id: &str, ws_id: &str, version: u64) -> Option<Admitted> {
        let memo = self.lock();
        memo.get(token_id)?.get(ws_id).filter(|(v, _)| *v == version).map(|(_, a)| a.clone())
    }

    fn put(&self, token_id: &str, ws_id: &str, version: u64, admitted: &Admitted) {
        let mut memo = self.lock();
        if memo.len() >= MEMO_TOKENS && !memo.contains_key(token_id) {
            memo.clear();
        }
        let per_token = memo.entry(token_id.to_string()).or_default();
        if per_token.len() >= MEMO_WORKSPACES {
            per_token.clear();
        }
        per_token.insert(ws_id.to_string(), (version, admitted.clone()));
    }
}

/// A route's required permission, as a type: `Authorized<can::WriteCatalog>`.
pub trait Permission: Send + Sync + 'static {
    /// The action of the role matrix.
    const ACTION: Action;
}

/// The permissions of [`Action`], as types for [`Authorized`].
pub mod can {
    use super::{Action, Permission};
    macro_rules! permissions {
        ($($name:ident),* $(,)?) => {$(
            #[doc = concat!("Requires [`Action::", stringify!($name), "`].")]
            pub struct $name;
            impl Permission for $name {
                const ACTION: Action = Action::$name;
            }
        )*};
    }
    permissions!(
        Read,
        SetPlanningFields,
        ManageWorkspace,
        ManageMembers,
        WriteCatalog,
        WriteOwnEntries,
        Reports,
        OwnTokens,
        ManageWebhooks
    );
}

/// What a route will read besides the gate's own items, known before the gate runs: from
/// the path parameters, the caller and (for [`crate::http::extract::AuthorizedBody`]) the
/// body. The gate's one `BatchGetItem` carries these keys too.
pub trait Prefetch: Send + Sync + 'static {
    /// The keys to read with the gate's batch.
    fn keys(_req: &PrefetchRequest<'_>) -> Vec<Key> {
        vec![]
    }
}

impl Prefetch for () {}

/// What a [`Prefetch`] may look at.
pub struct PrefetchRequest<'a> {
    /// The workspace the gate is admitting the caller to.
    pub ws: &'a WorkspaceKey,
    /// The caller (from the token).
    pub user_id: &'a str,
    /// Path parameters.
    pub params: &'a [(String, String)],
    /// The JSON body, when the extractor read it (leniently: `None` when not JSON).
    pub body: Option<&'a Value>,
}

impl PrefetchRequest<'_> {
    /// A path parameter that is a well-formed id.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| is_valid_id(v))
    }
    /// A body field that is a well-formed id.
    pub fn body_id(&self, name: &str) -> Option<&str> {
        self.body.and_then(|b| b.get(name)).and_then(Value::as_str).filter(|v| is_valid_id(v))
    }
}

/// The gate as an extractor: rows 1–8 of the error table, run before the body is read.
/// A handler that names it cannot forget it; its [`Caller`] carries the only
/// [`WorkspaceKey`] the handler can use, and [`Authorized::store`] answers the reads of the
/// route's prefetched keys (`F`) without another round trip.
pub struct Authorized<P, F = ()> {
    /// The authenticated caller.
    pub caller: Caller,
    store: Prefetched,
    _permission: PhantomData<(P, F)>,
}

impl<P, F> Deref for Authorized<P, F> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<P: Permission, F: Prefetch> Authorized<P, F> {
    /// The store for this request (with the gate's items).
    pub fn store(&self) -> &dyn Store {
        &self.store
    }

    /// Runs the gate for `parts` (and a body already read), reading `F`'s keys in its batch.
    pub async fn gate<S: GateState>(parts: &mut Parts, state: &S, body: Option<&Value>) -> ApiResult<Self> {
        let params: Vec<(String, String)> = match RawPathParams::from_request_parts(parts, state).await {
            Ok(p) => p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            Err(_) => vec![],
        };
        let extra = |ws: &WorkspaceKey, user_id: &str| F::keys(&PrefetchRequest { ws, user_id, params: &params, body });
        let (caller, items) = authorize_with(state, &parts.headers, &parts.method, P::ACTION, extra).await?;
        Ok(Authorized { caller, store: Prefetched::new(state.shared_store(), items), _permission: PhantomData })
    }
}

impl<P: Permission, F: Prefetch, S: GateState> FromRequestParts<S> for Authorized<P, F> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let admitted = Self::gate(parts, state, None).await?;
        refused_body(parts)?;
        Ok(admitted)
    }
}

/// Why the body of a GET or DELETE was refused (the contract: "a body that is present must be
/// JSON"). The HTTP layer reads such a body before the gate runs and leaves this in the
/// request's extensions; the gate reports it as row 9, once rows 1–8 have passed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RefusedBody {
    /// A body with a Content-Type other than JSON (415).
    NotJson,
    /// A JSON body that does not parse (400 `invalid_json`).
    Malformed,
    /// A body over the limit (413).
    TooLarge,
}

fn refused_body(parts: &Parts) -> ApiResult<()> {
    match parts.extensions.get::<RefusedBody>() {
        None => Ok(()),
        Some(RefusedBody::NotJson) => Err(ApiError::UnsupportedMediaType),
        Some(RefusedBody::Malformed) => Err(ApiError::InvalidJson("the body is not valid JSON".into())),
        Some(RefusedBody::TooLarge) => Err(ApiError::PayloadTooLarge),
    }
}

/// Rows 1–2 only, as an extractor (token listing and revocation, invitations).
pub struct Authenticated(pub UserCtx);

impl<S: GateState> FromRequestParts<S> for Authenticated {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let user = authenticate_user(state, &parts.headers).await?;
        refused_body(parts)?;
        Ok(Authenticated(user))
    }
}

/// The caller's own invitation in the workspace of the path (`/invitations/{workspace_id}…`):
/// rows 1–2, then — these are writes — a token restricted to other workspaces gets 403
/// `workspace_access_denied` and a read-only token 403 `token_read_only`; a malformed id is
/// simply not found. Plan, billing state and role do not apply: consenting (or declining)
/// is always the invitee's to do. Mints the [`WorkspaceKey`] of that workspace.
/// The token, the invitation (membership), the workspace and the invitee's profile are read
/// in one batch, so accepting or declining is one read and one write.
pub struct Invitee {
    /// The invited user.
    pub user_id: String,
    /// The inviting workspace.
    pub ws: WorkspaceKey,
    store: Prefetched,
}

impl Invitee {
    /// The store for this request (with the batch's items).
    pub fn store(&self) -> &dyn Store {
        &self.store
    }
}

impl<S: GateState> FromRequestParts<S> for Invitee {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(ws_id) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| ApiError::NotFound)?;
        let extra = |user_id: &str| match is_valid_id(&ws_id) {
            true => {
                let ws = WorkspaceKey::from_gate(&ws_id);
                vec![keys::membership(&ws, user_id), keys::workspace(&ws), keys::user(user_id)]
            }
            false => vec![],
        };
        let (user, items) = authenticate_user_with(state, &parts.headers, extra).await?;
        let (user_id, ws) = invitee(user, &ws_id, &parts.method)?;
        refused_body(parts)?;
        Ok(Invitee { user_id, ws, store: Prefetched::new(state.shared_store(), items) })
    }
}

fn invitee(user: UserCtx, ws_id: &str, method: &Method) -> ApiResult<(String, WorkspaceKey)> {
    if let Some(ids) = &user.token.workspace_ids {
        if !ids.iter().any(|i| i == ws_id) {
            return Err(ApiError::WorkspaceAccessDenied);
        }
    }
    if is_write(method) && user.token.read_only {
        return Err(ApiError::TokenReadOnly);
    }
    if !is_valid_id(ws_id) {
        return Err(ApiError::NotFound);
    }
    Ok((user.user_id, WorkspaceKey::from_gate(ws_id)))
}

/// A caller authenticated by token only (token listing and revocation: rows 1–2).
#[derive(Debug)]
pub struct UserCtx {
    /// Caller.
    pub user_id: String,
    /// The token used.
    pub token: TokenRecord,
}

/// Whether the method writes.
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn bearer(headers: &HeaderMap) -> ApiResult<token::ParsedToken> {
    let v = headers.get(axum::http::header::AUTHORIZATION).ok_or(ApiError::Unauthorized)?;
    let v = v.to_str().map_err(|_| ApiError::Unauthorized)?;
    let (scheme, t) = v.split_once(' ').ok_or(ApiError::Unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized);
    }
    token::parse(t.trim()).ok_or(ApiError::Unauthorized)
}

fn workspace_header(headers: &HeaderMap) -> ApiResult<String> {
    let v = headers.get("x-workspace-id").ok_or(ApiError::MissingWorkspaceId)?;
    let s = v.to_str().map_err(|_| ApiError::InvalidWorkspaceId)?;
    if s.is_empty() {
        return Err(ApiError::MissingWorkspaceId);
    }
    if !is_valid_id(s) {
        return Err(ApiError::InvalidWorkspaceId);
    }
    Ok(s.to_string())
}

/// Checks a stored token item against the presented token.
fn check_token(
    app: &(impl GateState + ?Sized),
    parsed: &token::ParsedToken,
    item: Option<&Item>,
) -> ApiResult<TokenRecord> {
    let item = item.ok_or(ApiError::Unauthorized)?;
    let rec: TokenRecord = from_item(item).map_err(|_| ApiError::Unauthorized)?;
    verify_token(app, parsed, &rec)?;
    Ok(rec)
}

/// The presented token against its record: the HMAC, the ids, the expiry (row 1).
fn verify_token(app: &(impl GateState + ?Sized), parsed: &token::ParsedToken, rec: &TokenRecord) -> ApiResult<()> {
    if !token::verify(app.pepper(), parsed, &rec.hash) || rec.user_id != parsed.user_id || rec.id != parsed.token_id {
        return Err(ApiError::Unauthorized);
    }
    if let Some(exp) = &rec.expires_at {
        if crate::domain::time::secs(exp).is_none_or(|e| e <= crate::domain::time::now_secs()) {
            return Err(ApiError::Unauthorized);
        }
    }
    Ok(())
}

/// Records `last_used_at` at most once a minute.
///
/// On Lambda the write happens before the response (one extra write, at most once a minute
/// per token): the process is frozen after the response, so a detached task could be lost.
/// Locally it stays off the request's critical path.
async fn touch(app: &(impl GateState + ?Sized), rec: &TokenRecord) {
    let now = crate::domain::time::now_secs();
    let stale = rec.last_used_at.as_deref().and_then(crate::domain::time::secs).is_none_or(|t| now - t >= 60);
    if !stale {
        return;
    }
    let store = app.shared_store();
    let key = keys::token(&rec.id);
    let mut set = Item::new();
    set.insert("last_used_at".into(), crate::domain::time::fmt_secs(now).into());
    // `Exists`: a concurrent revoke must never be undone by this write.
    let w = Write::Update { key, set, add: vec![], cond: Cond::Exists };
    let write = async move {
        if let Err(e) = store.write(vec![w]).await {
            tracing::debug!(error = %e, "last_used_at not recorded");
        }
    };
    if on_lambda() {
        write.await;
    } else {
        tokio::spawn(write);
    }
}

fn on_lambda() -> bool {
    static LAMBDA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LAMBDA.get_or_init(|| std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some())
}

/// Rows 1–2 only: a valid token and a well-formed `X-Workspace-Id`.
pub async fn authenticate_user(app: &(impl GateState + ?Sized), headers: &HeaderMap) -> ApiResult<UserCtx> {
    let parsed = bearer(headers)?;
    let header = workspace_header(headers);
    let item = app.store().get(&keys::token(&parsed.token_id)).await?;
    let token = check_token(app, &parsed, item.as_ref())?;
    header?;
    touch(app, &token).await;
    Ok(UserCtx { user_id: token.user_id.clone(), token })
}

/// Rows 1–2, reading `extra(user id)`'s keys in the same batch as the token.
pub async fn authenticate_user_with(
    app: &(impl GateState + ?Sized),
    headers: &HeaderMap,
    extra: impl FnOnce(&str) -> Vec<Key>,
) -> ApiResult<(UserCtx, Vec<(Key, Option<Item>)>)> {
    let parsed = bearer(headers)?;
    let header = workspace_header(headers);
    let mut wanted = vec![keys::token(&parsed.token_id)];
    wanted.extend(extra(&parsed.user_id));
    let items = app.store().batch_get(&wanted).await?;
    let token = check_token(app, &parsed, items[0].as_ref())?;
    header?;
    touch(app, &token).await;
    let user = UserCtx { user_id: token.user_id.clone(), token };
    Ok((user, wanted.into_iter().zip(items).skip(1).collect()))
}

/// The full gate (rows 1–8) for `action`.
pub async fn authorize(
    app: &(impl GateState + ?Sized),
    headers: &HeaderMap,
    method: &Method,
    action: Action,
) -> ApiResult<Caller> {
    let (caller, _) = authorize_with(app, headers, method, action, |_, _| vec![]).await?;
    Ok(caller)
}

/// The full gate (rows 1–8) for `action`, reading `extra`'s keys in the same batch; returns
/// the caller and every item the batch read.
pub async fn authorize_with(
    app: &(impl GateState + ?Sized),
    headers: &HeaderMap,
    method: &Method,
    action: Action,
    extra: impl FnOnce(&WorkspaceKey, &str) -> Vec<Key>,
) -> ApiResult<(Caller, Vec<(Key, Option<Item>)>)> {
    let parsed = bearer(headers)?;
    let ws_id = match workspace_header(headers) {
        Ok(id) => id,
        Err(e) => {
            // Row 1 comes before row 2: an unknown, revoked or expired token is still a 401.
            let item = app.store().get(&keys::token(&parsed.token_id)).await?;
            check_token(app, &parsed, item.as_ref())?;
            return Err(e);
        }
    };
    let ws = WorkspaceKey::from_gate(&ws_id);
    let mut wanted = vec![keys::token(&parsed.token_id), keys::membership(&ws, &parsed.user_id), keys::workspace(&ws)];
    for k in extra(&ws, &parsed.user_id) {
        if !wanted.contains(&k) {
            wanted.push(k);
        }
    }
    let (admitted, items) = read_gate(app, &parsed, &ws_id, wanted).await?;
    admit(&ws_id, &admitted)?;
    check_request(method, action, &admitted.token, &admitted.membership, &admitted.workspace)?;
    touch(app, &admitted.token).await;
    let Admitted { token, membership, workspace } = admitted;
    let caller = Caller { ws, user_id: parsed.user_id, role: membership.role, workspace, membership, token };
    Ok((caller, items))
}

/// The gate's three items, parsed, with every item read: remembered for the store's data
/// version (then only the route's own keys are read, and the token is verified against the
/// presented one here), or read in one batch with the route's keys and remembered.
/// `wanted` starts with the token, membership and workspace keys.
async fn read_gate(
    app: &(impl GateState + ?Sized),
    parsed: &token::ParsedToken,
    ws_id: &str,
    mut wanted: Vec<Key>,
) -> ApiResult<(Admitted, Vec<(Key, Option<Item>)>)> {
    let memo = app.memo().zip(app.store().version());
    if let Some(a) = memo.and_then(|(m, v)| m.get(&parsed.token_id, ws_id, v)) {
        verify_token(app, parsed, &a.token)?;
        let rest = wanted.split_off(3);
        let items = if rest.is_empty() { vec![] } else { app.store().batch_get(&rest).await? };
        return Ok((a, rest.into_iter().zip(items).collect()));
    }
    let items = app.store().batch_get(&wanted).await?;
    let a = parse(check_token(app, parsed, items[0].as_ref())?, &items)?;
    // Kept only if no commit was published while it was read.
    if let Some((m, v)) = memo.filter(|(_, v)| app.store().version() == Some(*v)) {
        m.put(&parsed.token_id, ws_id, v, &a);
    }
    Ok((a, wanted.into_iter().zip(items).collect()))
}

/// Membership and workspace from the gate's batch, after its token passed row 1: missing,
/// they are row 3 (403).
fn parse(token: TokenRecord, items: &[Option<Item>]) -> ApiResult<Admitted> {
    // Read by reference: the items stay in the batch for the handler (no copies).
    let (Some(m), Some(w)) = (&items[1], &items[2]) else {
        return Err(ApiError::WorkspaceAccessDenied);
    };
    let membership: Membership = from_item(m)?;
    let workspace: Workspace = from_item(w)?;
    Ok(Admitted { token: Arc::new(token), membership: Arc::new(membership), workspace: Arc::new(workspace) })
}

/// Row 3 after the token passed row 1: an active membership, a token not restricted to other
/// workspaces.
fn admit(ws_id: &str, a: &Admitted) -> ApiResult<()> {
    // An invited user's tokens are refused until they accept; a former member's at once.
    if !a.membership.is_active() {
        return Err(ApiError::WorkspaceAccessDenied);
    }
    if a.token.workspace_ids.as_ref().is_some_and(|ids| !ids.iter().any(|i| i == ws_id)) {
        return Err(ApiError::WorkspaceAccessDenied);
    }
    Ok(())
}

/// Rows 4–8: plan, API access roles, billing state and read-only token on writes, role.
fn check_request(method: &Method, action: Action, token: &TokenRecord, m: &Membership, w: &Workspace) -> ApiResult<()> {
    if !w.plan.has_api() {
        return Err(ApiError::PlanNotSupported);
    }
    if !w.api_access_roles.contains(&m.role) {
        return Err(ApiError::ApiAccessDenied);
    }
    if is_write(method) {
        if w.billing_state == BillingState::ReadOnly {
            return Err(ApiError::WorkspaceReadOnly);
        }
        if token.read_only {
            return Err(ApiError::TokenReadOnly);
        }
    }
    if !allowed(m.role, action) {
        return Err(ApiError::InsufficientRole);
    }
    Ok(())
}
