//! The authorization gate: turns a request into an authenticated [`Ctx`].
//!
//! Order (the contract's error table): token (401) → `X-Workspace-Id` (400) → membership,
//! workspace, token restriction (403 `workspace_access_denied`) → plan (403
//! `plan_not_supported`) → `api_access_roles` (403 `api_access_denied`) → billing state on
//! writes (403 `workspace_read_only`) → read-only token on writes (403 `token_read_only`) →
//! role permission (403 `insufficient_role`). Token, membership and workspace are read in
//! one batch: one round trip on DynamoDB. It is the only producer of a [`WorkspaceKey`].

use axum::http::{HeaderMap, Method};

use crate::error::{ApiError, ApiResult};
use crate::keys::{self, is_valid_id, WorkspaceKey};
use crate::model::{from_body, BillingState, Membership, Role, TokenRecord, Workspace};
use crate::runtime::App;
use crate::store::{Cond, Item, Write};
use crate::token;

/// What a request wants to do; permissions are one table, [`PERMISSIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read workspace, me, memberships (basic fields), clients, projects, tags, entries.
    Read,
    /// See planning fields, `internal_cost_basis` and cost figures.
    SeeCosts,
    /// Set planning fields of a membership.
    SetPlanningFields,
    /// Change roles; update workspace settings.
    ManageWorkspace,
    /// Add or deactivate members (managers: member/viewer only).
    ManageMembers,
    /// Write clients, projects, tags.
    WriteCatalog,
    /// Read everyone's time entries (members: own only).
    ReadAllEntries,
    /// Write own entries and timer.
    WriteOwnEntries,
    /// Write others' entries.
    WriteOthersEntries,
    /// Run reports.
    Reports,
    /// Create own tokens.
    OwnTokens,
}

/// The role matrix of the contract, in one place.
pub const PERMISSIONS: &[(Action, &[Role])] = &[
    (Action::Read, &[Role::Owner, Role::Manager, Role::Member, Role::Viewer]),
    (Action::SeeCosts, &[Role::Owner, Role::Manager]),
    (Action::SetPlanningFields, &[Role::Owner, Role::Manager]),
    (Action::ManageWorkspace, &[Role::Owner]),
    (Action::ManageMembers, &[Role::Owner, Role::Manager]),
    (Action::WriteCatalog, &[Role::Owner, Role::Manager]),
    (Action::ReadAllEntries, &[Role::Owner, Role::Manager, Role::Viewer]),
    (Action::WriteOwnEntries, &[Role::Owner, Role::Manager, Role::Member]),
    (Action::WriteOthersEntries, &[Role::Owner, Role::Manager]),
    (Action::Reports, &[Role::Owner, Role::Manager]),
    (Action::OwnTokens, &[Role::Owner, Role::Manager, Role::Member, Role::Viewer]),
];

/// Whether `role` may do `action`.
pub fn allowed(role: Role, action: Action) -> bool {
    PERMISSIONS.iter().any(|(a, roles)| *a == action && roles.contains(&role))
}

/// An authenticated request inside one workspace.
#[derive(Debug)]
pub struct Ctx {
    /// The workspace key every storage call for this request uses.
    pub ws: WorkspaceKey,
    /// Caller.
    pub user_id: String,
    /// Caller's role.
    pub role: Role,
    /// The workspace as read by the gate.
    pub workspace: Workspace,
    /// The caller's membership as read by the gate.
    pub membership: Membership,
    /// The token used.
    pub token: TokenRecord,
}

impl Ctx {
    /// Whether the caller's role allows `action`.
    pub fn can(&self, action: Action) -> bool {
        allowed(self.role, action)
    }
    /// 403 `insufficient_role` unless allowed.
    pub fn require(&self, action: Action) -> ApiResult<()> {
        if self.can(action) {
            Ok(())
        } else {
            Err(ApiError::InsufficientRole)
        }
    }
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
fn check_token(app: &App, parsed: &token::ParsedToken, item: Option<Item>) -> ApiResult<TokenRecord> {
    let item = item.ok_or(ApiError::Unauthorized)?;
    let rec: TokenRecord = from_body(item).map_err(|_| ApiError::Unauthorized)?;
    if !token::verify(&app.pepper, parsed, &rec.hash) || rec.user_id != parsed.user_id || rec.id != parsed.token_id {
        return Err(ApiError::Unauthorized);
    }
    if let Some(exp) = &rec.expires_at {
        if crate::time::secs(exp).is_none_or(|e| e <= crate::time::now_secs()) {
            return Err(ApiError::Unauthorized);
        }
    }
    Ok(rec)
}

/// Records `last_used_at` at most once a minute, off the request's critical path.
fn touch(app: &App, rec: &TokenRecord) {
    let now = crate::time::now_secs();
    let stale = rec.last_used_at.as_deref().and_then(crate::time::secs).is_none_or(|t| now - t >= 60);
    if !stale {
        return;
    }
    let store = app.store.clone();
    let key = keys::token(&rec.id);
    let mut set = Item::new();
    set.insert("last_used_at".into(), crate::time::fmt_secs(now).into());
    // `Exists`: a concurrent revoke must never be undone by this write.
    let w = Write::Update { key, set, add: vec![], cond: Cond::Exists };
    tokio::spawn(async move {
        if let Err(e) = store.write(vec![w]).await {
            tracing::debug!(error = %e, "last_used_at not recorded");
        }
    });
}

/// Rows 1–2 only: a valid token and a well-formed `X-Workspace-Id`.
pub async fn authenticate_user(app: &App, headers: &HeaderMap) -> ApiResult<UserCtx> {
    let parsed = bearer(headers)?;
    let header = workspace_header(headers);
    let item = app.store.get(&keys::token(&parsed.token_id)).await?;
    let token = check_token(app, &parsed, item)?;
    header?;
    touch(app, &token);
    Ok(UserCtx { user_id: token.user_id.clone(), token })
}

/// The full gate (rows 1–8) for `action`.
pub async fn authorize(app: &App, headers: &HeaderMap, method: &Method, action: Action) -> ApiResult<Ctx> {
    let parsed = bearer(headers)?;
    let ws_id = match workspace_header(headers) {
        Ok(id) => id,
        Err(e) => {
            // Row 1 comes before row 2: an unknown, revoked or expired token is still a 401.
            let item = app.store.get(&keys::token(&parsed.token_id)).await?;
            check_token(app, &parsed, item)?;
            return Err(e);
        }
    };
    let ws = WorkspaceKey::from_gate(&ws_id);
    let mut items = app
        .store
        .batch_get(&[keys::token(&parsed.token_id), keys::membership(&ws, &parsed.user_id), keys::workspace(&ws)])
        .await?
        .into_iter();
    let (t, m, w) = (items.next().flatten(), items.next().flatten(), items.next().flatten());
    let token = check_token(app, &parsed, t)?;
    let (Some(m), Some(w)) = (m, w) else {
        return Err(ApiError::WorkspaceAccessDenied);
    };
    let membership: Membership = from_body(m)?;
    let workspace: Workspace = from_body(w)?;
    if !membership.active {
        return Err(ApiError::WorkspaceAccessDenied);
    }
    if let Some(ids) = &token.workspace_ids {
        if !ids.iter().any(|i| i == &ws_id) {
            return Err(ApiError::WorkspaceAccessDenied);
        }
    }
    if !workspace.plan.has_api() {
        return Err(ApiError::PlanNotSupported);
    }
    if !workspace.api_access_roles.contains(&membership.role) {
        return Err(ApiError::ApiAccessDenied);
    }
    if is_write(method) {
        if workspace.billing_state == BillingState::ReadOnly {
            return Err(ApiError::WorkspaceReadOnly);
        }
        if token.read_only {
            return Err(ApiError::TokenReadOnly);
        }
    }
    if !allowed(membership.role, action) {
        return Err(ApiError::InsufficientRole);
    }
    touch(app, &token);
    Ok(Ctx { ws, user_id: parsed.user_id, role: membership.role, workspace, membership, token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_matches_the_contract() {
        use Role::*;
        assert!(allowed(Viewer, Action::Read));
        assert!(!allowed(Viewer, Action::WriteOwnEntries));
        assert!(!allowed(Member, Action::SeeCosts));
        assert!(allowed(Manager, Action::SeeCosts));
        assert!(!allowed(Manager, Action::ManageWorkspace));
        assert!(allowed(Member, Action::WriteOwnEntries));
        assert!(!allowed(Member, Action::WriteOthersEntries));
        assert!(!allowed(Member, Action::Reports));
        assert!(allowed(Viewer, Action::ReadAllEntries));
        assert!(!allowed(Member, Action::ReadAllEntries));
    }
}
