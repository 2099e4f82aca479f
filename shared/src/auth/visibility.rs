//! The one place that decides which fields a caller's role may see.
//!
//! Planning fields and every cost figure are *absent* (not null) for member and viewer
//! callers. Every handler passes its response objects through [`present`].

use serde_json::Value;

use crate::domain::caller::{Action, Caller};

pub use crate::domain::caller::SENSITIVE_FIELDS;

/// Whether a caller sees the sensitive fields.
pub fn sees_costs(ctx: &Caller) -> bool {
    ctx.can(Action::SeeCosts)
}

/// Removes what the caller may not see from an object (or each object of an array).
pub fn present(ctx: &Caller, v: Value) -> Value {
    redact(sees_costs(ctx), v)
}

/// An object as someone with `role` may see it (callers without a workspace gate, such as
/// an invitee who has just accepted).
pub fn present_for_role(role: crate::domain::model::Role, v: Value) -> Value {
    redact(crate::domain::caller::allowed(role, Action::SeeCosts), v)
}

pub use crate::domain::caller::redact;
