//! Who is calling, inside which workspace, and the role matrix of the contract.
//!
//! A [`Caller`] is minted only by the gate ([`crate::auth::gate`]); its [`WorkspaceKey`] is the
//! only way domain code addresses a workspace's partition.

use std::sync::Arc;

use serde_json::Value;

use crate::domain::error::{ApiError, ApiResult};
use crate::domain::model::{Membership, Role, TokenRecord, Workspace};
use crate::store::keys::WorkspaceKey;

/// Fields only owners and managers may see (absent for member and viewer callers).
pub const SENSITIVE_FIELDS: [&str; 5] = [
    "expected_weekly_capacity_hours",
    "internal_hourly_cost_cents",
    "cost_cents",
    "internal_cost_basis",
    "capacity_history",
];

/// An object as a role sees it: `sees` false removes [`SENSITIVE_FIELDS`] (events are always shown as to a viewer).
pub fn redact(sees: bool, mut v: Value) -> Value {
    if sees {
        return v;
    }
    match &mut v {
        Value::Object(m) => {
            for f in SENSITIVE_FIELDS {
                m.remove(f);
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                *x = redact(false, std::mem::take(x));
            }
        }
        _ => {}
    }
    v
}

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
    /// Webhooks: list, create, update, delete, test, deliveries.
    ManageWebhooks,
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
    (Action::ManageWebhooks, &[Role::Owner, Role::Manager]),
];

/// Whether `role` may do `action`.
pub fn allowed(role: Role, action: Action) -> bool {
    PERMISSIONS.iter().any(|(a, roles)| *a == action && roles.contains(&role))
}

/// An authenticated request inside one workspace.
#[derive(Debug)]
pub struct Caller {
    /// The workspace key every storage call for this request uses.
    pub ws: WorkspaceKey,
    /// Caller.
    pub user_id: String,
    /// Caller's role.
    pub role: Role,
    /// The workspace as read by the gate.
    pub workspace: Arc<Workspace>,
    /// The caller's membership as read by the gate.
    pub membership: Arc<Membership>,
    /// The token used.
    pub token: Arc<TokenRecord>,
}

impl Caller {
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
        assert!(allowed(Manager, Action::ManageWebhooks));
        assert!(!allowed(Member, Action::ManageWebhooks));
        assert!(!allowed(Viewer, Action::ManageWebhooks));
    }
}
